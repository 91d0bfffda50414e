#!/usr/bin/env bash
# sandbox.sh: boot a real systemd (252) as PID 1 in fresh namespaces, for chatroomd's end-to-end tests
# of its systemd integration (sd_notify, watchdog, socket activation, DynamicUser, journal).
#
# Usage (as root, on a host whose PID 1 is not systemd):
#   sandbox.sh available        exit 0 if this machine can boot a sandbox, else print one line why, exit 1
#   sandbox.sh start NAME       boot; returns when `systemctl is-system-running` says running/degraded
#   sandbox.sh exec NAME CMD... run CMD inside (all namespaces, env -i); stdin and exit code pass through
#   sandbox.sh stop NAME        SIGKILL the sandbox's PID 1, remove its cgroup and state dir
#   sandbox.sh cleanup          stop every sandbox under $SDS_BASE, including stale ones
# Example:
#   SDS_BIND="$PWD/.build" sandbox.sh start t1
#   sandbox.sh exec t1 systemctl start chatroomd.socket
#   sandbox.sh exec t1 journalctl -u chatroomd -o json
#   sandbox.sh stop t1
#
# Environment:
#   SDS_BASE          state dirs live in $SDS_BASE/NAME (default /tmp/chatroomd-sds)
#   SDS_LIFETIME      seconds before `timeout` SIGKILLs a forgotten sandbox (default 600)
#   SDS_BIND          space-separated absolute host dirs bind-mounted at the same path inside,
#                     read-only; append ":rw" to a dir for read-write
#   SDS_BOOT_TIMEOUT  seconds `start` waits for the boot (default 20)
#
# Inside: an overlay of the host's / (writes go to a tmpfs), private /run /tmp /dev /proc /sys, only `lo`,
# a cgroup namespace rooted at <cgroup2>/sds-NAME (systemd runs in unified mode), host units in
# /etc/systemd/system hidden, host-touching units and generators masked, a volatile journal,
# DefaultLimitCORE=0, and a reduced capability bounding set. The boot target is sandbox.target
# (basic.target + journald). Unit files can go to /run/systemd/system inside, then `systemctl daemon-reload`.
# `exec` commands run in the host's cgroup, not as units; use `systemd-run --wait --pipe` for that.
# Not a security boundary: it is a fixture for trusted test code. Design notes:
# ../shared/notes/systemd-in-namespaces.md.
#
# State dir $SDS_BASE/NAME: init.pid ("hostpid starttime pidns" of PID 1), launcher ("pid starttime"),
# cgroup (path), console.log (systemd's /dev/console, a script(1) pty), init.log (setup stage errors).
set -euo pipefail

SELF=$(readlink -f "$0")
SDS_BASE=${SDS_BASE:-/tmp/chatroomd-sds}
SDS_LIFETIME=${SDS_LIFETIME:-600}
SDS_BIND=${SDS_BIND:-}
SDS_BOOT_TIMEOUT=${SDS_BOOT_TIMEOUT:-20}
SYSTEMD=/lib/systemd/systemd
DROP_CAPS=-sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-mac_admin,-mac_override,-sys_pacct,-block_suspend,-audit_write,-audit_control,-audit_read
INSIDE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Units that would touch host state, wait for hardware, or make no sense in a container. Globs are
# matched against the unit directories of the (overlay) root and masked via /run/systemd/system.
MASK_UNITS='systemd-sysctl.service systemd-binfmt.service proc-sys-fs-binfmt_misc.* systemd-modules-load.service
  kmod-static-nodes.service systemd-remount-fs.service systemd-machine-id-commit.service systemd-firstboot.service
  systemd-random-seed.service systemd-repart.service systemd-pcrphase*.service systemd-tmpfiles-setup.service
  systemd-tmpfiles-setup-dev.service systemd-sysusers.service systemd-update-utmp*.service
  systemd-journal-flush.service systemd-journald-audit.socket systemd-hwdb-update.service ldconfig.service
  systemd-update-done.service systemd-ask-password-* dev-hugepages.mount sys-fs-fuse-connections.mount
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount systemd-pstore.service
  systemd-timesyncd.service systemd-udev* *.timer apparmor.service keyboard-setup.service console-setup.service
  lvm2-monitor.service blk-availability.service *getty*.service systemd-user-sessions.service'
KEEP_GENERATORS='systemd-debug-generator systemd-run-generator'

