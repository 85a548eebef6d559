package install

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The file and code services reach the owner's folders through POSIX
// ACLs on exactly those folders (see docs/linux.md for why not idmapped
// mounts): a named-user entry for the service, a default entry so new
// files inherit it, and a default entry for the owner so files the
// service creates stay the owner's to edit.

// Grant is one folder opened to a service user.
type Grant struct {
	Path     string `json:"path"`
	User     string `json:"user"`
	Owner    string `json:"owner"`
	ReadOnly bool   `json:"read_only,omitempty"`
}

// grantSpec returns setfacl's -m argument for g.
func (g Grant) grantSpec() string {
	perm := "rwX"
	if g.ReadOnly {
		perm = "rX"
	}
	spec := fmt.Sprintf("u:%s:%s,d:u:%s:%s", g.User, perm, g.User, perm)
	if !g.ReadOnly {
		spec += fmt.Sprintf(",d:u:%s:rwX", g.Owner)
	}
	return spec
}

// revokeSpec returns setfacl's -x argument for g.
func (g Grant) revokeSpec() string {
	spec := fmt.Sprintf("u:%s,d:u:%s", g.User, g.User)
	if !g.ReadOnly {
		spec += ",d:u:" + g.Owner
	}
	return spec
}

func grantSteps(g Grant) []Step {
	return []Step{run("let "+g.User+" reach "+g.Path, "setfacl", "-R", "-m", g.grantSpec(), g.Path)}
}

// revokeSteps takes back g: the entries, then any ACL left with no named
// entry at all, then ownership of files the service created.
func revokeSteps(g Grant, svcUID, ownerUID, ownerGID int) []Step {
	return []Step{
		try("take back "+g.User+"'s entries on "+g.Path, "setfacl", "-R", "-x", g.revokeSpec(), g.Path),
		{Op: "func", Why: "drop ACLs left with no named entry under " + g.Path, MayFail: true,
			fn: func() error { return tidyACLs(g.Path) }},
		{Op: "func", Why: fmt.Sprintf("give files of uid %d under %s back to uid %d", svcUID, g.Path, ownerUID), MayFail: true,
			fn: func() error { return chownBack(g.Path, svcUID, ownerUID, ownerGID) }},
	}
}

// tidyACLs removes ACLs under root that hold no named entry any more, so
// revoking leaves the files as they were before the grant.
func tidyACLs(root string) error {
	out, err := exec.Command("getfacl", "-R", "-p", root).Output()
	if err != nil {
		return fmt.Errorf("getfacl %s: %w", root, err)
	}
	for _, b := range parseGetfacl(out) {
		var err error
		switch {
		case !b.namedAccess && !b.namedDefault && (b.hasMask || b.hasDefault):
			err = exec.Command("setfacl", "-b", b.path).Run()
		case b.hasDefault && !b.namedDefault:
			err = exec.Command("setfacl", "-k", b.path).Run()
		}
		if err != nil {
			return fmt.Errorf("setfacl %s: %w", b.path, err)
		}
	}
	return nil
}

// aclBlock is what tidyACLs needs of one file's getfacl listing.
type aclBlock struct {
	path                      string
	namedAccess, namedDefault bool
	hasMask, hasDefault       bool
}

// parseGetfacl reads `getfacl -R -p` output.
func parseGetfacl(out []byte) []aclBlock {
	var blocks []aclBlock
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if p, ok := strings.CutPrefix(l, "# file: "); ok {
			blocks = append(blocks, aclBlock{path: unescapeGetfacl(p)})
			continue
		}
		if len(blocks) == 0 || l == "" || l[0] == '#' {
			continue
		}
		b := &blocks[len(blocks)-1]
		def := strings.HasPrefix(l, "default:")
		e := strings.TrimPrefix(l, "default:")
		parts := strings.SplitN(e, ":", 3)
		if len(parts) < 3 {
			continue
		}
		named := (parts[0] == "user" || parts[0] == "group") && parts[1] != ""
		b.hasDefault = b.hasDefault || def
		b.hasMask = b.hasMask || (!def && parts[0] == "mask")
		b.namedDefault = b.namedDefault || (def && named)
		b.namedAccess = b.namedAccess || (!def && named)
	}
	return blocks
}

// unescapeGetfacl undoes getfacl's octal escapes (\012, \\).
func unescapeGetfacl(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == '\\' {
			b.WriteByte('\\')
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// chownBack gives every file under root owned by uid from to the owner,
// without following symlinks: files a service created must not be left
// to a uid that uninstall deletes.
func chownBack(root string, from, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == from {
			return os.Lchown(p, uid, gid)
		}
		return nil
	})
}
