# Tokens, scopes, audit log and rate limits (issue 4, library half).
.PHONY: fuzz-tokens bench-tokens

fuzz-tokens:
	$(GO) test ./core/scope -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./core/scope -run '^$$' -fuzz FuzzAllows -fuzztime $(FUZZTIME)
	$(GO) test ./core/scope -run '^$$' -fuzz FuzzWithin -fuzztime $(FUZZTIME)
	$(GO) test ./core/token -run '^$$' -fuzz FuzzVerify -fuzztime $(FUZZTIME)
	$(GO) test ./core/token -run '^$$' -fuzz FuzzParseJWKS -fuzztime $(FUZZTIME)
	$(GO) test ./core/audit -run '^$$' -fuzz FuzzVerify -fuzztime $(FUZZTIME)

bench-tokens:
	$(GO) test ./core/token ./core/audit ./core/ratelimit -run '^$$' -bench . -benchtime 2s
