#!/usr/bin/env bash
# Runs every StreamEnrich test: installs what is missing, builds, runs the unit and integration tests
# (integration tests start their own ClickHouse server and embedded Kafka broker on free ports),
# validates the sample pipelines, and prints the totals as the last line.
# Point tests at real servers with STREAMENRICH_CLICKHOUSE_URL / STREAMENRICH_KAFKA_BROKERS.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

results="$(pwd)/.artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build StreamEnrich.sln -c Release -nologo -clp:ErrorsOnly

# The sample pipelines must stay valid and pass their own tests, and the generated reference must match the code.
# (Run all checks and the test suite before failing, so one run reports everything.)
se() { dotnet src/StreamEnrich/bin/Release/net10.0/streamenrich.dll "$@"; }
checks=0
se validate pipelines/ || checks=1
se test pipelines/ || checks=1
se docs --check docs/reference.md || checks=1
# The benchmark command must keep working end to end (a small run; its numbers mean nothing here).
if ! se bench --messages 3000 --format both --assignment static --baseline-runs 1 --kcat-config queued.min.messages=10000000 > "$results/bench-smoke.log" 2>&1; then
  echo "test.sh: the bench smoke run failed:"; tail -n 30 "$results/bench-smoke.log"; checks=1
fi

set +e
dotnet test StreamEnrich.sln -c Release --no-build -nologo \
  --logger "trx;LogFileName=tests.trx" --results-directory "$results" \
  --blame-hang-timeout 5m -- RunConfiguration.TestSessionTimeout=3000000
status=$?
set -e

# Totals from the TRX files (plain shell: CI machines may lack python).
passed=0; failed=0; skipped=0
for f in $(find "$results" -name '*.trx'); do
  counters=$(grep -o '<Counters [^>]*>' "$f" | head -n 1)
  get() { local v; v=$(echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"); echo "${v:-0}"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done
[ "$checks" -eq 0 ] || echo "test.sh: a pipeline, docs or bench check failed (see above)"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$checks" -eq 0 ]
