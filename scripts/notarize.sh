#!/usr/bin/env bash
# notarize.sh signs, notarizes and staples Carapace.app.
#
# Usage: scripts/notarize.sh [--dry-run] [--rcodesign] [--app PATH] [--zip PATH]
#                            [--entitlements DIR]
#
# On a Mac (default) it uses Apple's tools:
#   SIGN_IDENTITY   "Developer ID Application: Name (TEAMID)" in the login keychain
#   NOTARY_PROFILE  a notarytool keychain profile, made once with
#                   xcrun notarytool store-credentials <name> --apple-id … --team-id …
# With --rcodesign (Linux CI) it uses rcodesign (apple-codesign):
#   P12_FILE, P12_PASSWORD_FILE  the Developer ID Application certificate and key
#   ASC_API_KEY_FILE             App Store Connect API key JSON, made with
#                                rcodesign encode-app-store-connect-api-key
#
# Code is signed inside-out: every executable other than the main one, then
# the bundle (which signs the main executable), each with the hardened
# runtime (--options runtime), a secure timestamp and its own entitlements
# from bundle/entitlements/<name>.plist. --deep is used only to verify,
# never to sign: it would give nested code the wrong entitlements.
# --dry-run prints the commands instead of running them.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
app=dist/Carapace.app
zip=
ents=$(dirname "$here")/bundle/entitlements
dry=0
tool=codesign

die() { echo "notarize: $*" >&2; exit 2; }

run() {
	if [ "$dry" -eq 1 ]; then
		printf '+'
		printf ' %q' "$@"
		printf '\n'
	else
		"$@"
	fi
}

while [ $# -gt 0 ]; do
	case $1 in
	--dry-run) dry=1 ;;
	--rcodesign) tool=rcodesign ;;
	--app) app=${2:?--app needs a path}; shift ;;
	--zip) zip=${2:?--zip needs a path}; shift ;;
	--entitlements) ents=${2:?--entitlements needs a directory}; shift ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	shift
done

app=${app%/}
[ -d "$app/Contents/MacOS" ] || die "$app is not an app bundle (hint: run make bundle first)"
zip=${zip:-${app%.app}.zip}
main=$(/usr/bin/env plutil -extract CFBundleExecutable raw "$app/Contents/Info.plist" 2>/dev/null || true)
if [ -z "$main" ]; then
	# plutil exists only on macOS; read the key from the XML elsewhere.
	main=$(sed -n '/<key>CFBundleExecutable<\/key>/{n;s/.*<string>\(.*\)<\/string>.*/\1/p;}' "$app/Contents/Info.plist")
fi
[ -n "$main" ] || die "no CFBundleExecutable in $app/Contents/Info.plist"

# executables lists the bundle's executables, nested code first.
executables() {
	local f
	for f in "$app"/Contents/Helpers/* "$app"/Contents/MacOS/*; do
		[ -f "$f" ] && [ -x "$f" ] && [ "$(basename "$f")" != "$main" ] && echo "$f"
	done
	return 0
}

# entitlements prints the entitlements file for executable $1;
# check_entitlements has made sure each exists.
entitlements() { echo "$ents/$1.plist"; }

check_entitlements() {
	local exe e
	while IFS= read -r exe; do
		e=$(entitlements "$(basename "$exe")")
		[ -f "$e" ] || die "no entitlements for $(basename "$exe"): expected $e (hint: go generate ./bundle)"
	done < <(executables; echo "$main")
}

sign_apple() {
	[ -n "${SIGN_IDENTITY:-}" ] || die 'SIGN_IDENTITY is not set (hint: export SIGN_IDENTITY="Developer ID Application: Name (TEAMID)"; list yours with: security find-identity -v -p codesigning)'
	[ -n "${NOTARY_PROFILE:-}" ] || die 'NOTARY_PROFILE is not set (hint: xcrun notarytool store-credentials carapace-notary --apple-id you@example.com --team-id TEAMID, then export NOTARY_PROFILE=carapace-notary)'
	if [ "$dry" -eq 0 ] && ! security find-identity -v -p codesigning | grep -qF "$SIGN_IDENTITY"; then
		die "signing identity \"$SIGN_IDENTITY\" is not in the keychain (hint: security find-identity -v -p codesigning)"
	fi
	local exe
	while IFS= read -r exe; do
		run codesign --force --timestamp --options runtime --entitlements "$(entitlements "$(basename "$exe")")" --sign "$SIGN_IDENTITY" "$exe"
	done < <(executables)
	run codesign --force --timestamp --options runtime --entitlements "$(entitlements "$main")" --sign "$SIGN_IDENTITY" "$app"
	run codesign --verify --strict --deep --verbose=2 "$app"
	run ditto -c -k --keepParent "$app" "$zip"
	run xcrun notarytool submit "$zip" --keychain-profile "$NOTARY_PROFILE" --wait
	run xcrun stapler staple "$app"
	run xcrun stapler validate "$app"
	run spctl --assess --type execute --verbose=2 "$app"
	run ditto -c -k --keepParent "$app" "$zip"
}

sign_rcodesign() {
	local v
	for v in P12_FILE P12_PASSWORD_FILE ASC_API_KEY_FILE; do
		[ -n "${!v:-}" ] || die "$v is not set (hint: see the header of $0)"
		[ "$dry" -eq 1 ] || [ -f "${!v}" ] || die "$v=${!v}: no such file"
	done
	[ "$dry" -eq 1 ] || command -v rcodesign >/dev/null || die "rcodesign is not installed (hint: cargo install apple-codesign)"
	local args=(--p12-file "$P12_FILE" --p12-password-file "$P12_PASSWORD_FILE" --code-signature-flags runtime)
	local exe rel
	while IFS= read -r exe; do
		rel=${exe#"$app"/}
		args+=(--entitlements-xml-path "$rel:$(entitlements "$(basename "$exe")")")
	done < <(executables)
	args+=(--entitlements-xml-path "Contents/MacOS/$main:$(entitlements "$main")")
	run rcodesign sign "${args[@]}" "$app"
	run rcodesign verify "$app/Contents/MacOS/$main"
	run rcodesign notary-submit --api-key-file "$ASC_API_KEY_FILE" --staple "$app"
	archive
}

# archive zips the stapled app for distribution: ditto on a Mac, zip
# elsewhere (both keep the bundle's symlinks and the top directory).
archive() {
	if command -v ditto >/dev/null; then
		run ditto -c -k --keepParent "$app" "$zip"
		return
	fi
	command -v zip >/dev/null || [ "$dry" -eq 1 ] || die "neither ditto nor zip is installed (hint: apt-get install zip)"
	local abs
	abs=$(cd "$(dirname "$zip")" && pwd)/$(basename "$zip")
	run env -C "$(dirname "$app")" zip -qry "$abs" "$(basename "$app")"
}

check_entitlements
case $tool in
codesign) sign_apple ;;
rcodesign) sign_rcodesign ;;
esac
if [ "$dry" -eq 1 ]; then
	echo "notarize: dry run: nothing was signed" >&2
else
	echo "notarize: done: $app (signed, notarized, stapled) and $zip" >&2
fi
