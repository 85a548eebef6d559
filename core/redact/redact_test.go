package redact

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gimme-tools/carapace/core/redact/internal/rulegen"
)

// Fake secrets, built from parts so that this file itself does not hold
// one whole (other scanners read it too).
var (
	awsKey     = "AKIA" + "Z7XQ4NMRT2WVKP5Y"
	githubPAT  = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
	slackBot   = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
	stripeLive = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
	pemKey     = "-----BEGIN " + "RSA PRIVATE KEY-----\n" +
		"MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n" +
		"VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n" +
		"LxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo\n" +
		"-----END " + "RSA PRIVATE KEY-----"
)

// TestRedact: each kind of secret is replaced by a placeholder naming its
// rule, the text around it is kept, and the same secret reads the same.
func TestRedact(t *testing.T) {
	s := Default()
	for _, tc := range []struct {
		name, text, secret, rule string
	}{
		{"aws", "aws_access_key_id = " + awsKey + "\n", awsKey, "aws-access-token"},
		{"github", "token: " + githubPAT + "\n", githubPAT, "github-pat"},
		{"slack", `SLACK="` + slackBot + `"`, slackBot, "slack-bot-token"},
		{"stripe", "stripe.api_key = '" + stripeLive + "'", stripeLive, "stripe-access-token"},
		{"private key", "key:\n" + pemKey + "\nrest\n", pemKey, "private-key"},
		{"inside a word of code", "fmt.Println(\"" + githubPAT + "\")", githubPAT, "github-pat"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, c := s.RedactString(tc.text)
			ph := Placeholder(tc.rule, []byte(tc.secret)) + strings.Repeat("\n", strings.Count(tc.secret, "\n"))
			if strings.Contains(out, tc.secret) || !strings.Contains(out, ph) || c[tc.rule] != 1 {
				t.Fatalf("redacted %q to %q (counts %v), want %s in it", tc.text, out, c, ph)
			}
			if want := strings.Replace(tc.text, tc.secret, ph, 1); out != want {
				t.Fatalf("got %q, want %q", out, want)
			}
			again, _ := s.RedactString("elsewhere " + tc.secret)
			if again != "elsewhere "+ph {
				t.Fatalf("the same secret read %q elsewhere, want %q", again, "elsewhere "+ph)
			}
		})
	}
	if !regexp.MustCompile(`^\[REDACTED:aws-access-token:[0-9a-f]{4}\]$`).MatchString(Placeholder("aws-access-token", []byte(awsKey))) {
		t.Fatal("placeholder shape")
	}
}

// TestNoSecretsInSource: this repository's own Go source, which is full
// of "key", "token" and "secret", comes out unchanged (no guesses that
// would rewrite code an agent reads to edit).
func TestNoSecretsInSource(t *testing.T) {
	text := sourceText(t, 0)
	ms := Default().Find(text)
	for _, m := range ms {
		t.Errorf("%s: %q", m.Rule, text[max(0, m.Start-40):min(len(text), m.End+10)])
	}
}

// sourceText returns the repository's Go source (not generated tables nor
// this package's tests), repeated up to at least n bytes.
func sourceText(t testing.TB, n int) []byte {
	var b bytes.Buffer
	for b.Len() == 0 || b.Len() < n {
		for _, dir := range []string{"../router", "../service/file", "../service/code", "../token", "../config", "../autorun", "../audit"} {
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if !strings.HasSuffix(e.Name(), ".go") {
					continue
				}
				src, err := os.ReadFile(dir + "/" + e.Name())
				if err != nil {
					t.Fatal(err)
				}
				b.Write(src)
			}
		}
	}
	return b.Bytes()
}

// TestStreamSplits: a secret cut anywhere by chunk boundaries is caught,
// whatever the chunk sizes, and the stream's text is what Redact gives
// for the whole.
func TestStreamSplits(t *testing.T) {
	s := Default()
	text := "start\nexport GH=" + githubPAT + " and " + awsKey + "\n" + pemKey + "\nend without newline " + slackBot
	want, wantC := s.RedactString(text)
	for _, size := range []int{1, 2, 3, 7, 13, 64, 100, 1000} {
		for first := 1; first <= size; first++ {
			var got bytes.Buffer
			st := s.NewStream(func(b []byte) { got.Write(b) })
			st.Write([]byte(text[:min(first, len(text))]))
			for i := first; i < len(text); i += size {
				st.Write([]byte(text[i:min(i+size, len(text))]))
			}
			st.Close()
			if got.String() != want {
				t.Fatalf("chunks of %d after %d: got %q, want %q", size, first, got.String(), want)
			}
			for k, v := range wantC {
				if st.Counts()[k] != v {
					t.Fatalf("chunks of %d: counts %v, want %v", size, st.Counts(), wantC)
				}
			}
		}
	}
}

