// Command gen writes Carapace's launchd plists: LaunchDaemons/*.plist and
// LaunchAgents/*.plist under -dir. It is run by `go generate ./launchd`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gimme-tools/carapace/launchd"
)

func main() {
	dir := flag.String("dir", ".", "directory to write LaunchDaemons/ and LaunchAgents/ into")
	flag.Parse()
	if err := launchd.WriteAll(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "launchd/gen:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "launchd/gen: wrote plists under", filepath.Clean(*dir))
}
