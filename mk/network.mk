# Network for sandboxed commands (issue 19, docs/network.md): the path a
# command's connections take (the forwarder, descriptor 5, the proxy in its
# own process) against direct loopback, and a command's start with network
# on against `bwrap --unshare-all true`, in one run; one row per target.
.PHONY: bench-net fuzz-net

bench-net:
	CARAPACE_NET_BENCH=1 $(GO) test ./linux/sandbox -run '^TestEgress(Net|Start)Benchmark$$' -count=1 -v | grep -E 'egressbench_linux_test|^(ok|FAIL)'

fuzz-net:
	$(GO) test ./core/egress -run '^$$' -fuzz FuzzRule -fuzztime $(FUZZTIME)
	$(GO) test ./core/egress -run '^$$' -fuzz FuzzServeConn -fuzztime $(FUZZTIME)
