package stack

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/errs"
)

// NewOSLog returns the macOS unified-log exporter; nil where there is
// none (set by the darwin cgo build).
var NewOSLog func() (audit.Exporter, error)

// exports starts the audit exporters audit.export asks for: journald
// where it runs (unless journald: false), the unified log on macOS
// (unless oslog: false), the syslog collector when one is named. An
// exporter asked for by name that cannot start is an error; so is none at
// all under a managed policy that requires export (audit.export_required):
// the router then refuses to start rather than run unseen.
func (st *Settings) exports() (*audit.Exports, error) {
	x := st.System.Audit.Export
	var out []audit.Exporter
	var why []error
	try := func(flag *bool, name string, open func() (audit.Exporter, error)) error {
		if flag != nil && !*flag {
			return nil
		}
		e, err := open()
		if err != nil {
			if flag != nil { // asked for by name
				return errs.E("audit.export."+name, errs.Unavailable, errs.ReasonAuditExport,
					errs.Hint("set audit.export."+name+": false in the system config, or run where it is available"), err)
			}
			why = append(why, fmt.Errorf("%s: %w", name, err))
			return nil
		}
		out = append(out, e)
		return nil
	}
	if err := try(x.Journald, "journald", func() (audit.Exporter, error) { return audit.NewJournald() }); err != nil {
		return nil, err
	}
	if NewOSLog != nil {
		if err := try(x.OSLog, "oslog", NewOSLog); err != nil {
			return nil, err
		}
	}
	if x.Syslog.Address != "" {
		cfg, err := syslogTLS(x.Syslog.Address, x.Syslog.ServerName, x.Syslog.CAFile, x.Syslog.CertFile, x.Syslog.KeyFile)
		if err != nil {
			return nil, errs.E("audit.export.syslog", errs.InvalidParams, errs.ReasonBadConfig,
				errs.Hint("check the files named in audit.export.syslog in the system config"), err)
		}
		out = append(out, audit.NewSyslog(x.Syslog.Address, cfg))
	}
	if len(out) == 0 && st.Managed != nil && st.Managed.Audit.ExportRequired {
		return nil, errs.E("audit export", errs.Unavailable, errs.ReasonAuditExportRequired,
			errs.Hint("the managed policy ("+st.Managed.Source+") requires audit export: run under journald or set audit.export.syslog in the system config"),
			errors.Join(append([]error{errors.New("no exporter could start")}, why...)...))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return audit.NewExports(out...), nil
}

func syslogTLS(addr, name, caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(addr)
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
	}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}