die() { echo "sandbox.sh: $*" >&2; exit 1; }
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
before() { awk -v d="$1" -v n="$(now)" 'BEGIN { exit !(n < d) }'; }   # is now < deadline?
deadline() { awk -v s="$1" -v n="$(now)" 'BEGIN { printf "%.3f", n + s }'; }

# The cgroup2 hierarchy: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one.
cgroup2_root() {
  local d
  for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ "$(stat -fc %T "$d" 2>/dev/null)" = cgroup2fs ]; then echo "$d"; return 0; fi
  done
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
    /proc/self/mountinfo
}

why_unavailable() {
  local c
  [ "$(id -u)" = 0 ] || { echo "not root"; return; }
  for c in unshare nsenter setpriv script timeout setsid pivot_root mount umount ip; do
    command -v "$c" >/dev/null || { echo "missing command: $c"; return; }
  done
  [ -x "$SYSTEMD" ] || { echo "no systemd at $SYSTEMD"; return; }
  [ ! -d /run/systemd/system ] || { echo "host runs systemd as PID 1; use systemd-nspawn instead"; return; }
  [ -n "$(cgroup2_root)" ] || { echo "no cgroup2 mount found"; return; }
}

check_name() {
  [[ ${1:-} =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$ ]] || die "bad sandbox name '${1:-}' (use [A-Za-z0-9_.-], max 32)"
  [[ $SDS_BASE == /* && $SDS_BASE != *[,:\ ]* ]] || die "SDS_BASE must be an absolute path without , : or spaces"
}

# "starttime" (field 22 of /proc/PID/stat), empty if PID is gone; the comm field may contain spaces.
starttime() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  s=${s##*) }
  set -- $s
  echo "${20}"
}
proc_state() { local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0; s=${s##*) }; echo "${s%% *}"; }

# Prints the host PID of NAME's PID 1 if the recorded PID, start time and pid namespace all still match.
live_pid1() {
  local f=$SDS_BASE/$1/init.pid pid st ns
  [ -s "$f" ] || return 1
  read -r pid st ns <"$f"
  [ -n "$st" ] && [ "$(starttime "$pid")" = "$st" ] && [ "$(proc_state "$pid")" != Z ] \
    && [ "$(readlink "/proc/$pid/ns/pid" 2>/dev/null)" = "$ns" ] || return 1
  echo "$pid"
}

# Launcher (script(1)) is alive, not a zombie, and is the process we started.
launcher_alive() {
  local f=$SDS_BASE/$1/launcher pid st
  [ -s "$f" ] || return 1
  read -r pid st <"$f"
  [ -n "$st" ] && [ "$(starttime "$pid")" = "$st" ] && [ "$(proc_state "$pid")" != Z ]
}

# Prints the host PIDs of live (non-zombie) processes in pid namespace $1 ("pid:[inode]").
ns_pids() {
  local all line p
  all=$(stat -c %N /proc/[0-9]*/ns/pid 2>/dev/null) || true   # entries may vanish meanwhile
  while IFS= read -r line; do
    [[ $line == *"'$1'"* ]] || continue
    p=${line#\'/proc/}; p=${p%%/*}
    [ "$(proc_state "$p")" = Z ] || echo "$p"
  done <<<"$all"
}

inside() {  # inside PID CMD...: run CMD in the sandbox whose PID 1 has host PID $PID
  local pid=$1; shift
  nsenter -t "$pid" -a -- setpriv --bounding-set "$DROP_CAPS" -- \
    env -i PATH="$INSIDE_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= "$@"
}

cmd_available() {
  local why
  why=$(why_unavailable)
  [ -z "$why" ] || { echo "systemd sandbox unavailable: $why"; exit 1; }
}

cmd_start() {
  local name=$1 dir cg t0 pid state="" until why
  check_name "$name"
  why=$(why_unavailable)
  [ -z "$why" ] || die "cannot start: $why"
  [[ $SDS_LIFETIME =~ ^[0-9]+$ ]] || die "SDS_LIFETIME must be whole seconds"
  dir=$SDS_BASE/$name
  cg=$(cgroup2_root)/sds-$name
  [ ! -e "$dir" ] || die "$dir exists (sandbox running or stale; use stop $name or cleanup)"
  [ ! -e "$cg" ] || die "$cg exists (stale sandbox from another SDS_BASE?)"
  t0=$(now)
  mkdir -p -m 700 "$SDS_BASE"
  mkdir -m 700 "$dir"
  mkdir "$dir/mnt"
  echo "$cg" >"$dir/cgroup"
  mkdir "$cg"
  trap 'cmd_stop "$name" >/dev/null 2>&1; exit 130' INT TERM

  # script(1) gives the sandbox a pty as /dev/console; timeout caps its life; --kill-child SIGKILLs PID 1 when
  # unshare dies. setsid detaches it from our terminal. script(1) runs the command with $SHELL -c; the `exec`
  # makes timeout the pty's session leader, so killing script (pty hangup, SIGHUP) also ends the sandbox.
  SHELL=/bin/sh setsid script -qefc "exec $(printf '%q ' timeout -s KILL "$SDS_LIFETIME" \
      unshare --pid --fork --kill-child --mount --uts --ipc --net --propagation private -- \
      "$SELF" __init "$name" "$dir" "$cg")" "$dir/console.log" </dev/null >/dev/null 2>>"$dir/init.log" &
  echo "$! $(starttime $!)" >"$dir/launcher"

  until=$(deadline "$SDS_BOOT_TIMEOUT")
  while before "$until"; do
    if pid=$(live_pid1 "$name"); then
      state=$(inside "$pid" systemctl is-system-running 2>/dev/null) || true
      case $state in
        running|degraded)
          [ "$state" = running ] || inside "$pid" systemctl --failed --no-legend >&2 || true
          trap - INT TERM
          echo "sandbox $name: $state, pid1=$pid, boot $(elapsed "$t0")s"
          return 0 ;;
        maintenance|stopping) break ;;
      esac
    elif [ -s "$dir/init.pid" ] || ! launcher_alive "$name"; then
      state="sandbox exited"; break
    fi
    sleep 0.05
  done
  echo "sandbox.sh: start $name failed (${state:-timeout after ${SDS_BOOT_TIMEOUT}s}); logs:" >&2
  tail -n 20 "$dir/init.log" "$dir/console.log" >&2 2>/dev/null || true
  cmd_stop "$name" >/dev/null 2>&1 || true
  exit 1
}

