#!/usr/bin/env bash
# selftest.sh: boots a sandbox (sandbox.sh) and proves the systemd features chatroomd's tests rely on:
#   (a) Type=notify + STATUS=   (b) socket activation   (c) WatchdogSec= restart
#   (d) DynamicUser= + StateDirectory= + LoadCredential=   (e) native journal fields
# then stops it and checks that nothing is left on the host. Prints PASS/FAIL lines and TIMING; exits 1 if
# anything failed, 77 (skip) if `sandbox.sh available` says this machine cannot boot a sandbox.
# The units and helpers in selftest/ are copied into the sandbox's /run via `exec`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sds=$here/sandbox.sh
export SDS_BASE=${SDS_BASE:-/tmp/chatroomd-sds}
name=selftest-$$
failures=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
expect() {  # expect DESCRIPTION ACTUAL GLOB
  if [[ $2 == $3 ]]; then pass "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}
expect_exact() {  # expect_exact DESCRIPTION ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}
check() {   # check DESCRIPTION CMD...
  local desc=$1; shift
  if "$@"; then pass "$desc"; else fail "$desc"; fi
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
poll() {    # poll SECONDS CMD...: retry CMD every 0.1 s until it succeeds or SECONDS pass
  local end; end=$(awk -v s="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + s }'); shift
  until "$@"; do
    awk -v d="$end" -v n="$(now)" 'BEGIN { exit !(n < d) }' || return 1
    sleep 0.1
  done
}
sb() { "$sds" exec "$name" "$@"; }
prop() { sb systemctl show -p "$2" --value "$1" 2>/dev/null || true; }
no_ns_procs() {  # no live (non-zombie) process is left in pid namespace $1
  local line p
  while IFS= read -r line; do
    [[ $line == *"'$1'"* ]] || continue
    p=${line#\'/proc/}; p=${p%%/*}
    [[ $(cat "/proc/$p/stat" 2>/dev/null) == *") Z "* ]] || return 1
  done <<<"$(stat -c %N /proc/[0-9]*/ns/pid 2>/dev/null || true)"
}

if ! why=$("$sds" available); then echo "SKIP $why"; exit 77; fi
trap '"$sds" stop "$name" >/dev/null 2>&1 || true' EXIT
host_hostname=$(hostname)
had_run_mount=$([ -e /run/mount ] && echo yes || echo no)
token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

# ---- boot ----
t=$(now)
SDS_BIND="$here/selftest" "$sds" start "$name"
boot_time=$(since "$t")
read -r _ _ pidns <"$SDS_BASE/$name/init.pid"
cgroup=$(cat "$SDS_BASE/$name/cgroup")
expect "boot: is-system-running" "$(sb systemctl is-system-running 2>/dev/null || true)" running
expect "boot: hostname" "$(sb hostname)" "sds-$name"
check "boot: SDS_BIND dir visible inside" sb test -r "$here/selftest/notify.py"
bind_ro() { ! sb touch "$here/selftest/.w" 2>/dev/null; }
check "boot: SDS_BIND dir read-only inside" bind_ro

# Install helpers (to /run/sds-selftest) and units (to /run/systemd/system) through exec.
tar -C "$here/selftest" --exclude=__pycache__ -cf - . | sb sh -ec '
  mkdir -m 755 /run/sds-selftest
  tar -xf - -C /run/sds-selftest --no-same-owner
  cp /run/sds-selftest/*.service /run/sds-selftest/*.socket /run/systemd/system/'
printf '%s\n' "$token" | sb sh -ec 'umask 077; cat >/run/sds-selftest/token'
sb systemctl daemon-reload

# ---- (a) Type=notify: `systemctl start` returns only after READY=1; STATUS= becomes StatusText ----
t=$(now)
sb systemctl start sds-notify.service || true
a_time=$(since "$t")
expect "(a) notify: ActiveState" "$(prop sds-notify.service ActiveState)" active
expect "(a) notify: StatusText" "$(prop sds-notify.service StatusText)" "chatroomd-test: ready, 0 rooms"
check "(a) notify: start waited for READY=1 (${a_time}s >= 0.3s)" awk -v t="$a_time" 'BEGIN { exit !(t >= 0.3) }'
expect "(a) DefaultLimitCORE=0 applies" "$(prop sds-notify.service LimitCORE)" 0

# ---- (b) socket activation: systemd listens; the first connection starts the service ----
sb systemctl start sds-echo.socket || true
expect "(b) socket: ActiveState" "$(prop sds-echo.socket ActiveState)" active
expect "(b) service inactive before first connection" "$(prop sds-echo.service ActiveState)" inactive
reply=$(sb python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 12000), timeout=5)
s.sendall(b"hello\n")
print(s.makefile().readline().strip())' 2>&1) || true
expect "(b) echo reply" "$reply" "echo: hello LISTEN_FDS=1 LISTEN_FDNAMES=sds-echo.socket LISTEN_PID_ok=True"
expect "(b) service active after connection" "$(prop sds-echo.service ActiveState)" active

# ---- (c) watchdog: the first instance stops pinging and is killed; Restart=on-watchdog brings it back ----
sb systemctl start sds-watchdog.service || true
restarted() {
  [ "$(prop sds-watchdog.service NRestarts)" -ge 1 ] 2>/dev/null &&
    [ "$(prop sds-watchdog.service ActiveState)" = active ] &&
    [[ $(prop sds-watchdog.service StatusText) == second* ]]
}
t=$(now)
check "(c) watchdog: restarted and active again" poll 10 restarted
echo "     (after $(since "$t")s)"
expect "(c) watchdog: NRestarts" "$(prop sds-watchdog.service NRestarts)" 1
expect "(c) watchdog: StatusText" "$(prop sds-watchdog.service StatusText)" "second instance, WATCHDOG_USEC=1000000"
expect "(c) watchdog: journal" "$(sb journalctl -u sds-watchdog.service -o cat --no-pager | grep -o 'Watchdog timeout (limit 1s)!' | head -n 1)" "Watchdog timeout (limit 1s)!"
still_fine() { [ "$(prop sds-watchdog.service ActiveState)" = active ] && [ "$(prop sds-watchdog.service NRestarts)" = 1 ]; }
stays_fine=yes
end=$(awk -v n="$(now)" 'BEGIN { printf "%.3f", n + 1.5 }')
while awk -v d="$end" -v n="$(now)" 'BEGIN { exit !(n < d) }'; do
  still_fine || { stays_fine=no; break; }
  sleep 0.1
done
expect "(c) watchdog: pinging instance stays up for 1.5s" "$stays_fine" yes

# ---- (d) DynamicUser + StateDirectory + LoadCredential ----
dyn_line() { sb journalctl -u sds-dyn.service -o cat --no-pager 2>/dev/null | grep "counter=$1" | tail -n 1; }
dyn_logged() { [ -n "$(dyn_line "$1")" ]; }
sb systemctl start sds-dyn.service || true
expect "(d) dynamic: Result" "$(prop sds-dyn.service Result)" success
poll 5 dyn_logged 1 || true
line=$(dyn_line 1) || true
uid=$(sed -n 's/.*uid=\([0-9]*\) .*/\1/p' <<<"$line")
expect "(d) dynamic: service output" "$line" "uid=* user=sds-dyn state=/var/lib/sds-dyn counter=1 token=$token"
check "(d) dynamic: uid $uid in 61184..65519" test "${uid:-0}" -ge 61184 -a "${uid:-0}" -le 65519
expect "(d) dynamic: getent from outside the unit" "$(sb getent passwd sds-dyn || true)" "sds-dyn:x:$uid:$uid:Dynamic User:*"
expect "(d) dynamic: /var/lib/sds-dyn" "$(sb readlink /var/lib/sds-dyn || true)" private/sds-dyn
sb systemctl restart sds-dyn.service || true
poll 5 dyn_logged 2 || true
expect "(d) dynamic: state persists across restart" "$(dyn_line 2)" "* counter=2 token=$token"
check "(d) dynamic: nothing in the host's /var/lib" test ! -e /var/lib/private/sds-dyn -a ! -e /var/lib/sds-dyn

# ---- (e) journal: custom fields sent over the native protocol, volatile storage ----
sb systemctl start sds-jlog.service || true
json() { sb journalctl -o json --no-pager CHAT_EVENT=join 2>/dev/null | head -n 1; }
json_logged() { [ -n "$(json)" ]; }
poll 5 json_logged || true
fields=$(json | python3 -c '
import json, sys
entry = json.loads(sys.stdin.read() or "{}")
for key in ("CHAT_EVENT", "CHAT_ROOM", "CHAT_USER", "CHAT_MOTD", "SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT", "_TRANSPORT"):
    value = entry.get(key)
    if isinstance(value, list):  # journalctl prints non-printable values as byte arrays
        value = bytes(value).decode()
    print(f"{key}={json.dumps(value)}")' 2>&1 | tr '\n' ' ') || true
expect_exact "(e) journal: fields" "$fields" 'CHAT_EVENT="join" CHAT_ROOM="lobby" CHAT_USER="alice" CHAT_MOTD="welcome\nto the lobby" SYSLOG_IDENTIFIER="chatroomd" _SYSTEMD_UNIT="sds-jlog.service" _TRANSPORT="journal" '
check "(e) journal: volatile (/run/log/journal only)" \
  sb sh -c 'id=$(cat /etc/machine-id); test -d /run/log/journal/$id && test ! -e /var/log/journal/$id'

# ---- teardown ----
t=$(now)
"$sds" stop "$name"
stop_time=$(since "$t")
trap - EXIT
check "stop: state dir removed" test ! -e "$SDS_BASE/$name"
check "stop: cgroup removed ($cgroup)" test ! -e "$cgroup"
check "stop: no process left in $pidns" no_ns_procs "$pidns"
expect "stop: host hostname unchanged" "$(hostname)" "$host_hostname"
expect "stop: host /run/mount unchanged" "$([ -e /run/mount ] && echo yes || echo no)" "$had_run_mount"
check "stop: nothing in the host's /run" test ! -e /run/sds-selftest -a ! -e /run/systemd/system

echo "TIMING boot=${boot_time}s teardown=${stop_time}s"
if [ "$failures" -ne 0 ]; then echo "selftest: $failures FAILED"; exit 1; fi
echo "selftest: all passed"
