//go:build linux

package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// cgroup is a pids cgroup made for one sandboxed command. It bounds the
// number of processes even for root, whom RLIMIT_NPROC does not bind. A
// nil *cgroup is valid and does nothing.
type cgroup struct{ dir string }

// newCgroup makes a child of the helper's own pids cgroup (cgroup v1
// "pids" hierarchy, or v2 when its parent delegates the pids controller)
// with pids.max = max. It returns nil when that is not possible: an
// ordinary user without a delegated cgroup relies on RLIMIT_NPROC.
func newCgroup(max int64) *cgroup {
	if max <= 0 || helperInServiceCgroup() {
		return nil
	}
	for _, base := range pidsCgroupDirs() {
		dir := filepath.Join(base, "carapace-sandbox-"+strconv.Itoa(os.Getpid()))
		if err := os.Mkdir(dir, 0o700); err != nil {
			continue
		}
		cg := &cgroup{dir: dir}
		if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.FormatInt(max, 10)), 0); err != nil {
			cg.remove()
			continue
		}
		return cg
	}
	return nil
}

// pidsCgroupDirs returns the directories of this process's own cgroup in
// the hierarchies that may carry the pids controller: v1 first (the
// controller is always there when mounted), then v2.
func pidsCgroupDirs() []string {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	defer f.Close()
	var v1, v2 []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		switch {
		case parts[0] == "0" && parts[1] == "":
			for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
				if exists(filepath.Join(root, "cgroup.controllers")) {
					v2 = append(v2, filepath.Join(root, parts[2]))
					break
				}
			}
		case containsWord(parts[1], "pids"):
			v1 = append(v1, filepath.Join("/sys/fs/cgroup/pids", parts[2]))
		}
	}
	return append(v1, v2...)
}

func containsWord(list, w string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == w {
			return true
		}
	}
	return false
}

// add moves pid into the cgroup.
func (c *cgroup) add(pid int) error {
	if c == nil {
		return nil
	}
	err := os.WriteFile(filepath.Join(c.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
	if err != nil {
		return fmt.Errorf("move the command into %s: %w", c.dir, err)
	}
	return nil
}

// killAll kills every process in the cgroup at once where the kernel can
// (cgroup v2's cgroup.kill, Linux 5.14+). It does not walk cgroup.procs:
// a pid read there may be recycled before the kill, and the sweep over
// the helper's children reaches the same processes without that race.
func (c *cgroup) killAll() {
	if c != nil {
		os.WriteFile(filepath.Join(c.dir, "cgroup.kill"), []byte("1"), 0)
	}
}

// remove deletes the (empty) cgroup.
func (c *cgroup) remove() {
	if c != nil {
		os.Remove(c.dir)
	}
}

// helperInServiceCgroup is inServiceCgroup for the helper, asked once:
// a helper does not change cgroups, and a warm one asks before its
// request comes (warmUp).
var helperInServiceCgroup = sync.OnceValue(inServiceCgroup)

// serviceCgroupPrefix names the pids cgroup a service puts itself in
// (ServiceCgroup); commands it starts are born inside it.
const serviceCgroupPrefix = "carapace-service-"

// inServiceCgroup reports whether this process already runs in a
// service's pids cgroup: its commands are then bounded there, and moving
// each one into a cgroup of its own (a cgroup v1 migration costs ~12 ms)
// is skipped.
func inServiceCgroup() bool {
	for _, dir := range pidsCgroupDirs() {
		if strings.HasPrefix(filepath.Base(dir), serviceCgroupPrefix) {
			return true
		}
	}
	return false
}

// ServiceCgroup moves the calling process, once, into a pids cgroup of its
// own with pids.max = max, where it may (root, a writable pids hierarchy).
// Every command it starts inherits the cgroup at fork, so the sandbox
// helper does not move each command: all commands of the service share
// the bound instead of having one each. It reports whether the process is
// now in such a cgroup; elsewhere (an ordinary user) RLIMIT_NPROC bounds
// each command as before.
func ServiceCgroup(max int64) bool {
	if max <= 0 || inServiceCgroup() {
		return inServiceCgroup()
	}
	for _, base := range pidsCgroupDirs() {
		// Cgroups of earlier runs: removing an empty one succeeds, a
		// live one refuses (it still has processes).
		if old, _ := filepath.Glob(filepath.Join(base, serviceCgroupPrefix+"*")); len(old) > 0 {
			for _, o := range old {
				os.Remove(o)
			}
		}
		dir := filepath.Join(base, serviceCgroupPrefix+strconv.Itoa(os.Getpid()))
		if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
			continue
		}
		cg := &cgroup{dir: dir}
		if os.WriteFile(filepath.Join(dir, "pids.max"), []byte(strconv.FormatInt(max, 10)), 0) != nil ||
			cg.add(os.Getpid()) != nil {
			cg.remove()
			continue
		}
		return true
	}
	return false
}
