#!/usr/bin/env bash
# One room on two template instances under a real systemd 252 (sandbox.sh):
# chatroomd@1.socket and chatroomd@2.socket share port 12000 (ReusePort=yes), both
# instances reach Debian's redis-server.service through its Unix socket. The checks are in
# cluster_inside.py and cluster_restart_inside.py (a node restarted by systemctl restart
# and after kill -9), which run inside the sandbox. Called by `make test-systemd` after
# e2e.sh, on the same staged tree.
#
# Usage: cluster.sh STAGE_DIR   (STAGE_DIR holds `make install DESTDIR=STAGE_DIR PREFIX=/usr`)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stage=$(cd "${1:?usage: cluster.sh STAGE_DIR}" && pwd)
sandbox="$here/sandbox.sh"

if ! why=$("$sandbox" available 2>&1); then
  if [ "${CI:-}" = "true" ]; then
    echo "systemd cluster: FAILED to start under CI: $why"
    exit 1
  fi
  echo "systemd cluster: skipped: $why"
  exit 0
fi
if [ ! -x /usr/bin/redis-server ] || [ ! -e /lib/systemd/system/redis-server.service ]; then
  echo "systemd cluster: FAILED: redis-server is not installed (make deps)"
  exit 1
fi

export SDS_BASE="/tmp/chatroomd-cluster-$$"
export SDS_LIFETIME=300
name=cluster
cleanup() {
  "$sandbox" stop "$name" >/dev/null 2>&1 || true
  rmdir "$SDS_BASE" 2>/dev/null || true
}
trap cleanup EXIT

started=$(date +%s.%N)
SDS_BIND="$stage $here" "$sandbox" start "$name"
tar -C "$stage" -cf - . | "$sandbox" exec "$name" tar -C / -xf - --keep-directory-symlink --no-same-owner

"$sandbox" exec "$name" /bin/sh -euc "
  printf '!\n' > /etc/chatroomd/admin-password-hash
  chmod 600 /etc/chatroomd/admin-password-hash
  printf 'redis = unix:/run/redis/redis-server.sock\n' >> /etc/chatroomd/chatroomd.conf
  # Every join from one address, announced one by one (the checks compare each line).
  printf 'presence-rate = off\njoins-per-address-per-minute = off\n' >> /etc/chatroomd/chatroomd.conf
  # Debian's redis-server.service, with its Unix socket open to the group redis (as
  # docs/operations.md says to set in redis.conf) and, for the test, no persistence.
  mkdir -p /etc/systemd/system/redis-server.service.d
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/redis-server /etc/redis/redis.conf --supervised systemd --daemonize no --port 0 --unixsocket /run/redis/redis-server.sock --unixsocketperm 770 --save \"\" --appendonly no\n' \
    > /etc/systemd/system/redis-server.service.d/50-test.conf
  # Each instance also listens on a port of its own (12001, 12002), so that
  # cluster_restart_inside.py can place members on the node it restarts.
  mkdir -p /etc/systemd/system/chatroomd@.socket.d
  printf '[Socket]\nListenStream=127.0.0.1:1200%%i\n' > /etc/systemd/system/chatroomd@.socket.d/50-test-direct.conf
  systemctl daemon-reload
"

status=0
"$sandbox" exec "$name" python3 "$here/cluster_inside.py" || status=$?
# A node restarted by systemctl restart and after kill -9, members on both nodes chatting.
"$sandbox" exec "$name" python3 "$here/cluster_restart_inside.py" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- journal inside the sandbox ---"
  "$sandbox" exec "$name" journalctl -u 'chatroomd@*' -u redis-server.service --no-pager -n 80 || true
fi
echo "systemd cluster: $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s including boot and teardown"
exit "$status"
