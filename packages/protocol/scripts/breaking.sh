#!/usr/bin/env bash
# `buf breaking` for packages/protocol/proto against its previous version in git (forward-compatible
# evolution, ARCHITECTURE.md "Telemetry integrity"; rules: buf.yaml `breaking`), for CI and developers:
#
#   npm run breaking -w @fleetgate/protocol         (or: bash packages/protocol/scripts/breaking.sh)
#
# The previous version, in this order:
#   1. $FLEETGATE_BUF_AGAINST, any git revision (e.g. origin/main in a pull-request job);
#   2. the latest tag reachable from HEAD's first parent — the previous release;
#   3. without tags: HEAD when the working tree changes the schemas (what is about to be committed),
#      else HEAD's first parent (the merge-base of HEAD and its first parent is that parent) — the
#      previous commit of the main line.
# The schemas of that revision are exported with `git archive` (no network, no clone; a fresh clone
# with full history is enough — a shallow one is deepened by the caller or reports "no earlier
# version"). When that revision has no packages/protocol/proto, there is nothing to break: it says so
# and passes. Exit 0: compatible or nothing to compare; buf's non-zero status (100) on a breaking
# change, which buf lists; 2: usage or environment error.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(git -C "$here" rev-parse --show-toplevel 2>/dev/null || true)"
if [ -z "$root" ]; then
  echo "breaking: not a git checkout: nothing to compare against (pass)" >&2
  exit 0
fi
package="$(realpath --relative-to="$root" "$here")"
buf="${BUF:-$root/node_modules/.bin/buf}"
[ -x "$buf" ] || buf="$(command -v buf || true)"
if [ -z "$buf" ]; then
  echo "breaking: buf is not installed (npm install brings @bufbuild/buf)" >&2
  exit 2
fi

rev() { git -C "$root" rev-parse --verify --quiet "$1^{commit}" 2>/dev/null || true; }

against="" why=""
if [ -n "${FLEETGATE_BUF_AGAINST:-}" ]; then
  against="$(rev "$FLEETGATE_BUF_AGAINST")"
  why="\$FLEETGATE_BUF_AGAINST ($FLEETGATE_BUF_AGAINST)"
  if [ -z "$against" ]; then
    echo "breaking: FLEETGATE_BUF_AGAINST=$FLEETGATE_BUF_AGAINST is not a revision here" >&2
    exit 2
  fi
elif [ -n "$(rev HEAD)" ]; then
  parent="$(rev HEAD^1)"
  tag=""
  [ -n "$parent" ] && tag="$(git -C "$root" describe --tags --abbrev=0 "$parent" 2>/dev/null || true)"
  if [ -n "$tag" ]; then
    against="$(rev "$tag")" why="the latest release tag $tag"
  elif ! git -C "$root" diff --quiet HEAD -- "$package/proto" "$package/buf.yaml" ||
    [ -n "$(git -C "$root" ls-files --others --exclude-standard -- "$package/proto")" ]; then
    against="$(rev HEAD)" why="HEAD (the working tree changes the schemas)"
  elif [ -n "$parent" ]; then
    against="$parent" why="HEAD's first parent"
  fi
fi
if [ -z "$against" ]; then
  echo "breaking: no earlier commit to compare $package/proto against (pass)"
  exit 0
fi
short="$(git -C "$root" rev-parse --short "$against")"
if ! git -C "$root" cat-file -e "$against:$package/proto" 2>/dev/null; then
  echo "breaking: $package/proto does not exist at $short ($why): no earlier version, nothing to break (pass)"
  exit 0
fi

scratch="$(mktemp -d "${TMPDIR:-/tmp}/fleetgate-breaking-XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
git -C "$root" archive "$against" -- "$package" | tar -x -C "$scratch"
base="$scratch/$package"
# A revision before buf.yaml existed: its proto folder is the module root.
[ -f "$base/buf.yaml" ] || base="$base/proto"

echo "breaking: $package/proto against $short ($why)"
cd "$here"
if "$buf" breaking --against "$base"; then
  echo "breaking: no breaking change"
else
  status=$?
  echo "breaking: the changes above break compatibility with $short; evolve the schema instead: add fields and messages, never delete, renumber or retype one (deprecate it)" >&2
  exit "$status"
fi
