package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"
	"golang.org/x/term"

	"github.com/gimme-tools/carapace/core/errs"
	"github.com/gimme-tools/carapace/core/secret"
	"github.com/gimme-tools/carapace/core/service/code"
)

func secretSetCmd() *ffcli.Command {
	fs := flag.NewFlagSet("carapace secret set", flag.ContinueOnError)
	var f clientFlags
	f.registerOwner(fs)
	return &ffcli.Command{
		Name:       "set",
		ShortUsage: "carapace secret set NAME < value",
		ShortHelp:  "store a secret read from standard input (typed without echo on a terminal)",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			name, err := oneName("set", args)
			if err != nil {
				return err
			}
			value, err := readSecret(name)
			if err != nil {
				return err
			}
			var res struct{ Where string }
			if ok, err := secretsCall(ctx, &f, "set", code.SecretParams{Name: name, Value: string(value)}, &res); ok {
				fmt.Fprintf(os.Stderr, "stored %s in the code service's %s (the next command uses it)\n", name, res.Where)
				return nil
			} else if err != nil {
				return err
			}
			ss, err := secret.Open()
			if err != nil {
				return secretError("secret set", err)
			}
			if err := ss.Set(name, value); err != nil {
				return secretError("secret set", err)
			}
			fmt.Fprintf(os.Stderr, "stored %s in %s\n(%s)\n", name, ss.Where(), noStack(&f))
			return nil
		},
	}
}

// readSecret reads the value: typed without echo on a terminal, else all
// of standard input; one trailing line break is dropped.
func readSecret(name string) ([]byte, error) {
	var b []byte
	var err error
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		fmt.Fprintf(os.Stderr, "value for %s (not shown): ", name)
		b, err = term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
	} else {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<10+1))
	}
	if err != nil {
		return nil, errs.E("secret set", errs.Failed, errs.Hint("pipe the value in: carapace secret set NAME < file"), err)
	}
	b = bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))
	switch {
	case len(b) == 0:
		return nil, usage("type the value, or pipe it in: carapace secret set "+name+" < file", "secret set: empty value")
	case len(b) > 64<<10:
		return nil, usage("a credential is a token or a key, not a file", "secret set: value over 64 KiB")
	case bytes.ContainsAny(b, "\r\n\x00"):
		return nil, usage("store one line: a route puts the value in a header", "secret set: the value holds a line break or NUL")
	}
	return b, nil
}
