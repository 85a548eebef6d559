//go:build !linux && !darwin

package main

func platformChecks() []check { return nil }
