package main

import (
	"fmt"
	"strings"

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
func tooWide(op, aud string, scopes []string, err error) error {
	kind, ok := folderKind[aud]
	if !ok || !errs.Match(errs.E(errs.ReasonScopeTooWide), err) {
		return err
	}
	var paths []string
	for _, s := range scopes {
		_, p, _ := strings.Cut(s, ":")
		paths = append(paths, "`"+strings.TrimSuffix(p, "/*")+"`")
	}
	folders, file := configuredFolders(aud)
	list := ""
	if len(folders) > 0 {
		list = " (" + errs.List(folders, 120) + ")"
	}
	it := "it"
	if aud == "code" {
		it = "it (or a folder above it)"
	}
	return errs.E(op, errs.Forbidden, errs.ReasonScopeTooWide,
		errs.Hint(fmt.Sprintf("add %s to %s in %s, then restart Carapace", it, kind.key, file)),
		fmt.Errorf("%s is outside %s%s", strings.Join(paths, ", "), kind.what, list))
}

// configuredFolders returns the folders the owner configuration allows
// for aud, as written there, and that file's name (~/… form).
func configuredFolders(aud string) ([]string, string) {
	file := "~/.config/gimme/local.yaml"
	st, err := (&configFlags{}).load(true)
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
var cliWords = map[cliKey]string{
	{"file.write", errs.ReasonExists}:       "pass --mode overwrite to replace it (or --mode append to add to it)",
	{"file.write", errs.ReasonBadMode}:      "--mode is create, overwrite or append",
	{"file.delete", errs.ReasonIsDirectory}: "pass -r to delete a directory and all it holds",
	{"file.mkdir", errs.ReasonNotFound}:     "pass -p to make the missing parent directories too",
	{"file.move", errs.ReasonExists}:        "pass --replace to replace the destination",
	{"token.issue", errs.ReasonBadTTL}:      "give --ttl from 1s up to tokens.max_ttl (the system config; `carapace config check` shows it)",
	{"token.issue", errs.ReasonBadScope}:    "write each --scope as VERB:PATH, e.g. --scope 'GET:~/Documents/*'",
}

type cliKey struct {
	method string
	reason errs.Reason
}

// cliHint gives a refusal of method the CLI's words, where cliWords has
// them.
func cliHint(method string, err error) error {
	if h, ok := cliWords[cliKey{method, errs.ReasonOf(err)}]; ok {
		return errs.E(err, errs.Hint(h)) // the outer hint is the one shown
	}
	return err
}
