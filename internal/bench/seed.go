package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// seedDaemon builds the seed document's Rust/tokio echo daemon ("src/main.rs
// (Echo Version)" and its Cargo.toml, from the first file in seeds that
// holds them) and returns the binary. The only change to its code: the
// socket path, a constant in the seed, comes from $SEED_SOCKET. The build
// is kept in the user's cache directory, so only the first run compiles.
// Crates come from Debian's packaged registry (librust-tokio+full-dev)
// when it is there: this machine reaches no other crate registry.
func seedDaemon(seeds string) (string, error) {
	if _, err := exec.LookPath("cargo"); err != nil {
		return "", errors.New("no cargo on PATH (install rustc and cargo)")
	}
	files, _ := filepath.Glob(filepath.Join(seeds, "*"))
	var manifest, main string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := fenced(string(b), "### src/main.rs (Echo Version)", "```rust"); m != "" {
			main, manifest = m, fenced(string(b), "### Cargo.toml", "```toml")
			break
		}
	}
	if main == "" || manifest == "" {
		return "", fmt.Errorf("no Echo Version daemon (src/main.rs and Cargo.toml) in %s", seeds)
	}
	const decl = `const SOCKET_PATH: &str = "/var/run/carapace/gateway.sock";`
	if !strings.Contains(main, decl) {
		return "", errors.New("the seed's daemon no longer declares SOCKET_PATH as the bench expects")
	}
	main = strings.Replace(main, decl, "", 1)
	main = strings.Replace(main, "async fn main() -> Result<(), Box<dyn std::error::Error>> {",
		"async fn main() -> Result<(), Box<dyn std::error::Error>> {\n    let socket_path = std::env::var(\"SEED_SOCKET\")?;", 1)
	main = strings.ReplaceAll(main, "SOCKET_PATH", "&socket_path")
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "carapace-bench", "seed-daemon")
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		return "", err
	}
	if err := writeIfChanged(filepath.Join(dir, "Cargo.toml"), manifest); err != nil {
		return "", err
	}
	if err := writeIfChanged(filepath.Join(dir, "src", "main.rs"), main); err != nil {
		return "", err
	}
	cmd := exec.Command("cargo", "build", "--release", "--offline", "--quiet")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if hasDebianTokio() {
		home := filepath.Join(dir, "cargo-home")
		os.MkdirAll(home, 0o755)
		cfg := "[source.crates-io]\nreplace-with = \"debian\"\n[source.debian]\ndirectory = \"/usr/share/cargo/registry\"\n"
		if err := writeIfChanged(filepath.Join(home, "config.toml"), cfg); err != nil {
			return "", err
		}
		cmd.Env = append(cmd.Env, "CARGO_HOME="+home)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	fmt.Fprintln(os.Stderr, "bench: building the seed's tokio daemon (minutes the first time) in", dir)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cargo build: %w: %s (the crates must be available offline: apt-get install 'librust-tokio+full-dev')", err, lastLines(out.String(), 3))
	}
	return filepath.Join(dir, "target", "release", "carapace-daemon"), nil
}

// hasDebianTokio reports whether Debian's packaged crate registry holds a
// tokio.
func hasDebianTokio() bool {
	m, _ := filepath.Glob("/usr/share/cargo/registry/tokio-1.*")
	return len(m) > 0
}

// fenced returns the body of the first code fence opening with fence after
// the line heading in doc, or "".
func fenced(doc, heading, fence string) string {
	i := strings.Index(doc, heading+"\n")
	if i < 0 {
		return ""
	}
	rest := doc[i:]
	j := strings.Index(rest, fence+"\n")
	if j < 0 {
		return ""
	}
	body := rest[j+len(fence)+1:]
	k := strings.Index(body, "```")
	if k < 0 {
		return ""
	}
	return body[:k]
}

func writeIfChanged(path, content string) error {
	if b, err := os.ReadFile(path); err == nil && string(b) == content {
		return nil
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}

// startSeed runs the seed daemon bin on sock, its stdout (a line per
// request, as the seed prints) on /dev/null, and waits for the socket.
func startSeed(bin, sock string) (stop func(), pid int, err error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, 0, err
	}
	defer null.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SEED_SOCKET="+sock)
	cmd.Stdout, cmd.Stderr = null, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	if err := waitSocket(sock); err != nil {
		stop()
		return nil, 0, fmt.Errorf("the seed daemon: %w", err)
	}
	return stop, cmd.Process.Pid, nil
}
