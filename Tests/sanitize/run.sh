#!/usr/bin/env bash
# `make test-sanitize`: the Swift test suites under AddressSanitizer, then ThreadSanitizer.
#
#   Tests/sanitize/run.sh [address] [thread]      (default: both)
#
# Each sanitizer has its own scratch path (.build-asan, .build-tsan), so the normal build is
# untouched. chatroomd and chatroom are built there with the same sanitizer first, and the
# integration tests spawn those (CHATROOMD_BIN, CHATROOM_BIN). Every sanitized process (the
# test runner and each daemon it spawns) writes its reports to <scratch>/reports/ rather
# than to a stderr nobody may read; any report there fails the run, and is printed.
# With address, the hostile-input Python tests (nothing lost, the original client's
# protocol errors) also run against the sanitized daemon.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
swift="${SWIFT:-swift}"
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
cd "$root"

# The backtracer would add its own report to a sanitizer's, and may hold a crashing
# process for its timeout; the sanitizers print the stacks that matter.
export SWIFT_BACKTRACE=enable=no

status=0
summaries=()
for sanitizer in "${sanitizers[@]}"; do
    case "$sanitizer" in
        address) short=asan ;;
        thread) short=tsan ;;
        *) echo "unknown sanitizer $sanitizer (address or thread)" >&2; exit 2 ;;
    esac
    scratch="$root/.build-$short"
    reports="$scratch/reports"
    rm -rf "$reports"
    mkdir -p "$reports"
    echo "== $sanitizer: building into $scratch"
    if ! "$swift" build --sanitize="$sanitizer" --scratch-path "$scratch"; then
        summaries+=("$sanitizer: build failed")
        status=1
        continue
    fi
    bin="$scratch/debug"
    export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1"
    export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
    export TSAN_OPTIONS="log_path=$reports/tsan:halt_on_error=0:second_deadlock_stack=1:suppressions=$here/tsan.supp"
    echo "== $sanitizer: swift test"
    CHATROOMD_BIN="$bin/chatroomd" CHATROOM_BIN="$bin/chatroom" \
        "$swift" test --sanitize="$sanitizer" --scratch-path "$scratch"
    tests=$?
    python=0
    if [ "$sanitizer" = address ]; then
        echo "== $sanitizer: Python hostile-input tests against the sanitized daemon"
        CHATROOMD_BIN="$bin/chatroomd" CHATROOM_BIN="$bin/chatroom" \
            python3 -m unittest discover -s Tests/python -p 'test_nothing_lost.py' -v
        python=$?
        CHATROOMD_BIN="$bin/chatroomd" CHATROOM_BIN="$bin/chatroom" \
            python3 -m unittest discover -s Tests/python -p 'test_original_client.py'
        python=$(( python | $? ))
    fi
    found=$(find "$reports" -type f -size +0 | sort)
    if [ -n "$found" ]; then
        echo "== $sanitizer: reports in $reports:"
        for file in $found; do echo "--- $file"; head -c 20000 "$file"; done
    fi
    count=$(printf '%s' "$found" | grep -c . || true)
    line="$sanitizer: swift test exit $tests"
    [ "$sanitizer" = address ] && line="$line, python exit $python"
    line="$line, $count report file(s)"
    if [ "$tests" -ne 0 ] || [ "$python" -ne 0 ] || [ "$count" -ne 0 ]; then
        status=1
        line="$line: FAILED"
    fi
    summaries+=("$line")
done
echo
printf '%s\n' "${summaries[@]}"
exit "$status"
