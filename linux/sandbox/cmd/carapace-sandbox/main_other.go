//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "carapace-sandbox: the command sandbox exists only on Linux")
	os.Exit(126)
}