cmd_exec() {
  local name=$1 pid; shift
  check_name "$name"
  [ $# -gt 0 ] || die "usage: exec NAME CMD..."
  pid=$(live_pid1 "$name") || die "sandbox $name is not running"
  inside "$pid" "$@"
}

cmd_stop() {
  local name=$1 dir cg pid st ns="" lpid lst until t0 rc=0
  check_name "$name"
  dir=$SDS_BASE/$name
  cg=$(cgroup2_root)/sds-$name
  if [ ! -d "$dir" ] && [ ! -d "$cg" ]; then echo "sandbox $name: not present"; return 0; fi
  [ ! -e "$dir/cgroup" ] || [ "$(cat "$dir/cgroup")" = "$cg" ] || die "$dir/cgroup does not name $cg; refusing"
  t0=$(now)
  [ ! -s "$dir/init.pid" ] || read -r pid st ns <"$dir/init.pid"
  # PID 1 dies, so the kernel kills the whole pid namespace; its mount namespace goes with it.
  if pid=$(live_pid1 "$name"); then kill -KILL "$pid" 2>/dev/null || true; fi
  # Backstop for a stale or half-started sandbox: everything in its cgroup.
  if [ -e "$cg/cgroup.kill" ]; then echo 1 >"$cg/cgroup.kill" 2>/dev/null || true; fi
  # The launcher chain (script, timeout, unshare) exits once PID 1 is gone. A zombie counts as gone:
  # after `start` returned, it is reparented to the host's init, which may reap it late.
  until=$(deadline 5)
  while launcher_alive "$name" && before "$until"; do sleep 0.02; done
  if launcher_alive "$name"; then
    read -r lpid lst <"$dir/launcher"
    kill -KILL "$lpid" 2>/dev/null || true
  fi
  if [ -n "$ns" ]; then
    until=$(deadline 5)
    while [ -n "$(ns_pids "$ns")" ] && before "$until"; do sleep 0.02; done
    if [ -n "$(ns_pids "$ns")" ]; then
      echo "sandbox.sh: processes left in $ns" >&2; rc=1
    fi
  fi
  until=$(deadline 5)
  while [ -d "$cg" ]; do
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    [ -d "$cg" ] && ! before "$until" && { echo "sandbox.sh: cannot remove $cg" >&2; rc=1; break; }
    [ -d "$cg" ] && sleep 0.02
  done
  if grep -qF " $dir/" /proc/self/mountinfo || grep -qF " $dir " /proc/self/mountinfo; then
    echo "sandbox.sh: host mounts under $dir; not removing it" >&2; rc=1
  else
    rm -rf --one-file-system "$dir"
  fi
  echo "sandbox $name: stopped, teardown $(elapsed "$t0")s"
  return "$rc"
}

cmd_cleanup() {
  local d cg rc=0
  if [ -d "$SDS_BASE" ]; then
    for d in "$SDS_BASE"/*/; do
      [ -d "$d" ] || continue
      d=${d%/}
      cmd_stop "${d##*/}" || rc=1
    done
    rmdir "$SDS_BASE" 2>/dev/null || true
  fi
  for cg in "$(cgroup2_root)"/sds-*; do
    [ -d "$cg" ] && echo "sandbox.sh: leaving $cg alone (not under $SDS_BASE)" >&2
  done
  return "$rc"
}

