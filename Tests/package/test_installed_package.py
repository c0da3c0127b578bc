"""The .deb as an admin gets it: installed with apt into a fresh Debian 12 root (debootstrap
minbase), run as the `relayd` user with the packaged configuration and the unit's settings that
apply outside systemd (User/Group=relayd, RuntimeDirectory /run/relayd 0750, UMask 0027,
ExecStartPre check-config). A message goes in through the packaged `sendmail`, is listed by
`mailq`, counted at `/metrics` and delivered to a sink on this host.

Needs root (debootstrap, chroot, mounts): that is what installing a package takes. RELAY_DEB
names the package (make test builds it with `make deb`).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from conftest import free_port, wait_for_port, wait_until  # noqa: E402
from peers import Upstream  # noqa: E402
from test_metrics import scrape  # noqa: E402

DEB = os.environ.get("RELAY_DEB")
CACHE = Path(os.environ.get("RELAY_DEB_ROOT_CACHE", "/var/tmp/relay-package-test"))

pytestmark = [
    pytest.mark.skipif(not DEB, reason="RELAY_DEB names no package: run `make test` or `make deb` first"),
    pytest.mark.skipif(os.geteuid() != 0, reason="installing a package into a new root needs root"),
]


def mirror() -> str:
    """The Debian mirror this machine's apt uses."""
    for path in Path("/etc/apt/sources.list.d").glob("*.sources"):
        for line in path.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    sources = Path("/etc/apt/sources.list")
    if sources.exists():
        for line in sources.read_text().splitlines():
            if line.startswith("deb ") and "security" not in line:
                return line.split()[1]
    return "http://deb.debian.org/debian"


def base_root() -> Path:
    """A minimal Debian 12 root as a tarball, made once per machine."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / "bookworm-minbase.tar"
    if not tarball.exists():
        build = CACHE / "base.build"
        shutil.rmtree(build, ignore_errors=True)
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(build), mirror()], check=True,
                       capture_output=True)
        subprocess.run(["tar", "-C", str(build), "-cf", str(tarball) + ".tmp", "."], check=True)
        os.rename(str(tarball) + ".tmp", tarball)
        shutil.rmtree(build, ignore_errors=True)
    return tarball


@pytest.fixture
def root():
    path = Path(tempfile.mkdtemp(prefix="root.", dir=CACHE if CACHE.exists() else None))
    mounts = []
    try:
        subprocess.run(["tar", "-C", str(path), "-xf", str(base_root())], check=True)
        shutil.copy("/etc/resolv.conf", path / "etc" / "resolv.conf")
        for fs, target, options in (("proc", "proc", ["-t", "proc"]), ("/dev", "dev", ["--bind"])):
            subprocess.run(["mount", *options, fs, str(path / target)], check=True)
            mounts.append(path / target)
        yield path
    finally:
        for mount in reversed(mounts):
            subprocess.run(["umount", "-l", str(mount)], check=False)
        shutil.rmtree(path, ignore_errors=True)


def inside(root: Path, *command: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["chroot", str(root), "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                           "LANG=C.UTF-8", *command], capture_output=True, text=True, timeout=600, **kw)


def as_relayd(*command: str) -> list[str]:
    """The unit's User=, Group= and UMask=."""
    return ["setpriv", "--reuid=relayd", "--regid=relayd", "--init-groups", "--", "sh", "-c",
            'umask 0027; exec "$@"', "sh", *command]


def test_the_installed_package_takes_lists_counts_and_delivers_mail_as_relayd(root):
    shutil.copy(DEB, root / "tmp" / "relayd.deb")
    installed = inside(root, "sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                       "apt-get install -y -qq --no-install-recommends /tmp/relayd.deb")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert inside(root, "id", "-u", "relayd").returncode == 0, "the package made no relayd user"

    sink = Upstream()
    port, metrics = free_port(), free_port()
    # The packaged configuration, with a free port for its loopback listener (no capability to
    # bind 25 outside systemd), a route to this test's sink and a metrics address.
    config = root / "etc" / "relayd" / "relayd.conf"
    text = config.read_text()
    text = text.replace('address = "127.0.0.1:25"', f'address = "127.0.0.1:{port}"')
    text = re.sub(r'\[\[listener\]\]\naddress = "\[::1\]:25"\n', "", text)
    text += (f'\n[metrics]\naddress = "127.0.0.1:{metrics}"\n'
             f'\n[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{sink.port}"]\ntls = "none"\n')
    config.write_text(text)
    # systemd's RuntimeDirectory=relayd, RuntimeDirectoryMode=0750.
    assert inside(root, "install", "-d", "-o", "relayd", "-g", "relayd", "-m", "0750", "/run/relayd").returncode == 0
    check = inside(root, *as_relayd("/usr/sbin/relayd", "check-config", "-c", "/etc/relayd/relayd.conf"))
    assert check.returncode == 0, check.stderr
    assert os.readlink(root / "usr" / "lib" / "sendmail") == "../sbin/sendmail"
    unit = (root / "lib" / "systemd" / "system" / "relayd.service").read_text()
    assert "ExecReload=/usr/bin/relayctl reload -c /etc/relayd/relayd.conf" in unit
    assert "ExecStartPre=/usr/sbin/relayd check-config -q -c /etc/relayd/relayd.conf" in unit
    log = open(root / "tmp" / "serve.log", "ab")
    serve = subprocess.Popen(["chroot", str(root), "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                              *as_relayd("/usr/sbin/relayd", "serve", "-c", "/etc/relayd/relayd.conf")],
                             stdout=log, stderr=log)
    try:
        wait_for_port(port, serve)
        status = wait_until(lambda: (lambda r: r if r.returncode == 0 and '"pid":null' not in r.stdout.replace(" ", "")
                                     else None)(inside(root, "relayctl", "status", "--json")), what="both roles up")
        for pid in re.findall(r'"pid":\s*(\d+)', status.stdout):
            uid = [line.split()[1] for line in open(f"/proc/{pid}/status") if line.startswith("Uid:")][0]
            assert uid == inside(root, "id", "-u", "relayd").stdout.strip(), f"pid {pid} runs as uid {uid}"
        assert inside(root, "relayctl", "pause").returncode == 0
        sent = inside(root, "sh", "-c", "printf 'Subject: installed\\n\\nhello\\n' | "
                      "sendmail -f root@localhost someone@example.test")
        assert sent.returncode == 0 and sent.stdout == "", sent.stderr
        listing = inside(root, "mailq")
        assert "someone@example.test" in listing.stdout, listing.stdout + listing.stderr
        figures = wait_until(lambda: scrape(metrics).get("relay_messages_accepted_total"), what="metrics")
        assert figures == 1
        assert inside(root, "relayctl", "resume").returncode == 0
        [message] = sink.wait_for(1, timeout=60)
        assert b"hello" in message["data"]
        wait_until(lambda: scrape(metrics).get('relay_delivery_attempts_total{result="delivered"}') == 1,
                   what="the delivery counted at the one metrics address")
        assert "Mail queue is empty" in wait_until(
            lambda: (lambda out: out if "empty" in out else None)(inside(root, "mailq").stdout), what="an empty queue")
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            assert serve.wait(timeout=60) == 0, (root / "tmp" / "serve.log").read_text()
        finally:
            if serve.poll() is None:
                serve.kill()
            sink.stop()
