# Secrets: redaction (core/redact) and deny-read inside projects (issue 20).
.PHONY: fuzz-secrets bench-secrets

fuzz-secrets:
	$(GO) test ./core/redact -run '^$$' -fuzz FuzzStream -fuzztime $(FUZZTIME)

# bench-secrets: the scanner against reading the same bytes from a file,
# in one run; MiB/cpu-s is per second of the benchmark thread's own CPU
# time, which a busy machine does not change (the goal: 200 or more).
# Then what deny_read adds to a command's start: the matcher over a
# 100,000-file project's names beside the walk it rides on, the index
# that keeps that walk off a command's start (inotify), a node_modules
# entered for the masks, and the masks' mounts (0 and 10 secrets).
bench-secrets:
	$(GO) test ./core/redact -run '^$$' -bench . -benchtime 20x
	$(GO) test ./core/autorun -run '^$$' -bench DenyRead -benchtime 10x
	$(GO) test ./linux/sandbox -run '^$$' -bench StartMasked -benchtime 50x
