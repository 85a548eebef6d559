# Sandbox and command policy (issue 6). The escape corpus runs as root and,
# re-executed through setpriv, as a user the test creates.
.PHONY: test-sandbox bench-sandbox fuzz-sandbox sandbox-helper

# SANDBOX_HELPER is the slim sandbox helper, next to bin/carapace: the code
# service starts it instead of `carapace sandbox-exec` when it is there
# (docs/sandbox.md). Linux only; elsewhere the target does nothing.
SANDBOX_HELPER := bin/carapace-sandbox

sandbox-helper:
ifeq ($(shell $(GO) env GOOS),linux)
	CGO_ENABLED=0 $(GO) build -trimpath -o $(SANDBOX_HELPER) ./linux/sandbox/cmd/carapace-sandbox
endif

# Every build of carapace, and the .deb, comes with the helper.
build linux-bins: sandbox-helper

test-sandbox:
	$(GO) test -race -count=1 -v ./core/sandbox ./core/policy ./linux/sandbox

bench-sandbox:
	$(GO) test ./linux/sandbox -run '^$$' -bench StartTrue -benchtime 100x

fuzz-sandbox:
	$(GO) test ./core/policy -run '^$$' -fuzz FuzzCheck -fuzztime $(FUZZTIME)
	$(GO) test ./core/policy -run '^$$' -fuzz FuzzParseConfig -fuzztime $(FUZZTIME)
	$(GO) test ./core/sandbox -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/sandbox -run '^$$' -fuzz FuzzDecodeRequest -fuzztime $(FUZZTIME)