# ---- Inside the new namespaces (called by `start` through script/timeout/unshare) ----

# Stage 1: PID 1 of the new pid namespace; /proc is still the host's, so /proc/self gives host values.
init_stage1() {
  local name=$1 dir=$2 cg=$3 stat rest console
  exec 2>>"$dir/init.log"
  console=$(readlink /proc/self/fd/0)   # the script(1) pty slave
  [[ $console == /dev/pts/* ]] || console=/dev/null
  read -r stat </proc/self/stat
  rest=${stat##*) }
  set -- $rest
  echo "${stat%% *} ${20} $(readlink /proc/self/ns/pid)" >"$dir/init.pid.tmp"
  mv "$dir/init.pid.tmp" "$dir/init.pid"
  # Only PID 1 (not the launcher) joins the cgroup, which then becomes the root of the new cgroup namespace.
  echo 0 >"$cg/cgroup.procs"
  exec unshare --cgroup -- "$SELF" __init2 "$name" "$dir" "$console"
}

# Stage 2: build the root under $dir/mnt/root, pivot into it, exec systemd.
init_stage2() {
  local name=$1 dir=$2 console=$3 R=$2/mnt/root d f u mode
  trap 'echo "sandbox.sh __init2: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
  ulimit -c 0
  # First: otherwise libmount creates /run/mount on the host even from a private mount namespace.
  mount -n -t tmpfs -o mode=755,size=1M sds-hostrun /run
  mount -n -t tmpfs -o mode=700,size=2G "sds-$name" "$dir/mnt"
  mkdir "$dir/mnt/upper" "$dir/mnt/work" "$R"
  mount -n -t overlay -o "lowerdir=/,upperdir=$dir/mnt/upper,workdir=$dir/mnt/work" "sds-root-$name" "$R"

  mount -n -t proc -o nosuid,nodev,noexec proc "$R/proc"
  mount -n --bind "$R/proc/sys" "$R/proc/sys"
  mount -n -o remount,bind,ro,nosuid,nodev,noexec "$R/proc/sys"
  mount -n --bind "$R/proc/sys/net" "$R/proc/sys/net"            # net.* is per network namespace
  mount -n -o remount,bind,rw,nosuid,nodev,noexec "$R/proc/sys/net"
  if [ -e "$R/proc/sysrq-trigger" ]; then
    mount -n --bind "$R/proc/sysrq-trigger" "$R/proc/sysrq-trigger"
    mount -n -o remount,bind,ro "$R/proc/sysrq-trigger"
  fi

  mount -n -t sysfs -o ro,nosuid,nodev,noexec sysfs "$R/sys"
  mount -n -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$R/sys/fs/cgroup"   # root = sds-NAME (cgroup ns)

  mount -n -t tmpfs -o mode=755,size=4M,nosuid sds-dev "$R/dev"
  mknod -m 666 "$R/dev/null" c 1 3
  mknod -m 666 "$R/dev/zero" c 1 5
  mknod -m 666 "$R/dev/full" c 1 7
  mknod -m 666 "$R/dev/random" c 1 8
  mknod -m 666 "$R/dev/urandom" c 1 9
  mknod -m 666 "$R/dev/tty" c 5 0
  mkdir -m 755 "$R/dev/pts"
  mount -n -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5,nosuid,noexec devpts "$R/dev/pts"
  ln -s pts/ptmx "$R/dev/ptmx"
  mkdir -m 1777 "$R/dev/shm"
  mount -n -t tmpfs -o mode=1777,nosuid,nodev sds-shm "$R/dev/shm"
  mkdir "$R/dev/mqueue"
  mount -n -t mqueue -o nosuid,nodev,noexec mqueue "$R/dev/mqueue"
  ln -s /proc/self/fd "$R/dev/fd"
  ln -s /proc/self/fd/0 "$R/dev/stdin"
  ln -s /proc/self/fd/1 "$R/dev/stdout"
  ln -s /proc/self/fd/2 "$R/dev/stderr"
  touch "$R/dev/console"
  mount -n --bind "$console" "$R/dev/console"

  mount -n -t tmpfs -o mode=755,size=256M,nosuid,nodev sds-run "$R/run"
  mount -n -t tmpfs -o mode=1777,size=1G,nosuid,nodev sds-tmp "$R/tmp"

  # Configuration, written only into the overlay's upper layer or the private /run.
  tr -d '-' </proc/sys/kernel/random/uuid >"$R/etc/machine-id"
  echo "sds-$name" >"$R/etc/hostname"
  hostname "sds-$name"
  : >"$R/etc/fstab"
  find "$R/etc/systemd/system" -mindepth 1 -maxdepth 1 -exec rm -rf {} +   # whiteouts hide host units
  mkdir -p "$R/run/systemd/system" "$R/run/systemd/system-generators" \
    "$R/run/systemd/system.conf.d" "$R/run/systemd/journald.conf.d"
  for f in "$R"/etc/systemd/system-generators/* "$R"/usr/local/lib/systemd/system-generators/* \
           "$R"/usr/lib/systemd/system-generators/*; do
    [ -e "$f" ] || continue
    if [[ " $KEEP_GENERATORS " != *" ${f##*/} "* ]]; then
      ln -sfn /dev/null "$R/run/systemd/system-generators/${f##*/}"
    fi
  done
  set -f; local masks=($MASK_UNITS); set +f
  for u in "${masks[@]}"; do
    for f in "$R"/usr/lib/systemd/system/$u "$R"/usr/local/lib/systemd/system/$u; do
      if [ -e "$f" ]; then ln -sfn /dev/null "$R/run/systemd/system/${f##*/}"; fi
    done
  done
  cat >"$R/run/systemd/journald.conf.d/50-sandbox.conf" <<'EOF'
[Journal]
Storage=volatile
RuntimeMaxUse=64M
RateLimitIntervalSec=0
EOF
  cat >"$R/run/systemd/system.conf.d/50-sandbox.conf" <<'EOF'
[Manager]
ShowStatus=yes
DefaultLimitCORE=0
DefaultTimeoutStartSec=30s
DefaultTimeoutStopSec=10s
EOF
  cat >"$R/run/systemd/system/sandbox.target" <<'EOF'
[Unit]
Description=chatroomd test sandbox
Requires=basic.target systemd-journald.socket
Wants=systemd-journald.service systemd-journald-dev-log.socket
After=basic.target
AllowIsolate=yes
EOF

  ip link set lo up
  for d in $SDS_BIND; do
    mode=ro
    [[ $d == *:rw ]] && { d=${d%:rw}; mode=rw; }
    [[ $d == /?* && -d $d ]] || { echo "SDS_BIND: '$d' is not an absolute directory" >&2; exit 1; }
    mkdir -p "$R$d"
    mount -n --bind "$d" "$R$d"
    [ "$mode" = rw ] || mount -n -o remount,bind,ro "$R$d"
  done

  cd "$R"
  pivot_root . .
  umount -n -l .
  cd /
  # Without this, mounts made in child mount namespaces (credentials) never propagate back.
  # The peer groups are new and local to this namespace.
  mount -n --make-rshared /
  exec </dev/console >/dev/console 2>&1
  exec setpriv --bounding-set "$DROP_CAPS" -- env -i container=systemd-sandbox TERM=dumb LANG=C.UTF-8 \
    "$SYSTEMD" --system --unit=sandbox.target --log-color=no
}

usage() { sed -n '4,10p' "$SELF" | sed 's/^# \{0,1\}//' >&2; exit 2; }

case ${1:-} in
  available) cmd_available ;;
  start)     [ $# -eq 2 ] || usage; cmd_start "$2" ;;
  exec)      [ $# -ge 3 ] || usage; shift; cmd_exec "$@" ;;
  stop)      [ $# -eq 2 ] || usage; cmd_stop "$2" ;;
  cleanup)   [ $# -eq 1 ] || usage; cmd_cleanup ;;
  __init)    shift; init_stage1 "$@" ;;
  __init2)   shift; init_stage2 "$@" ;;
  *)         usage ;;
esac
