#!/usr/bin/env bash
# Runs every StreamEnrich test: installs what is missing, builds, runs the unit and integration tests
# (integration tests start their own ClickHouse server and embedded Kafka broker on free ports),
# validates the sample pipelines, and prints the totals as the last line.
# Point tests at real servers with STREAMENRICH_CLICKHOUSE_URL / STREAMENRICH_KAFKA_BROKERS.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --aot

results="$(pwd)/.artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

dotnet build StreamEnrich.sln -c Release -nologo -clp:ErrorsOnly
checks=0

# The container image's build (native AOT, the Image publish profile, as the Dockerfile and scripts/bench.sh make it):
# reflection that the JIT build allows can fail there, so the checks below and the command-line tests run it too.
case "$(uname -m)" in aarch64|arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
image="$(pwd)/.artifacts/image"
if dotnet publish src/StreamEnrich/StreamEnrich.csproj -p:PublishProfile=Image -r "$rid" -o "$image" -nologo -clp:ErrorsOnly \
     > "$results/image-publish.log" 2>&1; then
  aot="$image/streamenrich"
else
  echo "test.sh: the image build (native AOT) failed:"; tail -n 30 "$results/image-publish.log"; checks=1
  aot=""
fi

# The sample pipelines must stay valid and pass their own tests, and the generated reference must match the code,
# with both builds. (Run all checks and the test suite before failing, so one run reports everything.)
jit=(dotnet src/StreamEnrich/bin/Release/net10.0/streamenrich.dll)
check_build() {
  "$@" validate pipelines/ || checks=1
  "$@" test pipelines/ || checks=1
  "$@" docs --check docs/reference.md || checks=1
}
check_build "${jit[@]}"
[ -z "$aot" ] || check_build "$aot"
# The benchmark command must keep working end to end (a small run of the image's build, as scripts/bench.sh runs it;
# its numbers mean nothing here).
if [ -n "$aot" ]; then bench=("$aot"); else bench=("${jit[@]}"); fi
if ! "${bench[@]}" bench --messages 3000 --format both --assignment static --baseline-runs 1 --kcat-config queued.min.messages=10000000 > "$results/bench-smoke.log" 2>&1; then
  echo "test.sh: the bench smoke run failed:"; tail -n 30 "$results/bench-smoke.log"; checks=1
fi

set +e
dotnet test StreamEnrich.sln -c Release --no-build -nologo \
  --logger "trx;LogFileName=tests.trx" --results-directory "$results" \
  --blame-hang-timeout 5m -- RunConfiguration.TestSessionTimeout=3000000
status=$?
# The command-line tests once more, against the image's build (counted in the totals as tests of their own).
if [ -n "$aot" ]; then
  STREAMENRICH_CLI="$aot" dotnet test StreamEnrich.sln -c Release --no-build -nologo --filter "FullyQualifiedName~StreamEnrich.Tests.Cli.CliProcessTests" \
    --logger "trx;LogFileName=tests-image-build.trx" --results-directory "$results" \
    --blame-hang-timeout 5m || status=1
fi
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
