# Sourced by the scripts that run things: puts the project's pinned Node first on PATH, so that
# every `node`, `npx`, `npm run`, vitest worker and child process (they use `node` or
# process.execPath) runs on it, and points node-gyp (pkcs11js's install) at that Node's own
# headers instead of downloading them. Installs the Node first when missing (setup-node.sh).
_anaf_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=node-version.sh
. "$_anaf_root/scripts/node-version.sh"
bash "$_anaf_root/scripts/setup-node.sh"
ANAF_NODE_HOME="$_anaf_root/.tools/node-$NODE_VERSION-linux-x64"
case ":$PATH:" in
  "$ANAF_NODE_HOME/bin:"*) ;;
  *) PATH="$ANAF_NODE_HOME/bin:$PATH" ;;
esac
export PATH ANAF_NODE_HOME
export npm_config_nodedir="$ANAF_NODE_HOME"
unset _anaf_root
if [ "$(node --version)" != "v$NODE_VERSION" ]; then
  echo "node-env: 'node' on PATH is $(command -v node) $(node --version), not v$NODE_VERSION" >&2
  return 1 2>/dev/null || exit 1
fi
