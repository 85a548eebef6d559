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
	"github.com/gimme-tools/carapace/core/token"
)

func auditVerifyCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace audit verify", flag.ContinueOnError)
	var sf stateFlags
	sf.register(fs)
	dir := fs.String("dir", "", "the audit log directory or one file (default: audit.path, else <state dir>/audit)")
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	checkpoints := fs.Bool("checkpoints", false, "also check each signed checkpoint with this device's public key (device.pub in the state directory)")
	return &ffcli.Command{
		Name:       "verify",
		ShortUsage: "carapace audit verify [--dir DIR|FILE] [--checkpoints] [--json]",
		ShortHelp:  "check the audit log's hash chain and say where it breaks",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			const op = "audit verify"
			path, err := sf.auditDir(*dir)
			if err != nil {
				return errs.E(op, err)
			}
			var rep audit.Report
			if *checkpoints {
				st, serr := sf.settings()
				if serr != nil {
					return errs.E(op, serr)
				}
				pub, perr := token.LoadPublic(st.StateDir())
				if perr != nil {
					return errs.E(op, errs.E(errs.Failed, errs.ReasonDeviceKey,
						errs.Hint("--checkpoints needs device.pub from the state directory (--state-dir)"), perr))
				}
				rep, err = audit.VerifyCheckpoints(path, pub.Key)
			} else {
				rep, err = audit.Verify(path)
			}
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
				if *checkpoints {
					fmt.Printf("checkpoints: %d signed with this device's key, the last at seq %d; %d records after it\n", rep.Checkpoints, rep.LastCheckpoint, rep.Unvouched)
				}
				if !rep.Genesis {
					fmt.Println("note: the chain does not start at the first record ever written (older files were rotated away)")
				}
			}
			return nil
		},
	}
}
