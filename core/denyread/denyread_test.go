package denyread

import "testing"

// TestDefault: every default glob matches what it names, in any
// component and any case, and leaves look-alikes alone.
func TestDefault(t *testing.T) {
	m, err := New(Default)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		".env", "app/.env", ".env.local", ".ENV.production", "certs/server.pem", "tls/a.KEY",
		"id_rsa", "id_rsa.pub", "keys/id_ed25519", "id_ecdsa", "id_dsa", ".npmrc", "web/.pypirc", ".netrc",
		".git-credentials", ".aws", ".aws/credentials", "home/.ssh/config", ".gnupg/private-keys-v1.d/x",
	} {
		if m.Path(p) == "" {
			t.Errorf("%s is not denied", p)
		}
	}
	for _, p := range []string{"env", ".envrc", "environment.go", "id_utils.py", "keys.go", "src/pem.go", "ssh/config", "my.aws", "key"} {
		if g := m.Path(p); g != "" {
			t.Errorf("%s is denied by %s", p, g)
		}
	}
}

// TestShapes: exact, prefix, suffix, other and multi-component globs.
func TestShapes(t *testing.T) {
	m, err := New([]string{"secrets.txt", "tok_*", "*.tfstate", "cred?.json", ".docker/config.json"})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"secrets.txt": true, "a/Secrets.TXT": true, "tok_1": true, "x/prod.tfstate": true, "cred1.json": true,
		".docker/config.json": true, "h/.docker/config.json": true, "config.json": false, "docker/config.json": false,
		"tok": false, "creds.yaml": false,
	} {
		if got := m.Path(p) != ""; got != want {
			t.Errorf("%s: %v, want %v", p, got, want)
		}
	}
	if _, err := New([]string{"["}); err == nil {
		t.Error("a bad glob was accepted")
	}
}

// BenchmarkName: a name that no default glob matches, the common case of
// the walk before each command.
func BenchmarkName(b *testing.B) {
	m, _ := New(Default)
	names := []string{"main.go", "README.md", "index.js", "utils", "package.json", "keys.go", "Makefile"}
	for i := 0; b.Loop(); i++ {
		m.Name(names[i%len(names)], nil)
	}
}
