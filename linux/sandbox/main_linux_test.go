//go:build linux

package sandbox

import (
	"fmt"
	"github.com/gimme-tools/carapace/core/sandbox"
	"os"
	"testing"

	"github.com/gimme-tools/carapace/core/egress"
)

// TestMain lets the test binary stand in for carapace: run with
// "sandbox-exec …" it is the helper, with "probe NAME …" it is a program
// the escape corpus runs inside the sandbox, with "confine …" a service
// that confines itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "sandbox-exec":
			if os.Getenv(offLeaderEnv) != "" {
				os.Exit(offLeader(func() int { return ExecMain(os.Args[2:]) }))
			}
			os.Exit(ExecMain(os.Args[2:]))
		case egress.ProcessWord:
			os.Exit(egress.ProcessMain())
		case "egress-probe":
			os.Exit(egressConfinementProbe(os.Args[2:]))
		case "probe":
			os.Exit(probe(os.Args[2:]))
		case "confine":
			os.Exit(confineProbe(os.Args[2:]))
		case "confine-profiled":
			os.Exit(profileProbe(os.Args[2:]))
		case "ownsmnt":
			ok, _ := ownMountNamespace()
			fmt.Println(ownsMountNamespace(), ok)
			os.Exit(0)
		case "codesvc":
			os.Exit(codeServiceProbe(os.Args[2:]))
		case "codesvc-ipc": // can a service confined as the code service start a helper in an IPC namespace?
			if err := confineSelf(sandbox.Profile{Exec: true, Namespaces: true}); err != nil {
				say("confine failed: %v", err)
				os.Exit(1)
			}
			fmt.Println(ipcCloneflag() != 0)
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

func say(format string, args ...any) { fmt.Printf(format+"\n", args...) }
