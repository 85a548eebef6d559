# Linux packaging and the end-to-end test on a booted systemd (issue 7).
# `make deb` builds dist/carapace_$(DEB_VERSION)_<arch>.deb; `make
# e2e-linux` boots Debian 12 under systemd-nspawn, installs it and checks
# it (root; first run debootstraps a rootfs into /var/cache/carapace-e2e).
DEB_VERSION ?= 0.1.0
DEB_ARCH := $(shell $(GO) env GOARCH)
DEB := dist/carapace_$(DEB_VERSION)_$(DEB_ARCH).deb

.PHONY: linux-bins deb e2e-linux

linux-bins:
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -o bin/carapace ./cmd/carapace
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -o bin/carapace-installer ./cmd/installer

# The packager (nfpm and its go-git tree) lives in the tools module, out
# of the product's go.mod.
deb: linux-bins
	cd tools && $(GO) run ./deb -carapace ../bin/carapace -installer ../bin/carapace-installer \
		-out ../dist -version $(DEB_VERSION) -arch $(DEB_ARCH)

e2e-linux: deb
	CGO_ENABLED=0 $(GO) build -o bin/landlockprobe ./linux/e2e/landlockprobe
	CGO_ENABLED=0 $(GO) build -o bin/netprobe ./linux/e2e/netprobe
	linux/e2e/run.sh $(DEB) bin/landlockprobe bin/netprobe
