# Sandbox and command policy (issue 6). The escape corpus runs as root and,
# re-executed through setpriv, as a user the test creates.
.PHONY: test-sandbox bench-sandbox fuzz-sandbox

test-sandbox:
	$(GO) test -race -count=1 -v ./core/sandbox ./core/policy ./linux/sandbox

bench-sandbox:
	$(GO) test ./linux/sandbox -run '^$$' -bench StartTrue -benchtime 100x

fuzz-sandbox:
	$(GO) test ./core/policy -run '^$$' -fuzz FuzzCheck -fuzztime $(FUZZTIME)
	$(GO) test ./core/policy -run '^$$' -fuzz FuzzParseConfig -fuzztime $(FUZZTIME)
	$(GO) test ./core/sandbox -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME)
