package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/peterbourgon/ff/v3/ffcli"
)

func policyCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace policy check", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs, "")
	svc := fs.String("service", "code", "whose policy: code or shell")
	jsonOut := fs.Bool("json", false, "print machine-readable JSON")
	check := &ffcli.Command{
		Name:       "check",
		ShortUsage: "carapace policy check [--service code|shell] -- COMMAND [ARGS...]",
		ShortHelp:  "show which rule decides a command, and why",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) == 0 {
				return usage("for example: carapace policy check -- git push", "policy check needs a command")
			}
			if *svc != "code" && *svc != "shell" {
				return usage("use --service code or --service shell", "no command policy for %q", *svc)
			}
			st, err := cf.load(true)
			if err != nil {
				return errs.E("policy check", err)
			}
			rules := st.Owner.Services.Code.Policy
			if *svc == "shell" {
				rules = st.Owner.Services.Shell.Policy
			}
			p, err := commandPolicy(*svc, rules)
			if err != nil {
				return errs.E("policy check", err)
			}
			r := p.Check(args)
			rule := "(default)"
			if r.Rule != nil {
				rule = fmt.Sprint(r.Rule.Match)
			}
			if *jsonOut {
				return printJSON(os.Stdout, map[string]any{"decision": r.Decision.String(), "rule": rule, "reason": r.Reason, "program": r.Program})
			}
			fmt.Printf("%s: %s\nrule: %s\nreason: %s\n", r.Program, r.Decision, rule, r.Reason)
			return nil
		},
	}
	return &ffcli.Command{
		Name:        "policy",
		ShortUsage:  "carapace policy check -- COMMAND [ARGS...]",
		ShortHelp:   "inspect the command policy",
		FlagSet:     flag.NewFlagSet("carapace policy", flag.ContinueOnError),
		Subcommands: []*ffcli.Command{check},
	}
}
