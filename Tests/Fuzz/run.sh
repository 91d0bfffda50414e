#!/usr/bin/env bash
# Builds the libFuzzer targets (Tests/Fuzz, into .build-fuzz) and runs each for
# $FUZZ_SECONDS (default 60), bounded by -max_total_time and a timeout wrapper.
#
#   Tests/Fuzz/run.sh [target...]        targets: frame-decoder client-request room state-file
#
# Corpora: each run starts from the committed seeds (Tests/Fuzz/Corpus/<target>/) and the
# working corpus it grew before (.build-fuzz/corpus/<target>/, not committed). Any input
# that crashes or fails a check is written to Tests/Fuzz/Regressions/<target>/, where the
# test suite's FuzzRegressionTests replay it through the same check: commit it with the fix.
# Prints one summary line per target; exits 1 if any target found something.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="$root/.build-fuzz"
seconds="${FUZZ_SECONDS:-60}"
swift="${SWIFT:-swift}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frame-decoder client-request room state-file)

case "$seconds" in ''|*[!0-9]*) echo "FUZZ_SECONDS must be a whole number of seconds" >&2; exit 2;; esac

# SwiftPM's --sanitize fuzzer compiles the targets with -parse-as-library and links
# libFuzzer's main. The -Xswiftc flag is what instruments: swiftc keeps only the last
# -sanitize= it sees, and --sanitize fuzzer --sanitize address would leave address alone.
echo "building fuzz targets into $scratch"
mkdir -p "$scratch"
if ! (cd "$here" && "$swift" build -c release --scratch-path "$scratch" \
        --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address >"$scratch/build.log" 2>&1); then
    cat "$scratch/build.log" >&2
    exit 2
fi
grep -v "asan_extra_spill_area" "$scratch/build.log" | tail -1
bin="$scratch/release"
for target in "${targets[@]}"; do
    [ -x "$bin/fuzz-$target" ] || { echo "no fuzz target $target (built: $(cd "$bin" && ls fuzz-* 2>/dev/null | grep -v product | tr '\n' ' '))" >&2; exit 2; }
done

# The Swift runtime's backtracer would hold a crashing fuzzer for up to 30 s per crash;
# libFuzzer's own handler reports and saves the input. Deterministic hashing makes the
# Room's dictionary walks (and so a crash) repeat exactly when an input is replayed.
export SWIFT_BACKTRACE=enable=no
export SWIFT_DETERMINISTIC_HASHING=1
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:symbolize=1}"

status=0
summaries=()
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    seeds="$here/Corpus/$target"
    regressions="$here/Regressions/$target"
    log="$scratch/fuzz-$target.log"
    mkdir -p "$corpus" "$seeds" "$regressions"
    before=$(find "$regressions" -type f | wc -l)
    max_len=4096
    extra=()
    # Room inputs are event sequences: let them grow to a few hundred events quickly.
    [ "$target" = room ] && { max_len=2048; extra=(-len_control=20); }
    echo "fuzzing $target for $seconds s (log: $log)"
    set +e
    timeout --signal=TERM --kill-after=30 $((seconds + 120)) \
        "$bin/fuzz-$target" "$corpus" "$seeds" \
        -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -max_len="$max_len" \
        -print_final_stats=1 -artifact_prefix="$regressions/" "${extra[@]}" >"$log" 2>&1
    rc=$?
    set -e
    after=$(find "$regressions" -type f | wc -l)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p' <<<"$last")
    size=$(find "$corpus" -type f | wc -l)
    line="$target: ${runs:-?} runs in ${seconds} s, ${speed:-?} exec/s, ${cov:-cov ?}, corpus $size inputs"
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        status=1
        line="$line, FAILED (exit $rc, $((after - before)) new input(s) in $regressions)"
        grep -E "Fatal error|ERROR: (libFuzzer|AddressSanitizer)|check failed|SUMMARY" "$log" | head -5 | cut -c1-400 || true
    fi
    summaries+=("$line")
done
echo
printf '%s\n' "${summaries[@]}"
exit "$status"