// TestStreamEmitsLines: complete lines without secrets are emitted at
// once, not held.
func TestStreamEmitsLines(t *testing.T) {
	var got bytes.Buffer
	st := Default().NewStream(func(b []byte) { got.Write(b) })
	st.Write([]byte("line one\nline two\npartial"))
	if got.String() != "line one\nline two\n" {
		t.Fatalf("emitted %q", got.String())
	}
	st.Close()
	if got.String() != "line one\nline two\npartial" {
		t.Fatalf("after close %q", got.String())
	}
}

// TestRange: a read range that cuts a secret ends before it; one that
// starts inside a secret gets its whole placeholder and ends with it.
func TestRange(t *testing.T) {
	s := Default()
	b := []byte("0123456789 token=" + githubPAT + " tail")
	at := bytes.Index(b, []byte("ghp_"))
	text, end, c := s.Range(b, 0, at+10)
	if end != at || string(text) != string(b[:at]) || c != nil {
		t.Fatalf("range cutting the secret: %q end %d (secret at %d)", text, end, at)
	}
	text, end, c = s.Range(b, at+5, at+8)
	ph := Placeholder("github-pat", []byte(githubPAT))
	if end != at+len(githubPAT) || string(text) != ph || c["github-pat"] != 1 {
		t.Fatalf("range inside the secret: %q end %d", text, end)
	}
}

// TestPatterns: the owner's own patterns redact, and bad ones are refused
// with the reason.
func TestPatterns(t *testing.T) {
	s, err := New([]Pattern{{ID: "acme-token", Regex: `acme_[0-9a-f]{16}`}, {ID: "internal", Regex: `(?i)project-x: ([a-z]+)`, Keywords: []string{"project-x"}}})
	if err != nil {
		t.Fatal(err)
	}
	out, c := s.RedactString("a acme_0123456789abcdef b PROJECT-X: falcon")
	if strings.Contains(out, "acme_0123") || strings.Contains(out, "falcon") || c["acme-token"] != 1 || c["internal"] != 1 {
		t.Fatalf("%q %v", out, c)
	}
	for _, bad := range []Pattern{
		{ID: "Upper", Regex: "abcdef"},
		{ID: "x", Regex: "("},
		{ID: "nokw", Regex: `[0-9]{20}`},
		{ID: "short", Regex: `x`, Keywords: []string{"ab"}},
	} {
		if err := CheckPatterns([]Pattern{bad}); err == nil {
			t.Errorf("pattern %+v accepted", bad)
		}
	}
}

// TestIsBinary: NUL bytes or invalid UTF-8 near the start make binary; a
// UTF-8 sequence cut at the end does not.
func TestIsBinary(t *testing.T) {
	if !IsBinary([]byte("ab\x00cd")) || !IsBinary([]byte{0xff, 0xfe, 'a', 'b'}) || IsBinary([]byte("héllo")[:2]) || IsBinary([]byte("plain text\n")) {
		t.Fatal("IsBinary")
	}
}

// TestRuleTable: rules_gitleaks.go is what mkrules.go makes from the
// gitleaks module's configuration (when the module is in the cache), and
// every rule compiles.
func TestRuleTable(t *testing.T) {
	if _, err := New(nil); err != nil {
		t.Fatal(err)
	}
	toml, err := rulegen.ReadConfig()
	if err != nil {
		t.Skipf("gitleaks' configuration is not in the module cache: %v", err)
	}
	rules, err := rulegen.Parse(toml)
	if err != nil {
		t.Fatal(err)
	}
	src, err := rulegen.Source(rules)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("rules_gitleaks.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(src, have) {
		t.Fatal("rules_gitleaks.go differs from gitleaks' configuration: go run mkrules.go")
	}
	if len(rules) < 200 {
		t.Fatalf("only %d rules", len(rules))
	}
}

// TestDropCut: output cut at a cap loses its unterminated last line.
func TestDropCut(t *testing.T) {
	for in, want := range map[string]string{
		"a\nb\n":                  "a\nb\n",
		"a\ntoken=ghp_a1B2":       "a\n",
		"":                        "",
		strings.Repeat("x", 5000): strings.Repeat("x", 5000-4096),
	} {
		if got := DropCut(in); got != want {
			t.Errorf("DropCut(%.20q…) = %.20q…, want %.20q…", in, got, want)
		}
	}
}
