#!/usr/bin/env bash
# The Debian package under a real systemd 252 (sandbox.sh): builds the package of this tree (v1)
# and of a higher version (v2), runs lintian on it, then inside a fresh sandbox installs v1,
# upgrades to v2, removes and purges, checking what the maintainer scripts did at each step
# (deb_inside.py).
#
# v2 is built honestly: from the same sources with Version.swift saying v1+pkgtest2, so
# `chatroomd --version` reports it. To build only what that change touches, the tree is
# overlaid on itself in a private mount namespace (same absolute paths, so SwiftPM's build
# database stays valid; every write lands in a scratch dir) and `make deb` runs there.
#
# Usage: deb.sh   (from `make test-deb`, after `make release`)
# Environment: CHATROOMD_DEB_EXPECT_HANDOVER=1 makes "a member stays connected through the
# upgrade" an assertion (see deb_inside.py); CHATROOMD_DEB_KEEP=1 keeps the scratch dir.
# Where the sandbox cannot boot it prints one line and exits 0, except under CI (CI=true).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
sandbox="$here/sandbox.sh"
version_file=Sources/ChatProtocol/Version.swift
version_pattern='^\( *public static let current = "\)\([^"]*\)\(".*\)$'

# Stage two, in its own mount namespace: build the v2 package from an overlaid copy of the tree.
if [ "${1:-}" = __build-v2 ]; then
  scratch=$2 v2=$3
  # The writable layer is a tmpfs (gone with this namespace): an overlay cannot have its upper
  # layer on an overlay, as / is in many containers. -n: no /run/mount entries on the host.
  mkdir "$scratch/v2"
  mount -n -t tmpfs -o size=4G,mode=700 chatroomd-deb-v2-upper "$scratch/v2"
  mkdir "$scratch/v2/upper" "$scratch/v2/work"
  mount -n -t overlay -o "lowerdir=$root,upperdir=$scratch/v2/upper,workdir=$scratch/v2/work" chatroomd-deb-v2 "$root"
  cd "$root"
  sed -i "s/$version_pattern/\1$v2\3/" "$version_file"
  grep -q "\"$v2\"" "$version_file" || { echo "deb.sh: could not set the version in $version_file" >&2; exit 1; }
  # v2 also writes a newer handover state format, so going back to v1 is a downgrade v1
  # must refuse cleanly (deb_inside.py, downgrade_to_v1).
  state_file=Sources/ChatDaemon/HandoverState.swift
  sed -i 's/^\( *static let currentVersion = \)\([0-9]*\)$/echo "\1$((\2 + 1))"/e' "$state_file"
  grep -q "static let currentVersion = 3$" "$state_file" || { echo "deb.sh: could not raise the state format in $state_file" >&2; exit 1; }
  exec make --no-print-directory deb DEB_OUT="$scratch/out"
fi

if ! why=$("$sandbox" available 2>&1); then
  if [ "${CI:-}" = "true" ]; then echo "package test: FAILED to start under CI: $why"; exit 1; fi
  echo "package test: skipped: $why"
  exit 0
fi

# The v2 build mounts an overlay with this path in its options.
[[ $root != *[,:\ ]* ]] || { echo "package test: cannot overlay $root (it holds , : or a space)"; exit 1; }

started=$(date +%s.%N)
elapsed() { awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
v1=$(sed -n "s/$version_pattern/\2/p" "$root/$version_file")
[ -n "$v1" ] || { echo "package test: no version in $version_file"; exit 1; }
v2="$v1+pkgtest2"
dpkg --compare-versions "$v2" gt "$v1" || { echo "package test: $v2 is not above $v1"; exit 1; }
arch=$(dpkg --print-architecture)

scratch=$(mktemp -d /var/tmp/chatroomd-deb-test.XXXXXX)
export SDS_BASE="/tmp/chatroomd-deb-$$"
export SDS_LIFETIME=300
name=deb
cleanup() {
  "$sandbox" stop "$name" >/dev/null 2>&1 || true
  rmdir "$SDS_BASE" 2>/dev/null || true
  if [ "${CHATROOMD_DEB_KEEP:-}" = 1 ]; then echo "kept $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

# Test builds only: gzip -1 instead of xz (dpkg-deb spends over a minute compressing with xz
# here) and no -dbgsym package. The package's contents are the same.
export DPKG_DEB_COMPRESSOR_TYPE=gzip DPKG_DEB_COMPRESSOR_LEVEL=1 DEB_BUILD_OPTIONS=noddebs
quiet_make() {  # the build's output only when it fails
  local log=$scratch/build.log
  if ! "$@" >"$log" 2>&1; then tail -n 40 "$log"; echo "package test: FAILED: $*"; exit 1; fi
}
quiet_make make -C "$root" --no-print-directory deb DEB_OUT="$scratch/out"
echo "package test: built v1 $v1 ($(elapsed) s)"
quiet_make unshare --mount --propagation private -- "$here/deb.sh" __build-v2 "$scratch" "$v2"
echo "package test: built v2 $v2 from a copy whose Version.swift says so ($(elapsed) s)"
deb1=$scratch/out/chatroomd_${v1}_$arch.deb
deb2=$scratch/out/chatroomd_${v2}_$arch.deb

status=0
# lintian: errors and warnings fail; info tags are printed. No tag is overridden today; an
# override would go in packaging/debian/chatroomd.lintian-overrides (dh_lintian installs it)
# with its reason in a comment above it. lintian runs unprivileged, as it recommends.
chmod 755 "$scratch" "$scratch/out"
if lint=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent \
            lintian --fail-on error,warning --display-info "$deb1" 2>&1); then
  echo "PASS: lintian: no errors or warnings on chatroomd_${v1}_$arch.deb"
else
  echo "FAIL: lintian on chatroomd_${v1}_$arch.deb"; status=1
fi
# Errors, warnings and overrides in full; info tags counted (the Swift runtime linked into
# each binary alone gives dozens of spelling-error-in-binary).
printf '%s\n' "$lint" | grep -v '^I: ' | sed '/^$/d; s/^/      /' || true
printf '%s\n' "$lint" | sed -n 's/^I: [^:]*: \([^ ]*\).*/\1/p' | sort | uniq -c | sed 's/^ */      info: /' || true
echo "package test: lintian done ($(elapsed) s)"

SDS_BIND="$scratch/out $here" "$sandbox" start "$name"
# Docker's /usr/sbin/policy-rc.d (exit 101: "start nothing") is on these machines and so in the
# sandbox's overlay root; a Debian host has none. Removed inside only, or deb-systemd-invoke
# would refuse every start, stop and restart.
"$sandbox" exec "$name" rm -f /usr/sbin/policy-rc.d
"$sandbox" exec "$name" env CHATROOMD_DEB_EXPECT_HANDOVER="${CHATROOMD_DEB_EXPECT_HANDOVER:-}" \
  python3 "$here/deb_inside.py" "$deb1" "$v1" "$deb2" "$v2" || status=$?
if [ "$status" -ne 0 ]; then
  echo "--- chatroomd's journal inside the sandbox ---"
  "$sandbox" exec "$name" journalctl -u chatroomd.service -u chatroomd.socket --no-pager -n 60 || true
fi
echo "package test: $(elapsed) s in all (two package builds, lintian, install, upgrade, remove, purge)"
exit "$status"
