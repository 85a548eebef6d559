# Approvals (issue 21).
.PHONY: bench-approvals

# bench-approvals: a scripted agent session of 200 shell commands through
# carapace mcp's run_shell tool (an MCP client over stdio) on the real
# stack, counting the owner's prompts with scoped decisions against one
# per command (docs/shellapp.md, "Measured").
bench-approvals:
	CARAPACE_BENCH_APPROVALS=1 $(GO) test ./cmd/carapace -run '^TestApprovalFatigue$$' -count=1 -v | grep -E 'approvals bench|^(ok|FAIL|---)'
