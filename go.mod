module github.com/gimme-tools/carapace

go 1.26.0

require (
	github.com/coder/websocket v1.8.15 // indirect
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/creachadair/jrpc2 v1.3.6 // indirect
	github.com/creachadair/mds v0.31.0 // indirect
	github.com/elastic/go-seccomp-bpf v1.6.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/keybase/go-keychain v0.0.1 // indirect
	github.com/landlock-lsm/go-landlock v0.11.0 // indirect
	github.com/peterbourgon/ff/v3 v3.4.0 // indirect
	golang.org/x/net v0.41.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/time v0.16.0
	gopkg.in/yaml.v3 v3.0.1 // indirect
	howett.net/plist v1.0.1 // indirect
)
