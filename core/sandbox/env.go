package sandbox

import (
	"sort"
	"strings"
)

// keepFromDaemon are the variables CleanEnv copies from the daemon's own
// environment. HOME is not among them: the daemon's home lies outside the
// sandbox, so Spec.Env points HOME at the sandbox's private home instead.
var keepFromDaemon = map[string]bool{
	"PATH": true, "LANG": true, "LANGUAGE": true, "TERM": true, "TZ": true,
	"USER": true, "LOGNAME": true, "COLORTERM": true, "NO_COLOR": true,
}

// denyPrefixes and denySuffixes name variables that never enter a
// sandbox, whoever sets them: credentials and pointers to agents that hold
// credentials. The names are upper-cased before matching.
var (
	denyNames = map[string]bool{
		"SSH_AUTH_SOCK": true, "SSH_AGENT_PID": true, "GPG_AGENT_INFO": true,
		"DBUS_SESSION_BUS_ADDRESS": true, "XDG_RUNTIME_DIR": true,
		"DISPLAY": true, "WAYLAND_DISPLAY": true, "XAUTHORITY": true,
		"KRB5CCNAME": true, "NOTIFY_SOCKET": true, "LISTEN_FDS": true,
		"LISTEN_PID": true, "LISTEN_FDNAMES": true, "NETRC": true,
		"LD_PRELOAD": true, "LD_LIBRARY_PATH": true, "LD_AUDIT": true,
		"GIT_ASKPASS": true, "SSH_ASKPASS": true, "SUDO_ASKPASS": true,
		"GH_TOKEN": true, "GITHUB_TOKEN": true, "NPM_CONFIG__AUTH": true,
		"DOCKER_HOST": true, "DOCKER_CONFIG": true, "KUBECONFIG": true,
	}
	denyPrefixes = []string{"GIMME_", "CARAPACE_", "AWS_", "AZURE_", "GOOGLE_",
		"GCLOUD_", "CLOUDSDK_", "VAULT_", "OPENAI_", "ANTHROPIC_", "SSH_",
		"GPG_", "GNUPG", "BASH_FUNC_"}
	denySuffixes = []string{"_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD",
		"_API_KEY", "_APIKEY", "_ACCESS_KEY", "_PRIVATE_KEY", "_CREDENTIALS",
		"_AUTH", "_SESSION"}
	// setBySandbox are variables only the sandbox sets (Spec.Env).
	setBySandbox = map[string]bool{"HOME": true, "TMPDIR": true, "TMP": true,
		"TEMP": true, "PWD": true}
)

// Denied reports whether the variable name may never enter a sandbox.
func Denied(name string) bool {
	u := strings.ToUpper(name)
	if denyNames[u] {
		return true
	}
	for _, p := range denyPrefixes {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	for _, s := range denySuffixes {
		if strings.HasSuffix(u, s) {
			return true
		}
	}
	return false
}

// validName reports whether name can be an environment variable name: not
// empty, no '=' and no NUL.
func validName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "=\x00")
}

// CleanEnv rebuilds an environment for a sandboxed command. From
// daemonEnv ("K=V" strings, as os.Environ returns) it keeps only PATH, the
// locale (LANG, LANGUAGE, LC_*), TERM, TZ, USER and LOGNAME; from requested
// (what the caller asked for) it takes everything except the names Denied
// refuses and those the sandbox itself sets (HOME, TMPDIR, TMP, TEMP, PWD).
// Values with a NUL byte are dropped. The result is sorted by name.
func CleanEnv(daemonEnv []string, requested map[string]string) []string {
	env := map[string]string{}
	for _, kv := range daemonEnv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !validName(k) || strings.ContainsRune(v, 0) || Denied(k) {
			continue
		}
		if keepFromDaemon[k] || strings.HasPrefix(k, "LC_") {
			env[k] = v
		}
	}
	for k, v := range requested {
		if !validName(k) || strings.ContainsRune(v, 0) || Denied(k) || setBySandbox[strings.ToUpper(k)] {
			continue
		}
		env[k] = v
	}
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = DefaultPath
	}
	return flatten(env)
}

// DefaultPath is PATH when neither the daemon nor the caller set one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Env returns CleanEnv(daemonEnv, requested) with HOME, TMPDIR, TMP and
// TEMP pointing into the sandbox (s.Home, s.TmpDir) where s sets them.
func (s Spec) Env(daemonEnv []string, requested map[string]string) []string {
	env := CleanEnv(daemonEnv, requested)
	s = s.WithDefaults()
	add := func(k, v string) {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	add("HOME", s.Home)
	add("TMPDIR", s.TmpDir)
	add("TMP", s.TmpDir)
	add("TEMP", s.TmpDir)
	sort.Strings(env)
	return env
}

func flatten(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
