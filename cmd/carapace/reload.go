package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gimme-tools/carapace/core/router"
)

// reloadOnHUP re-reads the issuers' keys on SIGHUP, as `carapace config
// reload` does, until the returned function is called.
func reloadOnHUP(r *router.Router, log *slog.Logger) (stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-c:
				if err := r.Reload(); err != nil {
					log.Error("reload on SIGHUP", "err", err)
				} else {
					log.Info("reloaded issuer keys on SIGHUP")
				}
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(c); close(done) }
}
