// Command assemble builds an unsigned Carapace.app from a darwin carapace
// executable. `make bundle` runs it:
//
//	go run ./bundle/assemble -bin bin/darwin/carapace -o dist/Carapace.app
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gimme-tools/carapace/bundle"
)

func main() {
	bin := flag.String("bin", "", "the darwin carapace executable")
	out := flag.String("o", "dist/Carapace.app", "the bundle to write (replaced if present)")
	version := flag.String("version", "", "CFBundleVersion and CFBundleShortVersionString (default "+bundle.Version+")")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "assemble: -bin is required (build it with GOOS=darwin go build -o bin/darwin/carapace ./cmd/carapace)")
		os.Exit(2)
	}
	if err := bundle.Assemble(*out, *bin, *version); err != nil {
		fmt.Fprintln(os.Stderr, "assemble:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "assemble: wrote", *out)
}
