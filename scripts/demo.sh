#!/usr/bin/env bash
# The demo: installs what is missing, builds, then starts a private ClickHouse server and an embedded Kafka
# broker, produces sample web events, runs pipelines/web-events.yaml and prints what arrived.
# Everything runs in a temp folder on free ports and is removed afterwards; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
dotnet build src/StreamEnrich/StreamEnrich.csproj -c Release -nologo -clp:ErrorsOnly
exec dotnet src/StreamEnrich/bin/Release/net10.0/streamenrich.dll demo "$@"
