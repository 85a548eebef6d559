# Carapace. `make run` starts the stack as the current user; `make test`
# runs every test that can run on this machine.
SHELL := /bin/bash
GO ?= go
BIN := bin/carapace
PKGS := ./...
STATICCHECK := $(shell command -v staticcheck 2>/dev/null || echo $(HOME)/go/bin/staticcheck)

.PHONY: all build run test test-short check fmt vet staticcheck cross bench fuzz deps tools

all: build

build:
	$(GO) build -o $(BIN) ./cmd/carapace

run: build
	./$(BIN) dev $(ARGS)

# deps installs the Debian packages the tests use (socat, bubblewrap, acl,
# shellcheck). It is a no-op when they are there already.
deps:
	@./scripts/deps.sh

test: deps build
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

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
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)
	$(MAKE) cross
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

bench: deps build
	$(GO) run ./internal/bench $(BENCHARGS)

FUZZTIME ?= 30s
fuzz:
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	$(GO) test ./core/jsonrpc -run '^$$' -fuzz FuzzFramer -fuzztime $(FUZZTIME)

# Each area adds its own targets here (bundle, deb, e2e-linux, …).
-include mk/*.mk
