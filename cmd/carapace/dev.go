package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/rundir"
	"github.com/gimme-tools/carapace/core/stack"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func devCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace dev", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, "")
	cf.named = true
	websocket := fs.Bool("websocket", false, "also listen for WebSocket clients on "+stack.DefaultWebSocket+" (or the config's websocket.listen)")
	runtimeDir := fs.String("runtime-dir", "", "directory for sockets and state, yours and mode 0700 (default: $XDG_RUNTIME_DIR/carapace, else $TMPDIR/carapace-$UID, /tmp without TMPDIR)")
	return &ffcli.Command{
		Name:       "dev",
		ShortUsage: "carapace dev [--runtime-dir DIR] [--config FILE]",
		ShortHelp:  "run the router and every enabled service as the current user",
		LongHelp: "Starts the router and one child process per enabled service, all as the\n" +
			"current user, in a private runtime directory. Prints exactly one line,\n" +
			"\"ready: <router socket>\", on stdout once every service answers; logs go\n" +
			"to stderr. Ctrl-C stops everything and removes the sockets.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usage("carapace dev takes flags only", "unexpected argument %q", args[0])
			}
			return runDev(ctx, &cf, *runtimeDir, *websocket)
		},
	}
}

func runDev(ctx context.Context, cf *configFlags, runtimeDir string, websocket bool) error {
	defer cpuProfile("")()
	st, err := cf.load(true)
	if err != nil {
		return errs.E("dev", err)
	}
	if websocket && st.System.WS.Listen == "" {
		st.System.WS.Listen = stack.DefaultWebSocket
	}
	if runtimeDir == "" {
		runtimeDir = rundir.Default()
	}
	if runtimeDir, err = filepath.Abs(runtimeDir); err != nil {
		return errs.E("dev", err)
	}
	if err := rundir.Prepare(runtimeDir); err != nil {
		return errs.E("dev", errs.E(err, errs.Hint(errs.HintOf(err)+"; or run carapace dev --runtime-dir DIR with a new directory of your own")))
	}
	st.RuntimeDir = runtimeDir
	exe, err := os.Executable()
	if err != nil {
		return errs.E("dev", err)
	}
	d, err := stack.StartDev(ctx, st, exe)
	if err != nil {
		return errs.E("dev", err)
	}
	stopHUP := reloadOnHUP(d.Router, st.Log)
	defer stopHUP()
	fmt.Printf("ready: %s\n", d.Socket)
	warnMissing(st)
	st.Log.Info("carapace dev is ready", "socket", d.Socket, "owner_uid", st.OwnerUID)
	if found := client.Socket(""); found != d.Socket {
		st.Log.Warn("other carapace commands look for "+found+", not for this stack: set GIMME_SOCKET="+d.Socket+" or pass --socket", "socket", d.Socket)
	}
	select {
	case <-ctx.Done():
		st.Log.Info("stopping")
	case err = <-d.Done():
	}
	d.Stop()
	if err != nil && ctx.Err() == nil {
		return errs.E("dev", err)
	}
	return nil
}

// cpuProfile writes a CPU profile to $CARAPACE_CPUPROFILE+suffix until the
// returned function runs: a development aid for `make bench` (the dev
// router, and each service with its name as the suffix).
func cpuProfile(suffix string) func() {
	p := os.Getenv("CARAPACE_CPUPROFILE")
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p + suffix + "." + strconv.Itoa(os.Getpid()))
	if err != nil {
		return func() {}
	}
	pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}
