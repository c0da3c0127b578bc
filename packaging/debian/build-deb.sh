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

# Self-test on the package itself.
ROOT="$(mktemp -d)"
trap 'rm -rf "$STAGE" "$ROOT"' EXIT
dpkg-deb -x "$DEB" "$ROOT"
PORT=$((20000 + RANDOM % 20000))
sed -e "s|/var/spool/relayd|$ROOT/var/spool/relayd|" -e "s|/run/relayd|$ROOT/run/relayd|" \
    -e "s|127.0.0.1:25|127.0.0.1:$PORT|" -e '/\[::1\]:25/d' \
    "$ROOT/etc/relayd/relayd.conf" > "$ROOT/etc/relayd/test.conf"
sed -i '/^\[\[listener\]\]$/{N;/^\[\[listener\]\]\n$/d}' "$ROOT/etc/relayd/test.conf"
"$ROOT/usr/sbin/relayd" check-config -c "$ROOT/etc/relayd/test.conf" >/dev/null
"$ROOT/usr/sbin/relayd" --version
"$ROOT/usr/bin/relayctl" --version
# The packaged programs against the packaged configuration: serve, a message through the
# packaged sendmail, and the packaged mailq listing it.
export RELAYD_CONFIG="$ROOT/etc/relayd/test.conf"
"$ROOT/usr/sbin/relayd" serve -c "$RELAYD_CONFIG" 2>"$ROOT/serve.log" &
SERVE=$!
for _ in $(seq 1 100); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
# Delivery is paused first: the self-test sends no mail (and no DNS query) anywhere.
for _ in $(seq 1 100); do "$ROOT/usr/bin/relayctl" pause >/dev/null 2>&1 && break; sleep 0.1; done
printf 'Subject: package self-test\n\nhello\n' | "$ROOT/usr/sbin/sendmail" -f root@localhost postmaster@localhost.invalid
"$ROOT/usr/bin/mailq" | grep -q "postmaster@localhost.invalid" || { echo "mailq did not list the message"; cat "$ROOT/serve.log"; exit 1; }
kill -TERM "$SERVE"
wait "$SERVE" || { echo "relayd serve did not stop cleanly"; cat "$ROOT/serve.log"; exit 1; }
if command -v systemd-analyze >/dev/null 2>&1; then
    # Only unit-file problems count: the binary and man pages live inside $ROOT, not on this host.
    problems="$(systemd-analyze verify "$ROOT/lib/systemd/system/relayd.service" 2>&1 \
        | grep -v -e 'is not executable' -e "Command 'man " || true)"
    [ -z "$problems" ] || { echo "$problems"; exit 1; }
fi
if command -v lintian >/dev/null 2>&1; then lintian --no-tag-display-limit "$DEB" || true; fi
echo "deb self-test passed"
