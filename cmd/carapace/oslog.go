package main

import (
	"github.com/gimme-tools/carapace/core/audit"
	"github.com/gimme-tools/carapace/core/stack"
	"github.com/gimme-tools/carapace/xpcbridge/oslog"
)

// On macOS with cgo, audit records also go to the unified log
// (audit.export.oslog, on by default).
func init() {
	if oslog.Available {
		stack.NewOSLog = func() (audit.Exporter, error) {
			l, err := oslog.Open("audit")
			if err != nil {
				return nil, err
			}
			return osLogExporter{l}, nil
		}
	}
}

// osLogExporter writes each record as one unified-log entry: the summary,
// then the record's JSON line for a SIEM to parse; a deny at the error
// level.
type osLogExporter struct{ l *oslog.Log }

func (osLogExporter) Name() string { return "oslog" }

func (e osLogExporter) Export(line []byte, f []audit.Field) error {
	level := oslog.Default
	if audit.Get(f, "decision") == audit.Deny {
		level = oslog.Error
	}
	return e.l.Write(level, "carapace: "+audit.Summary(f)+" "+string(line))
}

func (osLogExporter) Close() error { return nil }
