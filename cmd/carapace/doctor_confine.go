package main

import (
	"context"

	"github.com/gimme-tools/carapace/core/router"
)

// confinementChecks warn of every enabled service that runs, in part or
// whole, without the OS's confinement (core/stack.Unconfined), as the
// running router reports it; nothing when no router answers.
func confinementChecks(ctx context.Context, f *clientFlags) []check {
	var res struct {
		Services []router.Status `json:"services"`
	}
	if err := f.call(ctx, "services", map[string]any{}, &res); err != nil {
		return nil
	}
	var out []check
	confined := 0
	for _, s := range res.Services {
		switch {
		case !s.Enabled:
		case s.Unconfined == "":
			confined++
		default:
			out = append(out, check{Name: "service " + s.Name + " confined", OK: true, Warn: true,
				Detail: "unconfined: " + s.Unconfined, Fix: unconfinedFix(s.Name)})
		}
	}
	if len(out) == 0 && confined > 0 {
		out = append(out, check{Name: "services confined", OK: true, Detail: "every enabled service confines itself (Landlock, seccomp, no_new_privs as each needs)"})
	}
	return out
}

// unconfinedFix says how to run without an unconfined service.
func unconfinedFix(name string) string {
	if name == "code" {
		return "set services.code.sandbox: on in ~/.config/gimme/local.yaml (commands are then refused where there is no sandbox), or run Carapace on Linux with Landlock and seccomp"
	}
	return "if you do not need it, set services." + name + ".enabled: false in ~/.config/gimme/local.yaml"
}
