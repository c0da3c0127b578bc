#!/usr/bin/env bash
# make deb: a Debian package from a release build with the Swift runtime linked in statically
# (the package then depends only on Debian's libraries), then a self-test: unpack it into a
# temporary root, run the packaged binaries against the packaged configuration with paths
# redirected, and check that check-config passes and the unit verifies.
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
for page in man/relayd.8 man/relayctl.8 man/relayd.conf.5; do
    section="${page##*.}"
    install -D -m 0644 "$page" "$STAGE/usr/share/man/man$section/$(basename "$page")"
    gzip -9n "$STAGE/usr/share/man/man$section/$(basename "$page")"
done
install -D -m 0644 packaging/systemd/relayd.service "$STAGE/lib/systemd/system/relayd.service"
install -D -m 0644 packaging/systemd/relayd.sysusers "$STAGE/usr/lib/sysusers.d/relayd.conf"
install -D -m 0644 packaging/systemd/relayd.tmpfiles "$STAGE/usr/lib/tmpfiles.d/relayd.conf"
install -D -m 0644 packaging/relayd.conf "$STAGE/etc/relayd/relayd.conf"
install -D -m 0644 packaging/debian/copyright "$STAGE/usr/share/doc/relayd/copyright"
printf 'relayd (%s) unstable; urgency=medium\n\n  * Build of %s.\n\n -- Relay maintainers <relay@localhost>  %s\n' \
    "$VERSION" "$(git rev-parse --short HEAD 2>/dev/null || echo local)" "$(date -R)" \
    | gzip -9n > "$STAGE/usr/share/doc/relayd/changelog.Debian.gz"
mkdir -p "$STAGE/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm "$STAGE/DEBIAN/"
echo "/etc/relayd/relayd.conf" > "$STAGE/DEBIAN/conffiles"
# The shared libraries the binaries need, as Debian package names.
DEPENDS="$(for lib in $(ldd "$STAGE/usr/sbin/relayd" "$STAGE/usr/bin/relayctl" | awk '/=>/ {print $3}' | sort -u); do
    dpkg -S "$(readlink -f "$lib")" 2>/dev/null | cut -d: -f1; done | sort -u | paste -sd, | sed 's/,/, /g')"
SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@DEPENDS@/$DEPENDS/" -e "s/@SIZE@/$SIZE/" \
    packaging/debian/control.in > "$STAGE/DEBIAN/control"
DEB="$OUT/relayd_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group --build "$STAGE" "$DEB" >/dev/null
echo "built $DEB (Depends: $DEPENDS)"

# Self-test on the package itself.
ROOT="$(mktemp -d)"
trap 'rm -rf "$STAGE" "$ROOT"' EXIT
dpkg-deb -x "$DEB" "$ROOT"
sed -e "s|/var/spool/relayd|$ROOT/var/spool/relayd|" -e "s|/run/relayd|$ROOT/run/relayd|" \
    "$ROOT/etc/relayd/relayd.conf" > "$ROOT/etc/relayd/test.conf"
"$ROOT/usr/sbin/relayd" check-config -c "$ROOT/etc/relayd/test.conf" >/dev/null
"$ROOT/usr/sbin/relayd" --version
"$ROOT/usr/bin/relayctl" --version
RELAYD_CONFIG="$ROOT/etc/relayd/test.conf" "$ROOT/usr/bin/mailq" 2>&1 | grep -q "spool\|Mail queue is empty" \
    || { echo "mailq did not answer"; exit 1; }
if command -v systemd-analyze >/dev/null 2>&1; then
    # Only unit-file problems count: the binary and man pages live inside $ROOT, not on this host.
    problems="$(systemd-analyze verify "$ROOT/lib/systemd/system/relayd.service" 2>&1 \
        | grep -v -e 'is not executable' -e "Command 'man " || true)"
    [ -z "$problems" ] || { echo "$problems"; exit 1; }
fi
if command -v lintian >/dev/null 2>&1; then lintian --no-tag-display-limit "$DEB" || true; fi
echo "deb self-test passed"
