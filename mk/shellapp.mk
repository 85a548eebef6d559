# Shell and app services (issue 6). The lead adds fuzz-shellapp to `fuzz:`.
.PHONY: fuzz-shellapp test-shellapp

test-shellapp:
	$(GO) test -race ./core/approval/... ./core/service/shell/... ./core/service/app/...
	$(GO) test -race ./cmd/carapace -run 'TestShell|TestApp'

fuzz-shellapp:
	$(GO) test ./core/service/app -run '^$$' -fuzz '^FuzzExpandExec$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/service/app -run '^$$' -fuzz '^FuzzParseEntry$$' -fuzztime $(FUZZTIME)
