// Command gen writes bundle/Info.plist and bundle/entitlements/*.plist. It
// is run by `go generate ./bundle`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gimme-tools/carapace/bundle"
)

func main() {
	dir := flag.String("dir", ".", "the bundle/ directory")
	flag.Parse()
	if err := bundle.WriteGenerated(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "bundle/gen:", err)
		os.Exit(1)
	}
}
