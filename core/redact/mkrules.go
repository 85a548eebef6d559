//go:build ignore

// mkrules writes rules_gitleaks.go from gitleaks' default configuration in
// the module cache:
//
//	go mod download github.com/zricethezav/gitleaks/v8@v8.30.1
//	go run mkrules.go
package main

import (
	"log"
	"os"

	"github.com/gimme-tools/carapace/core/redact/internal/rulegen"
)

func main() {
	toml, err := rulegen.ReadConfig()
	if err != nil {
		log.Fatal(err)
	}
	rules, err := rulegen.Parse(toml)
	if err != nil {
		log.Fatal(err)
	}
	src, err := rulegen.Source(rules)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("rules_gitleaks.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}
