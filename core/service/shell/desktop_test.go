package shell

import (
	"strings"
	"testing"
	"time"

	"github.com/gimme-tools/carapace/core/approval"
)

// TestNotificationText: a notification shows the command with control
// characters made visible, the directory, the agent and exactly what a
// remembered choice covers; a command that is never remembered offers
// no such choice and says why.
func TestNotificationText(t *testing.T) {
	p := approval.Pending{ID: "1a2b3c4d", Request: approval.Request{Command: "git status\x1b[2J\nrm -rf ~", Cwd: "/home/o/demo",
		Caller: approval.Caller{Agent: "claude", JTI: "j"}, NoRemember: "the command line holds control characters"}}
	n := notification(p)
	if strings.Contains(n.Body, "\x1b") || !strings.HasPrefix(n.Body, "git status␣[2J␣rm -rf ~\nin /home/o/demo\nasked by claude") ||
		!strings.Contains(n.Body, "asked every time: the command line holds control characters") {
		t.Fatalf("body %q", n.Body)
	}
	if keys(n) != "allow-once deny" {
		t.Fatalf("choices %s", keys(n))
	}
	p = approval.Pending{ID: "1a2b3c4d", Request: approval.Request{Command: "git status", Cwd: "/home/o/demo",
		Caller: approval.Caller{Agent: "claude", JTI: "j", Exp: time.Now().Add(time.Hour)}, Argv: [][]string{{"git", "status"}}, Covers: "x"}}
	n = notification(p)
	if keys(n) != "allow-once allow-scope deny" || n.Choices[1].Decision.Scope != approval.ForToken ||
		!strings.Contains(n.Body, `Allow for this agent's token covers: "git status"… in /home/o/demo and below, for claude with this token`) {
		t.Fatalf("notification %+v", n)
	}
	p.Caller.JTI = ""
	if n = notification(p); n.Choices[1].Decision.Scope != approval.Always {
		t.Fatalf("without a token: %+v", n.Choices)
	}
}

func keys(n Notification) string {
	var k []string
	for _, c := range n.Choices {
		k = append(k, c.Key)
	}
	return strings.Join(k, " ")
}
