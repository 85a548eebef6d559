package main

import (
	"os"
	"os/user"
	"strconv"
)

// homeOf returns uid's home directory: $HOME for ourselves, else the
// password database's entry.
func homeOf(uid int) string {
	if uid == os.Geteuid() {
		if h, err := os.UserHomeDir(); err == nil {
			return h
		}
	}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.HomeDir
	}
	return "/nonexistent"
}
