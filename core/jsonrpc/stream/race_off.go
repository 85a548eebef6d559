//go:build !race

package stream

func raceReleaseIO() {}
func raceAcquireIO() {}
