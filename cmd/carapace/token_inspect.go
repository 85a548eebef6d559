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

	"github.com/gimme-tools/carapace/core/client"
	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/servicehost"
	"github.com/gimme-tools/carapace/core/stack"
	"github.com/gimme-tools/carapace/core/token"
)

func tokenInspectCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace token inspect", flag.ContinueOnError)
	var sf stateFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print machine-readable JSON")
	local := fs.Bool("local", false, "check here, from the state directory, without asking the router")
	return &ffcli.Command{
		Name:       "inspect",
		ShortUsage: "carapace token inspect TOKEN|-",
		ShortHelp:  "show a token's claims and whether it would be accepted now, and if not why",
		LongHelp: "Asks the router (token.inspect, the owner only), which knows every check,\n" +
			"one-time tokens already used included. When no router answers (or with\n" +
			"--local) it checks here, with the device's public key, the issuers' keys and\n" +
			"the revocation list from the state directory, and cannot tell whether a\n" +
			"one-time token was used. Exit status 1 when the token would be refused.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return usage("pass the token, or - to read it from stdin", "inspect needs exactly one token")
			}
			raw := args[0]
			if raw == "-" {
				b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
				if err != nil {
					return errs.E("token inspect", err)
				}
				raw = string(b)
			}
			raw = strings.TrimSpace(raw)
			rep, byRouter, err := inspectToken(ctx, raw, *local, &sf)
			if err != nil {
				return errs.E("token inspect", err)
			}
			if *asJSON {
				if err := printJSON(os.Stdout, rep); err != nil {
					return err
				}
			} else {
				printClaims(rep.Header, rep.Claims)
			}
			if !rep.Accepted {
				return errs.E("token inspect", errs.E(errs.Unauthorized, rep.Reason, errs.Hint(rep.Hint), errors.New("it would be refused now")))
			}
			if !*asJSON {
				if byRouter {
					fmt.Println("accepted: yes (checked by the router)")
				} else {
					fmt.Println("accepted: yes (checked here, not by the router: a one-time token's use is known to the router only)")
				}
				fmt.Println(leewayNote(rep.Claims, time.Now()))
			}
			return nil
		},
	}
}

// inspectToken asks the router, or, when none answers or local is set,
// checks raw here from the state directory.
func inspectToken(ctx context.Context, raw string, local bool, sf *stateFlags) (rep token.Report, byRouter bool, err error) {
	if !local {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if c, derr := client.Dial(dctx, client.Socket(sf.socket)); derr == nil {
			defer c.Close()
			err := c.Call(ctx, "token.inspect", map[string]string{"token": raw}, &rep)
			if err == nil || !errs.Match(errs.E(errs.Forbidden), err) {
				return rep, err == nil, err
			}
			// Not the owner (an agent checking its own token): only the
			// owner may ask the router; check here instead.
		}
	}
	st, err := sf.settings()
	if err != nil {
		return rep, false, err
	}
	v, err := servicehost.ReadOnlyVerifier(servicehost.AuthorizerConfig{
		StateDir: st.StateDir(), Home: st.OwnerHome, Issuers: stack.Issuers(st.System)})
	if err != nil {
		return rep, false, err
	}
	return v.Inspect(raw), false, nil
}

// leewayNote says when the token stops being accepted: exp, nbf and iat
// are checked with token.DefaultLeeway of clock skew allowed.
func leewayNote(claims map[string]any, now time.Time) string {
	lw := token.DefaultLeeway
	exp, ok := claims["exp"].(float64)
	if !ok {
		return fmt.Sprintf("leeway: exp, nbf and iat are checked with %v of clock skew allowed", lw)
	}
	end := time.Unix(int64(exp), 0)
	if now.After(end) {
		return fmt.Sprintf("leeway: expired %v ago, still accepted within the %v clock-skew leeway, until %s", now.Sub(end).Round(time.Second), lw, end.Add(lw).Format(time.RFC3339))
	}
	return fmt.Sprintf("leeway: expires in %v; accepted until %s (exp plus the %v clock-skew leeway)", end.Sub(now).Round(time.Second), end.Add(lw).Format(time.RFC3339), lw)
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
