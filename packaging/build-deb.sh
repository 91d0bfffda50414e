#!/bin/sh
# Builds chatroomd_<version>_<arch>.deb from a `make install DESTDIR=STAGE PREFIX=/usr` tree,
# with debhelper and the files in packaging/debian. Called by `make deb`.
#
# Usage: build-deb.sh STAGE VERSION OUTDIR
# VERSION must describe the staged binaries: it is `chatroomd --version`'s number, or that
# number with a suffix starting with + or ~ (the same binaries packaged again, e.g. 0.5.0+local1).
# A package claiming another version than its binaries is refused; a test package of a higher
# version is built from sources whose Version.swift says so (Tests/systemd/deb.sh does that in
# a scratch copy).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stage=$(cd "${1:?usage: build-deb.sh STAGE VERSION OUTDIR}" && pwd)
version=${2:?usage: build-deb.sh STAGE VERSION OUTDIR}
mkdir -p "${3:?usage: build-deb.sh STAGE VERSION OUTDIR}"
out=$(cd "$3" && pwd)

binary_version=$("$stage/usr/bin/chatroomd" --version | awk '{ print $NF }')
case $version in
  "$binary_version"|"$binary_version"+*|"$binary_version"~*) ;;
  *) echo "build-deb.sh: package version $version does not match the binaries ($binary_version);" \
          "change Sources/ChatProtocol/Version.swift, or add a +suffix to repackage them" >&2
     exit 1 ;;
esac
case $version in
  *-*) echo "build-deb.sh: $version: a native package has no Debian revision (no '-')" >&2; exit 1 ;;
esac

# The changelog carries the version; its date (and so the files' mtimes, through
# SOURCE_DATE_EPOCH) is that of the last commit, so the same commit builds the same package.
root=$(cd "$here/.." && pwd)
if date_r=$(git -C "$root" log -1 --format=%cD 2>/dev/null) && [ -n "$date_r" ]; then
  commit=$(git -C "$root" rev-parse --short HEAD)
else
  date_r=$(date -R); commit=unknown
fi
maintainer=$(sed -n 's/^Maintainer: //p' "$here/debian/control")

work="$out/work-$version"
rm -rf "$work"
mkdir -p "$work"
cp -r "$here/debian" "$work/debian"
cat > "$work/debian/changelog" <<CHANGELOG
chatroomd ($version) unstable; urgency=medium

  * chatroomd $binary_version, built from commit $commit.

 -- $maintainer  $date_r
CHANGELOG

# dh_builddeb writes the .deb (and the -dbgsym .ddeb) into the parent of the build tree, $out.
arch=$(dpkg --print-architecture)
rm -f "$out/chatroomd_${version}_$arch.deb" "$out/chatroomd-dbgsym_${version}_$arch".*deb
(cd "$work" && CHATROOMD_STAGE="$stage" debian/rules binary)
for f in "$out"/chatroomd_"${version}"_"$arch".deb "$out"/chatroomd-dbgsym_"${version}"_"$arch".*deb; do
  if [ -e "$f" ]; then echo "built $f"; fi
done
rm -rf "$work"
