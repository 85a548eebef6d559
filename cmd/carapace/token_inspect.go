package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/stack"
)

func tokenInspectCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace token inspect", flag.ContinueOnError)
	var sf stateFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	return &ffcli.Command{
		Name:       "inspect",
		ShortUsage: "carapace token inspect TOKEN|-",
		ShortHelp:  "show a token's claims and whether it would be accepted now, and if not why",
		LongHelp: "Checks the token here, with the device's public key, the issuers' keys and\n" +
			"the revocation list from the state directory. It cannot see the router's\n" +
			"replay cache: a used one-time token still shows as accepted. Exit status 1\n" +
			"when the token would be refused.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("pass the token, or - to read it from stdin", "inspect needs exactly one token")
			}
			raw := args[0]
			if raw == "-" {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
				if err != nil {
					return opError("token inspect", err)
				}
				raw = string(b)
			}
			st, err := sf.settings()
			if err != nil {
				return opError("token inspect", err)
			}
			v, err := servicehost.ReadOnlyVerifier(servicehost.AuthorizerConfig{
				StateDir: st.StateDir(), Home: st.OwnerHome, Issuers: stack.Issuers(st.System)})
			if err != nil {
				return opError("token inspect", err)
			}
			rep := v.Inspect(strings.TrimSpace(raw))
			if *asJSON {
				if err := printJSON(os.Stdout, rep); err != nil {
					return err
				}
			} else {
				printClaims(rep.Header, rep.Claims)
			}
			if !rep.Accepted {
				return opError("token inspect", errs.E(errs.Unauthorized, errs.Reason(rep.Reason), errs.Hint(rep.Hint), errors.New("it would be refused now")))
			}
			if !*asJSON {
				fmt.Println("accepted: yes (a one-time token's use is known to the router only)")
			}
			return nil
		},
	}
}

func printClaims(header, claims map[string]any) {
	for _, part := range []struct {
		name string
		m    map[string]any
	}{{"header", header}, {"claims", claims}} {
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Printf("%s:\n", part.name)
		for _, k := range keys {
			v := part.m[k]
			if n, ok := v.(float64); ok && (k == "exp" || k == "iat" || k == "nbf") {
				v = fmt.Sprintf("%d (%s)", int64(n), time.Unix(int64(n), 0).Format(time.RFC3339))
			}
			fmt.Printf("  %-10s %v\n", k, v)
		}
	}
}
