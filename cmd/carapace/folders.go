package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/gimme-tools/carapace/core/config"
	"github.com/gimme-tools/carapace/core/stack"
)

// missingFolder is a configured folder that does not exist (yet).
type missingFolder struct {
	Key  string `json:"key"`  // the setting that names it
	Path string `json:"path"` // as written there
}

func (m missingFolder) String() string {
	return fmt.Sprintf("%s (%s) does not exist yet", m.Path, m.Key)
}

// missingFolders lists the enabled services' configured folders that are
// not directories: the file service's paths and the code service's
// project roots. Both services take such a folder in once it is created,
// without a restart.
func missingFolders(st *stack.Settings) []missingFolder {
	var out []missingFolder
	add := func(key, p string) {
		if fi, err := os.Stat(config.ExpandHome(p, st.OwnerHome)); err != nil || !fi.IsDir() {
			out = append(out, missingFolder{Key: key, Path: tildeHome(p, st.OwnerHome)})
		}
	}
	if f := st.Owner.Services.File; f.Enabled {
		for _, p := range f.Paths {
			add("services.file.paths", p.Path)
		}
	}
	if c := st.Owner.Services.Code; c.Enabled {
		for _, r := range c.ProjectRoots {
			add("services.code.project_roots", r)
		}
	}
	return out
}

// tildeHome writes a path below home as ~/…, as the config files do.
func tildeHome(p, home string) string {
	if home != "" && home != "/" && strings.HasPrefix(p, home+"/") {
		return "~" + p[len(home):]
	}
	return p
}

// missingHint says what to do about a missing folder.
func missingHint(st *stack.Settings, m missingFolder) string {
	file := st.OwnerPath
	if file == "" {
		file = "~/.config/gimme/local.yaml"
	}
	return fmt.Sprintf("create it (mkdir -p %s) and the service takes it in within seconds, or remove it from %s in %s", m.Path, m.Key, tildeHome(file, st.OwnerHome))
}

// warnMissing prints the missing folders on stderr, for carapace dev.
func warnMissing(st *stack.Settings) {
	for _, m := range missingFolders(st) {
		fmt.Fprintf(os.Stderr, "carapace: %s\nhint: %s\n", m, missingHint(st, m))
	}
}

// localMissing is missingFolders for the configuration files cf names
// (--config, --owner-config; the default places without them): status and
// doctor ask a running stack, which does not say which files it read. Nil
// when they do not load, with the reason.
func localMissing(cf *configFlags) ([]missingFolder, *stack.Settings, error) {
	st, err := cf.load(true)
	if err != nil {
		return nil, nil, err
	}
	return missingFolders(st), st, nil
}
