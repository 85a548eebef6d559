# Network for sandboxed commands (issue 19, docs/network.md): the proxy
# against direct loopback, and a command's start with network on against
# bwrap, in one run.
.PHONY: bench-net fuzz-net

bench-net:
	CARAPACE_NET_BENCH=1 $(GO) test ./core/egress -run '^TestNetBenchmark$$' -count=1 -v | grep -E 'bench_test|^(ok|FAIL)'
	CARAPACE_NET_BENCH=1 $(GO) test ./linux/sandbox -run '^TestEgressStartBenchmark$$' -count=1 -v | grep -E 'egress_linux_test|^(ok|FAIL)'

fuzz-net:
	$(GO) test ./core/egress -run '^$$' -fuzz FuzzRule -fuzztime $(FUZZTIME)
	$(GO) test ./core/egress -run '^$$' -fuzz FuzzServeConn -fuzztime $(FUZZTIME)
