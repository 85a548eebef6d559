package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
)

func auditVerifyCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace audit verify", flag.ContinueOnError)
	var sf stateFlags
	sf.register(fs)
	dir := fs.String("dir", "", "the audit log directory or one file (default: audit.path, else <state dir>/audit)")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	return &ffcli.Command{
		Name:       "verify",
		ShortUsage: "carapace audit verify [--dir DIR|FILE] [--json]",
		ShortHelp:  "check the audit log's hash chain and say where it breaks",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			const op = "audit verify"
			path, err := sf.auditDir(*dir)
			if err != nil {
				return errs.E(op, err)
			}
			rep, err := audit.Verify(path)
			var br *audit.Break
			if *asJSON {
				out := map[string]any{"path": path, "ok": err == nil, "report": rep}
				if errors.As(err, &br) {
					out["break"] = br
				}
				printJSON(os.Stdout, out)
			}
			if errors.As(err, &br) {
				return errs.E(op, errs.E(errs.Failed, errs.ReasonChainBroken,
					errs.Hint("the log was edited, cut or reordered at that line; keep the files as evidence and compare with a copy kept elsewhere"), br))
			}
			if err != nil {
				return errs.E(op, errs.E(errs.Failed, errs.Hint("check the path and that you may read it (the log is 0640, owned by the router's user)"), err))
			}
			if !*asJSON {
				fmt.Printf("ok: %d records in %d files, seq %d…%d, head %s\n", rep.Records, len(rep.Files), rep.FirstSeq, rep.LastSeq, rep.LastHash)
				if !rep.Genesis {
					fmt.Println("note: the chain does not start at the first record ever written (older files were rotated away)")
				}
			}
			return nil
		},
	}
}
