#!/usr/bin/env bash
# The restart scenario of `make bench` (docs/benchmarks.md, "Restarts"): chatroomd under a
# real systemd 252 (Tests/systemd/sandbox.sh) with MEMBERS members (default 10,000), each
# from its own loopback address, through `systemctl restart` (the file descriptor store)
# and `kill -9` (the crash journal), with talkers chatting throughout and every member
# checking its lines (Tests/systemd/restart_inside.py). Reports the pause, the time to
# take the snapshot, PID 1's CPU time for storing the connections and for the restart,
# and the crash restore; rewrites the restart section of MARKDOWN if given.
#
# Usage: restart.sh STAGE_DIR [MARKDOWN]   (STAGE_DIR: `make install DESTDIR=... PREFIX=/usr`)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
stage=$(cd "${1:?usage: restart.sh STAGE_DIR [MARKDOWN]}" && pwd)
markdown=${2:-}
sandbox="$root/Tests/systemd/sandbox.sh"
members=${MEMBERS:-10000}

if ! why=$("$sandbox" available 2>&1); then
  echo "restart bench: skipped: $why"
  exit 0
fi
export SDS_BASE="/tmp/chatroomd-restart-bench-$$"
export SDS_LIFETIME=600
name=restart
out=$(mktemp -d /tmp/chatroomd-restart-bench-out.XXXXXX)
cleanup() {
  "$sandbox" stop "$name" >/dev/null 2>&1 || true
  rmdir "$SDS_BASE" 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

SDS_BIND="$stage $root/Tests/systemd $out:rw" "$sandbox" start "$name"
tar -C "$stage" -cf - . | "$sandbox" exec "$name" tar -C / -xf - --keep-directory-symlink --no-same-owner
"$sandbox" exec "$name" /bin/sh -euc "systemctl daemon-reload"
"$sandbox" exec "$name" env CHATROOMD_RESTART_MEMBERS="$members" CHATROOMD_RESTART_JSON="$out/result.json" \
  PYTHONPATH="$root/Tests/systemd" python3 "$root/Tests/systemd/restart_inside.py"
[ -s "$out/result.json" ] || { echo "restart bench: no result"; exit 1; }
python3 - "$out/result.json" "$markdown" <<'PY'
import json, re, subprocess, sys
r = json.load(open(sys.argv[1]))
machine = subprocess.run(["uname", "-srm"], capture_output=True, text=True).stdout.strip()
rows = [
    ("members kept through `systemctl restart` and `kill -9`", f"{r['members']:,}"),
    ("pause: the old process's last read to the new one's first turn", f"{r.get('pause_ms', '?')} ms"),
    ("  of which: snapshot and hand-over to the store (old process)", f"{r.get('snapshot_ms', '?')} ms"),
    ("  of which: systemd restarting the unit, the new process starting", f"{r.get('started_ms', -1) - r.get('snapshot_ms', 0)} ms"),
    ("  of which: adopting the sockets / restoring the Room", f"{r.get('adopt_ms', '?')} ms / {r.get('room_ms', '?')} ms"),
    ("pause through `chatroomctl restart` (the exec in place), for comparison", f"{r.get('exec_pause_ms', '?')} ms"),
    ("  of which: the new program starting / adopting the sockets / the Room", f"{r.get('exec_started_ms', '?')} ms / {r.get('exec_adopt_ms', '?')} ms / {r.get('exec_room_ms', '?')} ms"),
    ("PID 1 CPU time to store the connections as they joined", f"{r['pid1_cpu_ms_storing']} ms"),
    ("PID 1 CPU time for the restart", f"{r.get('pid1_cpu_ms_restart', '?')} ms"),
    ("`kill -9` to every member told (systemd's RestartSec=1s included)", f"{r.get('crash_to_everyone_told_ms', '?')} ms"),
    ("  of which: restoring from the crash journal", f"{r.get('crash_restore_ms', '?')} ms"),
]
table = "| restart, under systemd 252 | |\n|---|---|\n" + "".join(f"| {a} | {b} |\n" for a, b in rows)
print(table)
if sys.argv[2]:
    path = sys.argv[2]
    text = open(path).read()
    section = (f"<!-- restart-bench:begin -->\nMeasured by `make bench` (Tests/bench/restart.sh) on {machine}; "
               f"talkers chat throughout and every member checks its lines.\n\n{table}<!-- restart-bench:end -->")
    if "<!-- restart-bench:begin -->" in text:
        text = re.sub(r"<!-- restart-bench:begin -->.*?<!-- restart-bench:end -->", lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Restarts\n\n" + section + "\n"
    open(path, "w").write(text)
PY
