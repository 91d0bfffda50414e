#!/usr/bin/env bash
# chatroomd under a real systemd 252 booted in fresh namespaces (sandbox.sh): the installed
# units, socket activation, READY/STATUS, the journal, reload, the watchdog, stop, the
# hardening, `systemd-analyze verify` and `security`. The checks themselves are in
# e2e_inside.py, which runs inside the sandbox.
#
# Usage: e2e.sh STAGE_DIR   (STAGE_DIR holds `make install DESTDIR=STAGE_DIR PREFIX=/usr`)
# Where the sandbox cannot boot (not root, no namespaces) it prints one line and exits 0,
# except under CI (CI=true), where that is a failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
stage=$(cd "${1:?usage: e2e.sh STAGE_DIR}" && pwd)
sandbox="$here/sandbox.sh"

if ! why=$("$sandbox" available 2>&1); then
  if [ "${CI:-}" = "true" ]; then
    echo "systemd e2e: FAILED to start under CI: $why"
    exit 1
  fi
  echo "systemd e2e: skipped: $why"
  exit 0
fi

export SDS_BASE="/tmp/chatroomd-e2e-$$"
export SDS_LIFETIME=600
name=e2e
cleanup() {
  "$sandbox" stop "$name" >/dev/null 2>&1 || true
  rmdir "$SDS_BASE" 2>/dev/null || true
}
trap cleanup EXIT

# The admin password used inside, and its hash (the credential).
admin_hash=$(printf '%s\n' 's3cret-admin' | "$stage/usr/bin/chatroomd" hash-password)
message_ids=$(sed -n 's/^ *"\([a-z-]*\)": "\([0-9a-f]\{32\}\)",$/\1=\2/p' "$root/Sources/ChatDaemon/ChatEvent.swift" | paste -sd, -)
unit_dir=$(pkg-config systemd --variable=systemdsystemunitdir 2>/dev/null || echo /lib/systemd/system)

started=$(date +%s.%N)
SDS_BIND="$stage $here" "$sandbox" start "$name"

# Install the staged tree into the sandbox's root (its /lib is a symlink on merged-/usr Debian).
tar -C "$stage" -cf - . | "$sandbox" exec "$name" tar -C / -xf - --keep-directory-symlink --no-same-owner

"$sandbox" exec "$name" /bin/sh -euc "
  umask 077
  printf '%s\n' '$admin_hash' > /etc/chatroomd/admin-password-hash
  umask 022
  # Test-only drop-in: message bodies at debug level (to check they reach the journal
  # only then) and a short watchdog so the kill-and-restart check is quick.
  mkdir -p /etc/systemd/system/chatroomd.service.d
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/chatroomd --log-level debug\nWatchdogSec=2s\n' \
    > /etc/systemd/system/chatroomd.service.d/50-e2e.conf
  journalctl --update-catalog
  systemctl daemon-reload
"

status=0
CHATROOMD_MESSAGE_IDS="$message_ids" "$sandbox" exec "$name" \
  env CHATROOMD_MESSAGE_IDS="$message_ids" python3 "$here/e2e_inside.py" "$unit_dir" || status=$?
# Restarts that drop no one (1,000 members through systemctl restart and kill -9).
"$sandbox" exec "$name" env CHATROOMD_MESSAGE_IDS="$message_ids" PYTHONPATH="$here" \
  python3 "$here/restart_inside.py" "$unit_dir" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- chatroomd's journal inside the sandbox ---"
  "$sandbox" exec "$name" journalctl -u chatroomd.service -u chatroomd.socket --no-pager -n 80 || true
fi
echo "systemd e2e: $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s including boot and teardown"
exit "$status"
