#!/usr/bin/env bash
# Installs what StreamEnrich needs on a Debian 12 machine that has the .NET 10 SDK:
# librdkafka (Kafka client native library + the mock cluster used by tests and the demo),
# clickhouse-server/-client (tests, demo, benchmark), kcat (benchmark baseline); with --aot also clang and zlib1g-dev,
# which the native AOT compiler links the container image's executable with (scripts/test.sh and scripts/bench.sh
# build it; the demo runs the JIT build and does not need them).
# Safe to run again: does nothing when everything is present.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
pkgs=(librdkafka1 librdkafka-dev clickhouse-server clickhouse-client kcat)
[ "${1:-}" != "--aot" ] || pkgs+=(clang zlib1g-dev)
for p in "${pkgs[@]}"; do
  have_pkg "$p" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "install-deps: the .NET 10 SDK is required (dotnet not found)" >&2; exit 1; }
