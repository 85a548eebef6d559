// Command carapace is both the Carapace CLI and every Carapace daemon:
// `carapace dev` runs a whole stack for the current user, `carapace serve
// <service>` runs one service process, and the other subcommands talk to
// the router over its Unix socket.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/egress"
)

// Exit codes (also in the README).
const (
	exitOK          = 0
	exitError       = 1   // the router or a service refused or failed the request
	exitUsage       = 2   // bad flags or arguments
	exitUnavailable = 3   // the router (or a service) could not be reached
	exitTimedOut    = 124 // exec: the command hit its timeout (--timeout-ms or --timeout)
	exitInterrupted = 130 // exec: interrupted (Ctrl-C, SIGTERM); the command was stopped
	exitCannotRun   = 125 // exec: the command could not be started
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	// sandbox-exec parses its own arguments (everything after -- is the
	// command's) and must start fast: it bypasses the CLI machinery.
	if len(args) > 0 && args[0] == "sandbox-exec" {
		return sandboxExec(args[1:])
	}
	// The egress proxy's process confines itself before anything else
	// runs (core/egress, docs/network.md).
	if len(args) > 0 && args[0] == egress.ProcessWord {
		return egress.ProcessMain()
	}
	root := rootCommand()
	jsonErrors = wantsJSON(args)
	if wantsHelp(args) {
		return exitOf(showHelp(root, args))
	}
	args = intersperse(root, args)
	if err := root.Parse(args); err != nil {
		c, _ := helpTarget(root, args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Println(usageText(c))
			return exitOK
		}
		full := strings.TrimSpace("carapace " + cmdPaths[c])
		return report(&helpError{cmd: c, err: usage("the flags "+full+" takes are below", "%s", flagErrorText(err))})
	}
	if showVersion {
		return exitOf(printVersion())
	}
	if len(args) == 0 {
		fmt.Println(usageText(root))
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.Run(ctx); err != nil {
		return report(err)
	}
	return exitOK
}

// showVersion is the root's --version.
var showVersion bool

func rootCommand() *ffcli.Command {
	fs := flag.NewFlagSet("carapace", flag.ContinueOnError)
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	root := &ffcli.Command{
		Name:       "carapace",
		ShortUsage: "carapace <command> [flags] [args...]",
		ShortHelp:  "decide what an AI agent may do on this computer",
		FlagSet:    fs,
		Subcommands: []*ffcli.Command{
			devCmd(), serveCmd(), pingCmd(), echoCmd(), whoamiCmd(), statusCmd(),
			callCmd(), execCmd(), shellCmd(), appCmd(), fileCmd(), restartCmd(), tokenCmd(), auditCmd(), configCmd(), policyCmd(),
			agentCmd(), approvalsCmd(), approveCmd(), denyCmd(), grantsCmd(), doctorCmd(), mcpCmd(), secretCmd(), versionCmd(),
			helpCmd(rootCommand),
		},
	}
	prepare(root, "")
	return root
}
