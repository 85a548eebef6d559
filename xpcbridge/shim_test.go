package xpcbridge

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The shim's security rests on one rule: XPC checks a peer's signature only
// if the requirement is set before the connection is resumed. These tests
// read shim.c and check that rule for every xpc_connection_resume call.

var (
	lineComment  = regexp.MustCompile(`//[^\n]*`)
	blockComment = regexp.MustCompile(`(?s)/\*.*?\*/`)
	funcStart    = regexp.MustCompile(`(?m)^[A-Za-z_][A-Za-z0-9_ \*]*\b([a-z_][a-z0-9_]*)\(([^)]*)\)\s*\{`)
	resumeCall   = regexp.MustCompile(`xpc_connection_resume\(\s*([A-Za-z_][A-Za-z0-9_>\-]*)\s*\)`)
)

// cFunctions returns the bodies of the top-level functions in src, by name.
func cFunctions(src string) map[string]string {
	src = blockComment.ReplaceAllString(lineComment.ReplaceAllString(src, ""), "")
	fns := map[string]string{}
	for _, m := range funcStart.FindAllStringSubmatchIndex(src, -1) {
		name := src[m[2]:m[3]]
		depth, i := 0, m[1]-1
		for ; i < len(src); i++ {
			if src[i] == '{' {
				depth++
			} else if src[i] == '}' {
				if depth--; depth == 0 {
					break
				}
			}
		}
		fns[name] = src[m[1]:i]
	}
	return fns
}

// checkResumes returns one problem per xpc_connection_resume in src that
// is not preceded, in the same function, by either a successful-or-cancel
// xpc_connection_set_peer_code_signing_requirement on the same connection,
// or the creation of that connection as a Mach-service listener (a listener
// carries no messages; its peers are checked one by one).
func checkResumes(src string) (problems []string, resumes int) {
	for name, body := range cFunctions(src) {
		for _, m := range resumeCall.FindAllStringSubmatchIndex(body, -1) {
			resumes++
			conn, before := body[m[2]:m[3]], body[:m[0]]
			q := regexp.QuoteMeta(conn)
			setReq := regexp.MustCompile(`(\w+)\s*=\s*xpc_connection_set_peer_code_signing_requirement\(\s*` + q + `\s*,`)
			listener := regexp.MustCompile(q + `\s*=\s*xpc_connection_create_mach_service\([^;]*XPC_CONNECTION_MACH_SERVICE_LISTENER\)`)
			if listener.MatchString(before) {
				continue
			}
			s := setReq.FindStringSubmatch(before)
			if s == nil {
				problems = append(problems, fmt.Sprintf("%s: xpc_connection_resume(%s) without a peer code-signing requirement before it", name, conn))
				continue
			}
			onFail := regexp.MustCompile(`if\s*\(\s*` + s[1] + `\s*!=\s*0\s*\)\s*\{\s*xpc_connection_cancel\(\s*` + q + `\s*\)`)
			if !onFail.MatchString(before) {
				problems = append(problems, fmt.Sprintf("%s: %s is resumed without being cancelled when its requirement could not be set", name, conn))
			}
		}
	}
	return problems, resumes
}

func readShim(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("shim.c")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestShimSetsRequirementBeforeResume(t *testing.T) {
	problems, resumes := checkResumes(readShim(t))
	for _, p := range problems {
		t.Error(p)
	}
	if resumes != 3 { // listener, accepted peer, client
		t.Errorf("found %d xpc_connection_resume calls, want 3: update this test with the shim", resumes)
	}
}

// TestCheckerCatchesMistakes feeds the checker broken copies of the shim,
// so a checker that passes everything cannot pass.
func TestCheckerCatchesMistakes(t *testing.T) {
	src := readShim(t)
	for name, mutate := range map[string]func(string) string{
		"requirement removed": func(s string) string {
			return regexp.MustCompile(`int rc = xpc_connection_set_peer_code_signing_requirement\(conn, requirement\);`).
				ReplaceAllString(s, "int rc = 0;")
		},
		"requirement after resume": func(s string) string {
			return strings.Replace(s, "\txpc_connection_resume(conn);\n}", "}", 1)
		},
		"failure not cancelled": func(s string) string {
			return strings.Replace(s, "xpc_connection_cancel(conn); // no message", "(void)0; // no message", 1)
		},
	} {
		broken := mutate(src)
		if broken == src {
			t.Errorf("%s: mutation did not apply; update the test", name)
			continue
		}
		if name == "requirement after resume" {
			broken = strings.Replace(broken, "static void accept_peer(xpc_connection_t conn, const char *requirement, uintptr_t lh) {",
				"static void accept_peer(xpc_connection_t conn, const char *requirement, uintptr_t lh) {\n\txpc_connection_resume(conn);", 1)
		}
		if problems, _ := checkResumes(broken); len(problems) == 0 {
			t.Errorf("%s: the checker found nothing", name)
		}
	}
}

// TestShimNeverTrustsPID checks that no PID- or self-based identity check
// creeps into the shim: the pid is only passed on for logs.
func TestShimNeverTrustsPID(t *testing.T) {
	src := blockComment.ReplaceAllString(lineComment.ReplaceAllString(readShim(t), ""), "")
	for _, bad := range []string{"SecTaskCreateFromSelf", "kSecGuestAttributePid", "SecCodeCopyGuestWithAttributes", "audit_token"} {
		if strings.Contains(src, bad) {
			t.Errorf("shim.c uses %s", bad)
		}
	}
	if n := strings.Count(src, "xpc_connection_get_pid("); n != 2 {
		t.Errorf("xpc_connection_get_pid appears %d times; it may only feed gxpcAccept and gxpc_peer_creds (logs)", n)
	}
}
