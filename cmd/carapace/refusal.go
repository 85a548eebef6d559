package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
)

// folderKind says, per audience, what the owner configuration calls the
// places a token may name, and the key that lists them.
var folderKind = map[string]struct{ what, key string }{
	"file": {"your allowed folders", "services.file.paths"},
	"code": {"your project roots", "services.code.project_roots"},
}

// tooWide rewrites the router's scope_too_wide refusal of a token the CLI
// minted for its own command in the words of the command: which path is
// outside which folders, and the line to add where. Any other error is
// returned as it is.
func tooWide(op, aud string, scopes []string, cf *configFlags, err error) error {
	var ce *client.Error
	kind, ok := folderKind[aud]
	if !errors.As(err, &ce) || ce.Reason != "scope_too_wide" || !ok {
		return err
	}
	var paths []string
	for _, s := range scopes {
		_, p, _ := strings.Cut(s, ":")
		paths = append(paths, "`"+strings.TrimSuffix(p, "/*")+"`")
	}
	folders, file := configuredFolders(cf, aud)
	list := ""
	if len(folders) > 0 {
		list = " (" + errs.List(folders, 120) + ")"
	}
	it := "it"
	if aud == "code" {
		it = "it (or a folder above it)"
	}
	return errs.E(op, errs.Forbidden, errs.Reason("scope_too_wide"),
		errs.Hint(fmt.Sprintf("add %s to %s in %s, then restart Carapace", it, kind.key, file)),
		fmt.Errorf("%s is outside %s%s", strings.Join(paths, ", "), kind.what, list))
}

// configuredFolders returns the folders the owner configuration cf
// names allows for aud, as written there, and that file's name (~/…
// form).
func configuredFolders(cf *configFlags, aud string) ([]string, string) {
	file := "~/.config/gimme/local.yaml"
	st, err := cf.load(true)
	if err != nil {
		return nil, file
	}
	if st.OwnerPath != "" {
		file = tildeHome(st.OwnerPath, st.OwnerHome)
	}
	var out []string
	switch aud {
	case "file":
		for _, p := range st.Owner.Services.File.Paths {
			out = append(out, tildeHome(p.Path, st.OwnerHome))
		}
	case "code":
		for _, r := range st.Owner.Services.Code.ProjectRoots {
			out = append(out, tildeHome(r, st.OwnerHome))
		}
	}
	return out, file
}

// cliWords are hints in the CLI's words for refusals whose service hint
// names the protocol's parameters (`mode: "overwrite"`, `recursive:
// true`, ttl_seconds), keyed by method and reason.
var cliWords = map[[2]string]string{
	{"file.write", "exists"}:        "pass --mode overwrite to replace it (or --mode append to add to it)",
	{"file.write", "bad_mode"}:      "--mode is create, overwrite or append",
	{"file.delete", "is_directory"}: "pass -r to delete a directory and all it holds",
	{"file.mkdir", "not_found"}:     "pass -p to make the missing parent directories too",
	{"file.move", "exists"}:         "pass --replace to replace the destination",
	{"token.issue", "bad_ttl"}:      "give --ttl from 1s up to tokens.max_ttl (the system config; `carapace config check` shows it)",
	{"token.issue", "bad_scope"}:    "write each --scope as VERB:PATH, e.g. --scope 'GET:~/Documents/*'",
}

// inCLIWords is an error whose hint is in the CLI's words.
type inCLIWords struct {
	err  error
	hint string
}

func (e *inCLIWords) Error() string { return e.err.Error() }
func (e *inCLIWords) Unwrap() error { return e.err }

// cliHint gives a refusal of method the CLI's words, where cliWords has
// them.
func cliHint(method string, err error) error {
	var ce *client.Error
	if !errors.As(err, &ce) {
		return err
	}
	if h, ok := cliWords[[2]string{method, ce.Reason}]; ok {
		return &inCLIWords{err: err, hint: h}
	}
	return err
}
