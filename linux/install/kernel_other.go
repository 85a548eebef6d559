//go:build !linux

package install

// kernelChecks reports that the installer is for Linux.
func kernelChecks() []Check {
	return []Check{{Name: "kernel", Detail: "carapace-installer is for Linux", Fix: "on macOS install the app bundle instead"}}
}
