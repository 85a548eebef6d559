//go:build !unix

package token

import "os"

// checkPrivate has nothing to check where Unix permissions do not exist.
func checkPrivate(*os.File, string) error { return nil }
