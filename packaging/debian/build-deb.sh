#!/usr/bin/env bash
# make deb: a Debian package from a release build with the Swift runtime linked in statically
# (the package then depends only on Debian's libraries), and static checks of what it holds.
# The package is tested as installed (apt into a fresh Debian root, run as the relayd user) by
# Tests/package, which `make deb` and `make test` run after this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION="${VERSION:-0.1.0}"
ARCH="$(dpkg --print-architecture)"
OUT="${OUT:-.build-deb}"
swift build -c release --static-swift-stdlib --scratch-path "$OUT" --product relayd
swift build -c release --static-swift-stdlib --scratch-path "$OUT" --product relayctl
BIN="$OUT/release"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
install -D -m 0755 "$BIN/relayd" "$STAGE/usr/sbin/relayd"
install -D -m 0755 "$BIN/relayctl" "$STAGE/usr/bin/relayctl"
strip --strip-unneeded "$STAGE/usr/sbin/relayd" "$STAGE/usr/bin/relayctl"
ln -s ../bin/relayctl "$STAGE/usr/sbin/sendmail"
ln -s relayctl "$STAGE/usr/bin/mailq"
# Old programs and PHP call /usr/lib/sendmail, as every MTA package provides it.
mkdir -p "$STAGE/usr/lib"
ln -s ../sbin/sendmail "$STAGE/usr/lib/sendmail"
for page in man/relayd.8 man/relayctl.8 man/relayd.conf.5; do
    section="${page##*.}"
    install -D -m 0644 "$page" "$STAGE/usr/share/man/man$section/$(basename "$page")"
    gzip -9n "$STAGE/usr/share/man/man$section/$(basename "$page")"
done
# sendmail(8) and mailq(1) are relayctl in another name.
ln -s relayctl.8.gz "$STAGE/usr/share/man/man8/sendmail.8.gz"
install -d "$STAGE/usr/share/man/man1"
ln -s ../man8/relayctl.8.gz "$STAGE/usr/share/man/man1/mailq.1.gz"
install -D -m 0644 packaging/systemd/relayd.service "$STAGE/lib/systemd/system/relayd.service"
install -D -m 0644 packaging/systemd/relayd.sysusers "$STAGE/usr/lib/sysusers.d/relayd.conf"
install -D -m 0644 packaging/systemd/relayd.tmpfiles "$STAGE/usr/lib/tmpfiles.d/relayd.conf"
install -D -m 0644 packaging/relayd.conf "$STAGE/etc/relayd/relayd.conf"
install -D -m 0644 packaging/debian/copyright "$STAGE/usr/share/doc/relayd/copyright"
printf 'relayd (%s) unstable; urgency=medium\n\n  * Build of %s.\n\n -- Relay maintainers <relay@localhost>  %s\n' \
    "$VERSION" "$(git rev-parse --short HEAD 2>/dev/null || echo local)" "$(date -R)" \
    | gzip -9n > "$STAGE/usr/share/doc/relayd/changelog.gz"
mkdir -p "$STAGE/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm "$STAGE/DEBIAN/"
echo "/etc/relayd/relayd.conf" > "$STAGE/DEBIAN/conffiles"
# The shared libraries the binaries need, as Debian package names.
# (dpkg knows a library by the path it was installed under: try it as ldd says and resolved.)
DEPENDS="$(for lib in $(ldd "$STAGE/usr/sbin/relayd" "$STAGE/usr/bin/relayctl" | awk '/=>/ {print $3}' | sort -u); do
    { dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null \
        || dpkg -S "${lib#/usr}" 2>/dev/null; } | head -1 | cut -d: -f1; done | sort -u | paste -sd, | sed 's/,/, /g')"
SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
DEPENDS="$DEPENDS, adduser"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@DEPENDS@/$DEPENDS/" -e "s/@SIZE@/$SIZE/" \
    packaging/debian/control.in > "$STAGE/DEBIAN/control"
DEB="$OUT/relayd_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$STAGE" "$DEB" >/dev/null
echo "built $DEB (Depends: $DEPENDS)"

# Static checks of the package's files: the unit file, lintian where it is installed.
ROOT="$(mktemp -d)"
trap 'rm -rf "$STAGE" "$ROOT"' EXIT
dpkg-deb -x "$DEB" "$ROOT"
"$ROOT/usr/sbin/relayd" --version
"$ROOT/usr/bin/relayctl" --version
if command -v systemd-analyze >/dev/null 2>&1; then
    # Only unit-file problems count: the binary and man pages live inside $ROOT, not on this host.
    problems="$(systemd-analyze verify "$ROOT/lib/systemd/system/relayd.service" 2>&1 \
        | grep -v -e 'is not executable' -e "Command 'man " || true)"
    [ -z "$problems" ] || { echo "$problems"; exit 1; }
fi
if command -v lintian >/dev/null 2>&1; then lintian --no-tag-display-limit "$DEB" || true; fi
ln -sf "$(basename "$DEB")" "$OUT/relayd.deb"
