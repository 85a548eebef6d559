package sandbox

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestCleanEnv(t *testing.T) {
	daemon := []string{
		"PATH=/usr/bin:/bin", "HOME=/home/owner", "LANG=C.UTF-8", "LC_ALL=C",
		"TERM=xterm", "SSH_AUTH_SOCK=/run/user/1000/ssh", "GIMME_X=secret",
		"GITHUB_TOKEN=ghp_x", "AWS_SECRET_ACCESS_KEY=k", "EDITOR=vim",
		"LD_PRELOAD=/evil.so", "noequals", "=empty", "CARAPACE_RELAY=x",
	}
	requested := map[string]string{
		"GOFLAGS": "-mod=mod", "HOME": "/home/owner", "SSH_AUTH_SOCK": "/x",
		"MY_TOKEN": "t", "NUL": "a\x00b", "A=B": "c", "CI": "1",
	}
	got := CleanEnv(daemon, requested)
	want := []string{"CI=1", "GOFLAGS=-mod=mod", "LANG=C.UTF-8", "LC_ALL=C",
		"PATH=/usr/bin:/bin", "TERM=xterm"}
	if !slices.Equal(got, want) {
		t.Fatalf("CleanEnv =\n %q\nwant\n %q", got, want)
	}
}

func TestCleanEnvDefaultPath(t *testing.T) {
	got := CleanEnv(nil, nil)
	if !slices.Equal(got, []string{"PATH=" + DefaultPath}) {
		t.Fatalf("CleanEnv(nil, nil) = %q", got)
	}
}

func TestSpecEnvPointsHomeIntoSandbox(t *testing.T) {
	s := ForProject("/p", "/tmp/box")
	env := s.Env([]string{"HOME=/home/owner", "PATH=/bin"}, map[string]string{"TMPDIR": "/elsewhere"})
	for _, want := range []string{"HOME=/tmp/box", "TMPDIR=/tmp/box", "TMP=/tmp/box", "PATH=/bin"} {
		if !slices.Contains(env, want) {
			t.Errorf("env lacks %s: %q", want, env)
		}
	}
	for _, kv := range env {
		if strings.Contains(kv, "/home/owner") || strings.Contains(kv, "/elsewhere") {
			t.Errorf("env leaks %s", kv)
		}
	}
}

func TestDenied(t *testing.T) {
	for name, want := range map[string]bool{
		"SSH_AUTH_SOCK": true, "gimme_token": true, "GIMME_ANYTHING": true,
		"NPM_TOKEN": true, "AWS_REGION": true, "DB_PASSWORD": true,
		"OPENAI_API_KEY": true, "PATH": false, "GOPATH": false, "CC": false,
	} {
		if got := Denied(name); got != want {
			t.Errorf("Denied(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestCommandWithoutPlatform(t *testing.T) {
	saved := Wrap
	defer func() { Wrap = saved }()
	Wrap = nil
	if _, err := Command(Spec{}, []string{"true"}); err == nil {
		t.Fatal("Command without a platform sandbox succeeded")
	}
	if _, ok := Available(); ok {
		t.Fatal("Available without a platform sandbox")
	}
}
