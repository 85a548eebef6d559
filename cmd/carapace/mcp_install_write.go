package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gimme-tools/carapace/core/errs"
)

// installBlock merges block — one client's JSON ({"mcpServers": {"carapace":
// …}}) or Codex's TOML ([mcp_servers.carapace]) — into the file at path,
// replacing only the server named carapace and keeping every other entry.
// An existing file is first copied to path.bak-TIME (returned); the new
// one replaces it whole (a rename), with its permission bits.
func installBlock(path string, isTOML bool, block string) (backup string, err error) {
	old, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	merge := mergeJSON
	if isTOML {
		merge = mergeTOML
	}
	merged, err := merge(old, block)
	if err != nil {
		return "", errs.E("merge into "+path, errs.InvalidParams, errs.ReasonUnmergeable,
			errs.Hint("the file was left as it was; add the block printed above by hand"), err)
	}
	mode := fs.FileMode(0o600)
	if exists {
		if st, err := os.Stat(path); err == nil {
			mode = st.Mode().Perm()
		}
		backup = path + ".bak-" + time.Now().Format("20060102-150405")
		if err := writeNew(backup, old, 0o600); err != nil {
			return "", fmt.Errorf("keep a copy of %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return backup, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-")
	if err != nil {
		return backup, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(merged); err != nil {
		tmp.Close()
		return backup, err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return backup, err
	}
	if err := tmp.Close(); err != nil {
		return backup, err
	}
	return backup, os.Rename(tmp.Name(), path)
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, b []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mergeJSON sets the server "carapace" under the block's one top-level
// key (mcpServers, or servers for VS Code). Other members are kept as they
// were; the top level's and that key's members come out sorted. A file
// that is not plain JSON (VS Code allows comments) is refused, not
// rewritten without them.
func mergeJSON(old []byte, block string) ([]byte, error) {
	top := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(old)) > 0 {
		if err := json.Unmarshal(old, &top); err != nil {
			return nil, fmt.Errorf("not plain JSON (comments or trailing commas?): %w", err)
		}
	}
	var add map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(block), &add); err != nil {
		return nil, err
	}
	for key, servers := range add {
		cur := map[string]json.RawMessage{}
		if raw, ok := top[key]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &cur); err != nil {
				return nil, fmt.Errorf("%q is not an object: %w", key, err)
			}
		}
		for name, v := range servers {
			cur[name] = v
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return nil, err
		}
		top[key] = b
	}
	out, err := json.MarshalIndent(top, "", "  ")
	return append(out, '\n'), err
}

// carapaceTable matches the header of the TOML table for the server
// carapace or one of its subtables ([mcp_servers.carapace.env]).
var carapaceTable = regexp.MustCompile(`^\s*\[\s*mcp_servers\s*\.\s*("carapace"|carapace)\s*(\..*)?\]\s*(#.*)?$`)

// tableHeader matches any TOML table header.
var tableHeader = regexp.MustCompile(`^\s*\[`)

// mergeTOML replaces the [mcp_servers.carapace] table (and its subtables)
// of a TOML file with block, keeping every other line, comments included.
// The result must parse, and mean the same as the old file but for the
// server carapace, or it is refused.
func mergeTOML(old []byte, block string) ([]byte, error) {
	before := map[string]any{}
	if _, err := toml.Decode(string(old), &before); err != nil {
		return nil, fmt.Errorf("not TOML: %w", err)
	}
	var kept []string
	skipping := false
	for _, l := range strings.SplitAfter(string(old), "\n") {
		switch {
		case carapaceTable.MatchString(l):
			skipping = true
		case tableHeader.MatchString(l):
			skipping = false
		}
		if !skipping {
			kept = append(kept, l)
		}
	}
	text := strings.TrimRight(strings.Join(kept, ""), "\n")
	if text != "" {
		text += "\n\n"
	}
	text += block
	after := map[string]any{}
	if _, err := toml.Decode(text, &after); err != nil {
		return nil, fmt.Errorf("the merged file would not parse (is carapace defined inline?): %w", err)
	}
	dropCarapace(before)
	dropCarapace(after)
	if !reflect.DeepEqual(before, after) {
		return nil, errors.New("merging would change more than the server carapace")
	}
	return []byte(text), nil
}

// dropCarapace removes mcp_servers.carapace (and mcp_servers, when that
// leaves it empty) from a decoded TOML document.
func dropCarapace(doc map[string]any) {
	s, ok := doc["mcp_servers"].(map[string]any)
	if !ok {
		return
	}
	delete(s, "carapace")
	if len(s) == 0 {
		delete(doc, "mcp_servers")
	}
}
