package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/router"
)

func restartCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace restart", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "restart",
		ShortUsage: "carapace restart SERVICE",
		ShortHelp:  "restart one service of a dev stack (an installed one: prints the systemctl line)",
		LongHelp: "Stops the service's process; its supervisor (carapace dev) starts it again at once,\n" +
			"reading the owner configuration anew. Rarely needed: a configured folder that appears\n" +
			"is taken in without it. For an installed stack it prints the systemctl command to run.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("for example: carapace restart file", "restart needs one service: file, code, shell or app")
			}
			return restartService(ctx, &f, args[0])
		},
	}
}

func restartService(ctx context.Context, f *clientFlags, name string) error {
	const op = "restart"
	before, err := serviceStatus(ctx, f, name)
	if err != nil {
		return err
	}
	if _, dev := isDevStack(ctx, f); !dev {
		return errs.E(op, errs.Forbidden, errs.ReasonNotDev,
			errs.Hint("run: sudo systemctl restart 'carapace-"+name+"*.service'"),
			fmt.Errorf("the %s service is run by systemd, not by a dev stack of yours", name))
	}
	if before.PID <= 0 {
		return errs.E(op, errs.Unavailable, errs.ReasonServiceDown,
			errs.Hint("`carapace status` shows why; the supervisor is restarting it already"), fmt.Errorf("the %s service has no process", name))
	}
	if err := syscall.Kill(before.PID, syscall.SIGTERM); err != nil {
		return errs.E(op, err)
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		now, err := serviceStatus(ctx, f, name)
		if err == nil && now.Up && now.PID > 0 && now.PID != before.PID {
			fmt.Fprintf(os.Stderr, "carapace: restarted %s (pid %d, was %d)\n", name, now.PID, before.PID)
			return nil
		}
	}
	return errs.E(op, errs.Timeout, errs.ReasonNotBack, errs.Hint("`carapace status` and the dev stack's stderr say why"),
		fmt.Errorf("the %s service did not come back within a minute", name))
}

// serviceStatus returns the router's status of the named service.
func serviceStatus(ctx context.Context, f *clientFlags, name string) (router.Status, error) {
	var res struct {
		Services []router.Status `json:"services"`
	}
	if err := f.call(ctx, "services", map[string]any{}, &res); err != nil {
		return router.Status{}, err
	}
	var names []string
	for _, s := range res.Services {
		if s.Name == name {
			if !s.Enabled {
				return s, errs.E("restart", errs.InvalidParams, errs.ReasonNotEnabled,
					errs.Hint("enable it in ~/.config/gimme/local.yaml (services."+name+".enabled: true) and restart the stack"),
					fmt.Errorf("the %s service is disabled", name))
			}
			return s, nil
		}
		names = append(names, s.Name)
	}
	return router.Status{}, usage("services are: "+errs.List(names, 200), "no service %q", name)
}
