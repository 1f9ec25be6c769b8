#!/usr/bin/env bash
# The benchmark (see README): StreamEnrich vs `kcat | clickhouse-client` on the same pre-loaded events.
#   ./scripts/bench.sh --messages 1000000 [--partitions 64] [--users 100000] [--out result.json]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
dotnet build src/StreamEnrich/StreamEnrich.csproj -c Release -nologo -clp:ErrorsOnly
exec dotnet src/StreamEnrich/bin/Release/net10.0/streamenrich.dll bench "$@"
