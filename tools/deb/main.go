// Command deb builds the Carapace Debian package with nfpm: the carapace
// binary, the carapace-sandbox helper beside it, carapace-installer, the units and sysusers/tmpfiles files from
// linux/units, and maintainer scripts that call the installer.
//
//	cd tools && go run ./deb -carapace ../bin/carapace -installer ../bin/carapace-installer -out ../dist
//
// It is in the tools module (tools/go.mod) so that nfpm and what it pulls
// in (go-git and more) stay out of the product's go.mod.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"

	"github.com/gimme-tools/carapace/linux/units"
)

func main() {
	var o options
	flag.StringVar(&o.carapace, "carapace", "bin/carapace", "the carapace binary (linux, static)")
	flag.StringVar(&o.sandbox, "sandbox", "", "the carapace-sandbox helper (default: next to -carapace)")
	flag.StringVar(&o.installer, "installer", "bin/carapace-installer", "the carapace-installer binary")
	flag.StringVar(&o.out, "out", "dist", "directory to write the .deb into")
	flag.StringVar(&o.version, "version", "0.1.0", "package version")
	flag.StringVar(&o.arch, "arch", runtime.GOARCH, "Debian architecture (amd64, arm64)")
	flag.Parse()
	if o.sandbox == "" {
		o.sandbox = filepath.Join(filepath.Dir(o.carapace), "carapace-sandbox")
	}
	path, err := build(o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "deb: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

type options struct {
	carapace, sandbox, installer, out, version, arch string
}

// build writes the package into o.out and returns its path.
func build(o options) (string, error) {
	stage, err := os.MkdirTemp("", "carapace-deb-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	contents := files.Contents{
		bin(o.carapace, units.Binary),
		// The code service starts commands through the slim helper when
		// it lies next to carapace (linux/sandbox, docs/sandbox.md).
		bin(o.sandbox, SandboxBinary),
		bin(o.installer, units.InstallerBinary),
	}
	for _, f := range units.BaseFiles() {
		src := filepath.Join(stage, "files", f.Path)
		if err := writeStage(src, f.Content); err != nil {
			return "", err
		}
		contents = append(contents, &files.Content{Source: src, Destination: f.Path,
			FileInfo: &files.ContentFileInfo{Mode: f.Mode, Owner: "root", Group: "root"}})
	}
	var sc nfpm.Scripts
	for _, s := range []struct {
		dst  *string
		name string
		body string
	}{{&sc.PostInstall, "postinst", postinst}, {&sc.PreRemove, "prerm", prerm}, {&sc.PostRemove, "postrm", postrm}} {
		*s.dst = filepath.Join(stage, s.name)
		if err := writeStage(*s.dst, []byte(s.body)); err != nil {
			return "", err
		}
	}
	info := nfpm.WithDefaults(&nfpm.Info{
		Name: "carapace", Arch: o.arch, Platform: "linux", Version: o.version,
		Section: "admin", Priority: "optional",
		Maintainer:  "Carapace maintainers <carapace@gimme.tools>",
		Description: "Decides what an AI agent may do on this computer: a router and sandboxed per-capability services under systemd.",
		Homepage:    "https://github.com/gimme-tools/carapace",
		License:     "Apache-2.0",
		Overridables: nfpm.Overridables{
			Depends:  []string{"systemd (>= 247)", "acl", "passwd"},
			Contents: contents,
			Scripts:  sc,
		},
	})
	return write(info, o.out)
}

// SandboxBinary is where the slim sandbox helper goes: beside carapace.
var SandboxBinary = filepath.Join(filepath.Dir(units.Binary), "carapace-sandbox")

func bin(src, dst string) *files.Content {
	return &files.Content{Source: src, Destination: dst,
		FileInfo: &files.ContentFileInfo{Mode: 0o755, Owner: "root", Group: "root"}}
}

func writeStage(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o755)
}

func write(info *nfpm.Info, dir string) (string, error) {
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return "", fmt.Errorf("package info: %w", err)
	}
	pkgr, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, pkgr.ConventionalFileName(info))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if err := pkgr.Package(info, f); err != nil {
		f.Close()
		return "", fmt.Errorf("package: %w", err)
	}
	return path, f.Close()
}
