// Package autorun lists the files the owner's own tools run, or read as
// configuration that names a program to run, without the owner asking for
// that file: git's hooks and config (core.fsmonitor runs on every
// `git status`, a shell prompt's included), shell start-up files, direnv's
// .envrc, editor tasks, MCP and agent settings, and Carapace's own
// configuration and state.
//
// A sandboxed command or a file-service write token must never leave code
// in one of them: the owner's next `git status`, new shell or editor
// window would run it as the owner, outside every sandbox. The file
// service refuses writes that match Globs (and OwnPaths); the code
// service makes what Find returns read-only for a command and, after it,
// quarantines what Find finds that was not there before (see Diff).
//
// Files the owner runs on purpose — a Makefile, package.json scripts,
// node_modules/.bin, the project's sources — are not here: the owner runs
// them by asking for a build, and reviews them like any change.
//
// The same walk lists the secrets a command may not read (FindWith's
// Mask, core/denyread). An Index keeps the walk's answer true with
// inotify, so that a command's start does not walk its tree.
package autorun

import "strings"

// Names are the entries, by name, that tools run or read for programs to
// run. A name with a slash is that many consecutive components; every
// entry covers a file or a directory and everything below it.
//
//   - .git: a repository, or a file holding "gitdir: <dir>" that makes
//     <dir> one: hooks, config (core.fsmonitor, core.pager, filters,
//     aliases…), config.worktree, the submodules' repositories.
//   - .husky, .githooks: where core.hooksPath usually points; Find also
//     follows each repository's own core.hooksPath.
//   - shell start-up files, read by every new shell of the owner.
//   - .gitconfig, .config/git: the owner's global git configuration.
//   - .envrc: direnv runs it on cd (after `direnv allow`, which is keyed
//     to the file's content, so a rewrite asks again — kept anyway).
//   - .vscode, .idea: tasks, launch and run configurations, settings that
//     name programs (terminal profiles, formatters, linters).
//   - .mcp.json and agent folders: MCP servers and hooks an agent starts.
//   - .config/gimme: Carapace's own owner configuration (policy, folders).
//
// .gitmodules is not listed: git refuses `update = !command` from it
// (only .git/config may set one), and what it may name as a URL is
// bounded by protocol.allow.
var Names = []string{
	".git", ".husky", ".githooks",
	".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
	".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout", ".config/fish",
	".gitconfig", ".config/git",
	".envrc",
	".vscode", ".idea",
	".mcp.json", ".claude", ".codex", ".cursor", ".gemini", ".continue", ".windsurf",
	".config/gimme",
}

// Globs returns Names as the file service's deny globs: each matches
// its components anywhere in a path, so the entry and all below it.
func Globs() []string {
	return append([]string(nil), Names...)
}

// Skip are directories Find does not descend into: package trees the
// owner's tools run only when asked to (npm scripts already run what is
// in them), and whose size (often 10⁵ entries) would dominate the walk.
// FindWith with a Mask enters them for the Mask alone: a secret in a
// package tree is masked like any other (the code service's Index keeps
// that walk off a command's start).
var Skip = []string{"node_modules"}

// Within reports whether p is dir or lies below it; both absolute and
// clean.
func Within(dir, p string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}
