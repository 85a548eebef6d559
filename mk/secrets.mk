# Secrets: redaction (core/redact) and deny-read inside projects (issue 20).
.PHONY: fuzz-secrets bench-secrets

fuzz-secrets:
	$(GO) test ./core/redact -run '^$$' -fuzz FuzzStream -fuzztime $(FUZZTIME)

# bench-secrets: the scanner against reading the same bytes from a file,
# in one run; MiB/cpu-s is per second of the benchmark thread's own CPU
# time, which a busy machine does not change (the goal: 200 or more).
bench-secrets:
	$(GO) test ./core/redact -run '^$$' -bench . -benchtime 20x
