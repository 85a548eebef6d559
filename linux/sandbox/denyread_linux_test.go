//go:build linux

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/autorun"
	"github.com/gimme-tools/carapace/core/codeexec"
	"github.com/gimme-tools/carapace/core/denyread"
	"github.com/gimme-tools/carapace/core/sandbox"
)

// maskFor fills b.spec.Masked the way the code service does before each
// command: one walk of the project with the deny_read globs.
func (b *box) maskFor(t *testing.T, globs []string) {
	t.Helper()
	m, err := denyread.New(globs)
	must(t, err)
	found, err := autorun.FindWith(b.project, autorun.Options{Mask: func(name string, parents []string) bool {
		return m.Name(name, parents) != ""
	}})
	must(t, err)
	b.spec.Masked = found.Masked
}

// TestEscapeDenyRead: every default deny_read glob, nested matches, a
// symbolic and a hard link to a masked file, renaming or linking a masked
// file, reading it through /proc/self/fd, a directory's files: a
// sandboxed command gets none of the secrets' content, and the files
// themselves are left as they were. A secret made after one command's
// walk is masked for the next.
func TestEscapeDenyRead(t *testing.T) {
	b := newBox(t)
	p := b.project
	secrets := []string{
		".env", ".env.local", "cert.pem", "tls.key", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519",
		".npmrc", ".pypirc", ".netrc", ".git-credentials", ".aws/credentials", ".ssh/id_rsa", ".gnupg/key",
		"sub/deep/.env", "sub/deep/.AWS/config", "web/certs/server.PEM",
	}
	for _, s := range secrets {
		must(t, os.MkdirAll(filepath.Join(p, filepath.Dir(s)), 0o755))
		must(t, os.WriteFile(filepath.Join(p, s), []byte("SECRET-"+s+"\n"), 0o600))
	}
	must(t, os.WriteFile(filepath.Join(p, "plain.txt"), []byte("PLAIN\n"), 0o644))
	must(t, os.Symlink(".env", filepath.Join(p, "notes")))
	must(t, os.Symlink("sub/deep", filepath.Join(p, "deeplink")))
	must(t, os.Link(filepath.Join(p, "cert.pem"), filepath.Join(p, "innocent.txt")))
	b.maskFor(t, denyread.Default)

	var script strings.Builder
	for _, s := range secrets {
		script.WriteString("cat '" + s + "' 2>/dev/null; ")
	}
	script.WriteString(`cat plain.txt; cat notes deeplink/.env innocent.txt 2>/dev/null;
cat .aws/* .ssh/* 2>/dev/null; ls -a .ssh .aws 2>&1;
exec 3<.env && cat /proc/self/fd/3 2>/dev/null; exec 3<&-;
mv .env moved 2>/dev/null && cat moved; ln .env hard 2>/dev/null && cat hard 2>/dev/null;
ln -s "$PWD/.env" abs 2>/dev/null && cat abs; cp .env copy 2>/dev/null && cat copy;
mv sub sub2 2>/dev/null && cat sub2/deep/.env; echo END`)
	out, err := b.command("/bin/sh", "-c", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(string(out), "SECRET") {
		t.Fatalf("a secret's content reached the command:\n%s", out)
	}
	if !strings.Contains(string(out), "PLAIN") || !strings.Contains(string(out), "END") {
		t.Fatalf("the command did not run through:\n%s", out)
	}
	for _, s := range secrets {
		if got, err := os.ReadFile(filepath.Join(p, s)); err != nil && !strings.HasPrefix(s, "sub/") || err == nil && string(got) != "SECRET-"+s+"\n" {
			t.Errorf("%s changed: %q %v", s, got, err)
		}
	}

	// A secret that appears after that command's walk: the next
	// command's walk masks it.
	must(t, os.MkdirAll(filepath.Join(p, "late"), 0o755))
	must(t, os.WriteFile(filepath.Join(p, "late", ".env.production"), []byte("SECRET-late\n"), 0o600))
	b.maskFor(t, denyread.Default)
	out, err = b.command("/bin/sh", "-c", "cat late/.env.production; echo END").CombinedOutput()
	if strings.Contains(string(out), "SECRET") || !strings.Contains(string(out), "END") {
		t.Fatalf("a new secret reached the next command: %v\n%s", err, out)
	}
}

// TestWarmHelperDenyRead: through a warm helper started as the code
// service starts it (one stage: the helper mounts the masks in its own
// mount namespace), a masked file reads empty, and the masks do not show
// in the test's mount namespace.
func TestWarmHelperDenyRead(t *testing.T) {
	b := newBox(t)
	p := b.project
	must(t, os.WriteFile(filepath.Join(p, ".env"), []byte("SECRET-env\n"), 0o600))
	must(t, os.MkdirAll(filepath.Join(p, ".aws"), 0o755))
	must(t, os.WriteFile(filepath.Join(p, ".aws", "credentials"), []byte("SECRET-aws\n"), 0o600))
	b.maskFor(t, denyread.Default)
	cg := standInServiceCgroup(t)
	ws, err := warmHelper()
	must(t, err)
	argv := []string{b.bin, "sandbox-exec", "--warm"}
	if cg != "" {
		argv = append([]string{"/bin/sh", "-c", `echo $$ > "$0/cgroup.procs" && shift && exec "$@"`, cg, "--"}, argv...)
	}
	pool := codeexec.NewPool(argv, codeexec.PoolOptions{Size: 1, Attr: ws.Attr})
	defer pool.Close()
	wrapped, err := wrap(b.spec, []string{"/bin/sh", "-c", "cat .env .aws/credentials 2>&1; echo END"})
	must(t, err)
	req := sandbox.Request{Args: wrapped[2:], Env: b.spec.Env(os.Environ(), nil), Dir: p}
	res, err := codeexec.Run(context.Background(), codeexec.Command{Path: b.bin, Pool: pool, Request: req.Encode()})
	must(t, err)
	if out := res.Stdout + res.Stderr; strings.Contains(out, "SECRET") || !strings.Contains(out, "END") {
		t.Fatalf("through a warm helper: %s", out)
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	must(t, err)
	if strings.Contains(string(mi), filepath.Join(p, ".env")) {
		t.Fatalf("a mask leaked into the test's mount namespace:\n%s", mi)
	}
}

// BenchmarkStartMasked measures what masking costs a command's start:
// /bin/true in a project with no secret and with ten (.env files, each a
// mount in the command's namespace):
//
//	go test ./linux/sandbox -run '^$' -bench StartMasked -benchtime 50x
func BenchmarkStartMasked(b *testing.B) {
	none, ten := newBox(b), newBox(b)
	for i := 0; i < 10; i++ {
		d := filepath.Join(ten.project, "app", string(rune('a'+i)))
		must(b, os.MkdirAll(d, 0o755))
		must(b, os.WriteFile(filepath.Join(d, ".env"), []byte("SECRET\n"), 0o600))
	}
	m, err := denyread.New(denyread.Default)
	must(b, err)
	for _, bx := range []*box{none, ten} {
		f, err := autorun.FindWith(bx.project, autorun.Options{Mask: func(n string, ps []string) bool { return m.Name(n, ps) != "" }})
		must(b, err)
		bx.spec.Masked = f.Masked
	}
	var t0, t10 time.Duration
	for i := 0; i < b.N; i++ {
		for _, c := range []struct {
			bx *box
			t  *time.Duration
		}{{none, &t0}, {ten, &t10}} {
			start := time.Now()
			if out, err := c.bx.command("/bin/true").CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
			*c.t += time.Since(start)
		}
	}
	b.ReportMetric(float64(t0.Nanoseconds())/float64(b.N), "0masks_ns")
	b.ReportMetric(float64(t10.Nanoseconds())/float64(b.N), "10masks_ns")
}
