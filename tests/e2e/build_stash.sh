#!/usr/bin/env bash
# Builds the real Stash v0.30.1 server binary that the end-to-end tier runs.
#
# The source comes from the Go module proxy only (`go mod download`); nothing of Stash's
# source is kept in this repository. The steps follow Stash's Makefile: gqlgen code
# generation (`go generate ./cmd/stash`), an empty placeholder for the web UI build that
# the binary embeds, and a CGO build of ./cmd/stash with the tags
# `sqlite_stat4 sqlite_math_functions`.
#
# Output: $TAGMANAGER_STASH_BIN when set, else
#         ${XDG_CACHE_HOME:-$HOME/.cache}/tagmanager-e2e/stash-v0.30.1/stash
# Nothing is done when that binary exists and answers `--version`.
# Exit codes: 0 built or already there; 1 a step failed; 2 the module proxy refused the
# download (its message is printed); 3 Go is not installed.
set -euo pipefail

STASH_MODULE="github.com/stashapp/stash"
STASH_VERSION="v0.30.1"
BUILD_TAGS="sqlite_stat4 sqlite_math_functions"
CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}"
TARGET="${TAGMANAGER_STASH_BIN:-$CACHE_HOME/tagmanager-e2e/stash-$STASH_VERSION/stash}"

say() { echo "build_stash: $*" >&2; }

if [ -x "$TARGET" ] && "$TARGET" --version >/dev/null 2>&1; then
    say "Stash $STASH_VERSION already built: $TARGET ($("$TARGET" --version 2>&1 | head -n 1))"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    say "error: Go is not installed, so Stash $STASH_VERSION cannot be built (install Go 1.24+)"
    exit 3
fi

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/tagmanager-stash-build.XXXXXX")"
TMP_BINARY=""
cleanup() {
    chmod -R u+w "$WORK_DIR" 2>/dev/null || true
    rm -rf "$WORK_DIR"
    if [ -n "$TMP_BINARY" ]; then rm -f "$TMP_BINARY"; fi
}
trap cleanup EXIT

# `go mod download -json` prints one JSON object; on failure its "Error" field holds the
# proxy's answer. python3 (which the tests need anyway) reads its fields.
json_field() {
    python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1]) or "")' "$1"
}

say "downloading $STASH_MODULE@$STASH_VERSION through the Go module proxy ($(go env GOPROXY))"
set +e
DOWNLOAD_JSON="$(cd "$WORK_DIR" && go mod download -json "$STASH_MODULE@$STASH_VERSION" 2>"$WORK_DIR/download.err")"
DOWNLOAD_STATUS=$?
set -e
DOWNLOAD_ERROR="$(printf '%s' "$DOWNLOAD_JSON" | json_field Error 2>/dev/null || true)"
if [ "$DOWNLOAD_STATUS" -ne 0 ] || [ -n "$DOWNLOAD_ERROR" ]; then
    say "error: the Go module proxy did not provide $STASH_MODULE@$STASH_VERSION."
    say "the proxy answered:"
    printf '%s\n' "${DOWNLOAD_ERROR:-$(cat "$WORK_DIR/download.err")}" | sed 's/^/    /' >&2
    say "Stash cannot be built on this machine; the end-to-end tier needs a binary at $TARGET"
    say "(or \$TAGMANAGER_STASH_BIN pointing at a Stash $STASH_VERSION server binary)."
    exit 2
fi
MODULE_DIR="$(printf '%s' "$DOWNLOAD_JSON" | json_field Dir)"
if [ -z "$MODULE_DIR" ] || [ ! -d "$MODULE_DIR" ]; then
    say "error: go mod download reported no source folder for $STASH_MODULE@$STASH_VERSION"
    exit 1
fi

# The module cache is read-only and code generation writes into the tree: build a copy.
SOURCE_DIR="$WORK_DIR/stash"
cp -R "$MODULE_DIR" "$SOURCE_DIR"
chmod -R u+w "$SOURCE_DIR"
cd "$SOURCE_DIR"

say "generating the GraphQL server code (gqlgen)"
go generate ./cmd/stash

# The binary embeds ui/v2.5/build; the tier never uses the web UI, so a placeholder will do.
mkdir -p ui/v2.5/build
touch ui/v2.5/build/index.html

GITHASH="$(printf '%s' "$DOWNLOAD_JSON" | python3 -c 'import json, sys; print(((json.load(sys.stdin).get("Origin") or {}).get("Hash") or "unknown")[:9])')"
BUILD_DATE="$(date -u '+%Y-%m-%d %H:%M:%S')"
LDFLAGS="-X 'github.com/stashapp/stash/internal/build.buildstamp=$BUILD_DATE'"
LDFLAGS="$LDFLAGS -X 'github.com/stashapp/stash/internal/build.githash=$GITHASH'"
LDFLAGS="$LDFLAGS -X 'github.com/stashapp/stash/internal/build.version=$STASH_VERSION'"
LDFLAGS="$LDFLAGS -X 'github.com/stashapp/stash/internal/build.officialBuild=false'"

mkdir -p "$(dirname "$TARGET")"
TMP_BINARY="$TARGET.partial.$$"
say "building ./cmd/stash (CGO, tags: $BUILD_TAGS); the first build takes several minutes"
CGO_ENABLED=1 go build -o "$TMP_BINARY" -tags "$BUILD_TAGS" -ldflags "$LDFLAGS" ./cmd/stash

"$TMP_BINARY" --version >/dev/null
mv -f "$TMP_BINARY" "$TARGET"
TMP_BINARY=""
say "built $TARGET ($("$TARGET" --version 2>&1 | head -n 1))"
