# Carapace. `make run` starts the stack as the current user; `make test`
# runs every test that can run on this machine.
SHELL := /bin/bash
GO ?= go
BIN := bin/carapace
PKGS := ./...
STATICCHECK := $(shell command -v staticcheck 2>/dev/null || echo $(HOME)/go/bin/staticcheck)

.PHONY: all build run install help test test-short check fmt vet staticcheck cross bench bench-parts bench-file bench-mcp fuzz deps tools

all: build

# help lists the targets a person uses.
help:
	@echo 'make run         build and start the dev stack as you (stdout: one "ready:" line)'
	@echo 'make install     copy carapace and carapace-sandbox to ~/.local/bin (root: /usr/local/bin; PREFIX=dir)'
	@echo 'make test        install test dependencies (root), then every test with the race detector'
	@echo 'make test-short  the quick tests, no race detector'
	@echo 'make check       gofmt, vet, staticcheck, cross-builds, darwin cgo via zig, race tests'
	@echo 'make bench       benchmarks as ratios against baselines measured in the same run'
	@echo 'make fuzz        every fuzz target (FUZZTIME=30s each)'
	@echo 'make deb         dist/carapace_*.deb'
	@echo 'make e2e-linux   boot Debian 12 under systemd-nspawn, install the .deb, check it (root)'
	@echo 'make bundle      dist/Carapace.app (layout on Linux; signable on a Mac)'

build:
	$(GO) build -o $(BIN) ./cmd/carapace
	$(GO) build -o bin/carapace-installer ./cmd/installer

# run keeps stdout for the ready line alone: the build's output goes to
# stderr and make prints no recipe lines.
run:
	@$(MAKE) -s --no-print-directory build >&2
	@exec ./$(BIN) dev $(ARGS)

# install puts the CLI and the sandbox helper (which must sit next to it)
# on PATH: ~/.local/bin for a user, /usr/local/bin for root.
PREFIX ?= $(if $(filter 0,$(shell id -u)),/usr/local/bin,$(HOME)/.local/bin)
install: build
	@mkdir -p $(PREFIX)
	@install -m 0755 $(BIN) $(PREFIX)/carapace
	@if [ -f bin/carapace-sandbox ]; then install -m 0755 bin/carapace-sandbox $(PREFIX)/carapace-sandbox; fi
	@echo "installed carapace in $(PREFIX)"; case ":$$PATH:" in *":$(PREFIX):"*) ;; *) echo "hint: $(PREFIX) is not on your PATH; add it (export PATH=\"$(PREFIX):\$$PATH\")";; esac

# deps installs the Debian packages the tests use (socat, bubblewrap, acl,
# shellcheck). It is a no-op when they are there already.
deps:
	@./scripts/deps.sh

test: deps build
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	cd tools && $(GO) test -count=1 ./...

test-short: build
	$(GO) test -count=1 -short $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet $(PKGS)

tools:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

staticcheck: tools
	$(STATICCHECK) $(PKGS)

cross:
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) build ./...
	GOOS=darwin GOARCH=amd64 CGO_ENABLED=0 $(GO) build ./...
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...

check: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@cd tools && $(GO) mod tidy -diff >/dev/null || { echo "tools/go.mod/go.sum are not tidy: run go mod tidy in tools"; exit 1; }
	$(GO) vet $(PKGS)
	cd tools && $(GO) vet ./...
	$(STATICCHECK) $(PKGS)
	cd tools && $(STATICCHECK) ./...
	$(MAKE) cross
	$(MAKE) darwin-cgo-check
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# bench prints every benchmark as ratios against a baseline measured in the
# same run: the gateway path (internal/bench), the sandbox, tokens, the
# WebSocket entry and the file service.
bench: deps build
	@command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null 2>&1 || echo "bench: no perf; system calls counted from /proc/PID/io (reads and writes only)"
	@# srt (npm @anthropic-ai/sandbox-runtime, installed by the bench) needs ripgrep.
	@command -v rg >/dev/null || apt-get install -y -q ripgrep >/dev/null 2>&1 || echo "bench: no ripgrep; srt will be skipped"
	@# (s), the seed's tokio daemon, builds offline from Debian's packaged crates.
	@if command -v cargo >/dev/null && ! ls -d /usr/share/cargo/registry/tokio-1.* >/dev/null 2>&1; then apt-get install -y -q 'librust-tokio+full-dev' >/dev/null 2>&1 || echo "bench: no packaged tokio crates; (s) will be skipped"; fi
	$(GO) run ./internal/bench $(BENCHARGS)
	$(MAKE) bench-parts
	$(MAKE) bench-sandbox bench-tokens websocket-bench bench-file bench-mcp bench-secrets bench-net bench-approvals

# bench-parts: where a forwarded call's CPU goes, per call and part by part
# (router, file service), from perf record -g of one more round of (d)
# and (g), apart from the measured rounds so the sampling does not slow them.
bench-parts: build
	@command -v perf >/dev/null || { echo "bench-parts: no perf (apt-get install linux-perf)"; exit 0; }; \
	d=$$(mktemp -d) && $(GO) run ./internal/bench -only dg -rounds 1 -duration 2s -perf $$d >/dev/null && \
	echo "where a forwarded call's CPU goes (perf record -g, one round of (d) and (g)):" && \
	$(GO) run ./internal/bench -parts $$d; rm -rf $$d

# bench-mcp: the TypeScript SDK's client reads a 4 KiB file 2,000 times from
# @modelcontextprotocol/server-filesystem and from carapace mcp (npm needed).
bench-mcp:
	CARAPACE_MCP_BENCH=1 $(GO) test ./cmd/carapace -run '^TestMCPBenchmark$$' -count=1 -v | grep -v '^=== RUN'

bench-file:
	$(GO) test ./core/service/file -run '^$$' -bench . -benchtime 3x

FUZZTIME ?= 30s
fuzz: fuzz-tokens fuzz-sandbox websocket-fuzz fuzz-shellapp fuzz-secrets fuzz-net
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz FuzzParseMatchesReference -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz '^FuzzParseTrusted$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz '^FuzzParseResponse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz '^FuzzWantsFD$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz '^FuzzValidMatchesEncodingJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz '^FuzzLooseStringMatchesEncodingJSON$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc/stream -run '^$$' -fuzz '^FuzzFramerInterrupted$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc/stream -run '^$$' -fuzz '^FuzzFramer$$' -fuzztime $(FUZZTIME)
	$(GO) test ./core/fsafe -run '^$$' -fuzz FuzzOpen -fuzztime $(FUZZTIME)
	$(GO) test ./core/service/file -run '^$$' -fuzz FuzzPath -fuzztime $(FUZZTIME)
	$(GO) test ./core/config -run '^$$' -fuzz FuzzConfigFiles -fuzztime $(FUZZTIME)

# Each area adds its own targets here (bundle, deb, e2e-linux, …).
-include mk/*.mk
