#!/usr/bin/env bash
# The benchmark (see README): StreamEnrich vs `kcat | clickhouse-client` on the same pre-loaded events.
#   ./scripts/bench.sh --messages 1000000 [--partitions 64] [--users 100000] [--out result.json]
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --aot
# Published as the container image is (Dockerfile; src/StreamEnrich/Properties/PublishProfiles/Image.pubxml): native
# AOT, one executable compiled ahead of time (about a minute, again only when the code changed). Where that build
# cannot be made (no clang, or a partial NuGet mirror without the AOT compiler), the plain JIT build is used and the run
# says so.
out=.artifacts/bench
# The bench process polls ClickHouse every 25 ms while a run is measured. As a JIT build (the fallback below; the
# image's build has no JIT) with tiered compilation on, the runtime kept re-compiling that polling code on a background thread during the runs (~20-70 ms of CPU per 0.5 s run at 100k, by
# perf), CPU taken from StreamEnrich but not from the baseline, which the bench only waits for. Off, every method is
# compiled once, before the measurements (the bench warms its polling up first). Set for the bench process only (not
# for the build below); the processes it starts (StreamEnrich, the broker) do not inherit it.
bench_env=(env DOTNET_TieredCompilation=0)
mkdir -p .artifacts
case "$(uname -m)" in aarch64|arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
# Intermediate files of an earlier publish of another kind for this runtime (framework-dependent, ReadyToRun) must not
# go into this one; the marker says the folder holds this profile's build.
marker="$out/.published-with-image-profile-aot"
[ -f "$marker" ] || rm -rf "$out" src/StreamEnrich/obj/Release/net10.0/"$rid" src/StreamEnrich.Abstractions/obj/Release/net10.0/"$rid"
if dotnet publish src/StreamEnrich/StreamEnrich.csproj -p:PublishProfile=Image -r "$rid" \
     -o "$out" -nologo -clp:ErrorsOnly >"$out.err" 2>&1; then
  touch "$marker"
  exec "${bench_env[@]}" "$out/streamenrich" bench "$@"
fi
echo "bench: the image build (native AOT) failed (see $out.err); running the plain (JIT) build, expect slower start-up and more CPU" >&2
dotnet build src/StreamEnrich/StreamEnrich.csproj -c Release -nologo -clp:ErrorsOnly
exec "${bench_env[@]}" dotnet src/StreamEnrich/bin/Release/net10.0/streamenrich.dll bench "$@"
