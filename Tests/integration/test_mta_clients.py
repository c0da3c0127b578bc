"""Real MTAs as Relay's clients, each message counted exactly once at the sink.

Exim (Debian's exim4-daemon-light, unpacked by `make deps` into .build-exim, not installed
as the system MTA) writes `.` and QUIT and then shuts its sending side: a relay that drops the
250 on that read EOF made Exim retry, and the message arrived twice. Postfix's smtp-source
pipelines many messages per connection.
"""
import os
import pwd
import shutil
import subprocess
import textwrap

import pytest

from conftest import ROOT
from peers import Upstream

EXIM = os.environ.get("RELAY_EXIM", str(ROOT / ".build-exim" / "usr" / "sbin" / "exim4"))
EXIM_USER = "Debian-exim"  # the name Debian's build looks up at start


def exim_user_exists() -> bool:
    try:
        pwd.getpwnam(EXIM_USER)
        return True
    except KeyError:
        return False


@pytest.fixture
def exim(workdir):
    """An Exim instance of its own (spool, log, configuration in `workdir`), run by root as the
    unpacked binary is not setuid; it switches to its own user as Debian's does."""
    if not exim_user_exists():
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", EXIM_USER], check=True)
    base = workdir / "exim"
    for sub in ("spool", "log", "bin"):
        (base / sub).mkdir(parents=True)
    # Exim re-executes itself as its own user: it must be able to reach the binary, which in
    # CI lies under a directory only root may enter (/root).
    binary = base / "bin" / "exim4"
    shutil.copy2(EXIM, binary)
    os.chmod(binary, 0o755)
    user = pwd.getpwnam(EXIM_USER)
    for path in (base, base / "spool", base / "log"):
        os.chown(path, user.pw_uid, user.pw_gid)

    def configure(relay_port: int):
        conf = base / "exim.conf"
        conf.write_text(textwrap.dedent(f"""\
            primary_hostname = exim.test
            exim_path = {binary}
            spool_directory = {base}/spool
            log_file_path = {base}/log/%slog
            exim_user = {EXIM_USER}
            exim_group = {EXIM_USER}
            keep_environment =
            begin routers
            to_relay:
              driver = manualroute
              domains = *
              transport = relay_smtp
              route_list = * 127.0.0.1
              self = send
            begin transports
            relay_smtp:
              driver = smtp
              port = {relay_port}
            begin retry
            * * F,1h,1h
            """))
        return conf

    return configure, base, binary


@pytest.mark.skipif(os.geteuid() != 0, reason="Exim switches to its own user; only root can start it so")
@pytest.mark.skipif(not os.path.exists(EXIM), reason=f"no unpacked Exim at {EXIM} (make deps)")
def test_exim_relays_through_relay_and_each_message_arrives_once(relay_factory, exim):
    configure, base, binary = exim
    sink = Upstream()
    try:
        relay = relay_factory(f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{sink.port}"]\n')
        relay.start_worker()
        conf = configure(relay.port)
        count = 5
        for n in range(count):
            # -odi: deliver now, in the foreground; the exit status says whether Exim is done.
            out = subprocess.run([str(binary), "-C", str(conf), "-odi", "-f", "app@example.org", f"user{n}@example.test"],
                                 input=f"Subject: exim {n}\n\nmessage {n}\n".encode(), capture_output=True,
                                 timeout=120)
            assert out.returncode == 0, out.stderr
        main_log = (base / "log" / "mainlog").read_text()
        try:
            sink.wait_for(count, timeout=60)
        except AssertionError:
            raise AssertionError(main_log + relay.log_text())
        got = sorted(a for t in sink.transactions for a in t["accepted"])
        assert got == [f"user{n}@example.test" for n in range(count)], got
        # Each stored once: Exim never retried.
        assert relay.log_text().count("event=queued") == count, relay.log_text()
        assert main_log.count(" => ") == count and "defer" not in main_log.lower(), main_log
    finally:
        sink.stop()


def test_postfix_smtp_source_messages_arrive_once(relay_factory):
    sink = Upstream()
    try:
        relay = relay_factory(f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{sink.port}"]\n')
        relay.start_worker()
        count = 20
        out = subprocess.run(["smtp-source", "-s", "2", "-m", str(count), "-f", "app@example.org",
                              "-t", "user@example.test", f"127.0.0.1:{relay.port}"], capture_output=True, timeout=120)
        assert out.returncode == 0, out.stderr
        sink.wait_for(count, timeout=60)
        assert len(sink.transactions) == count and relay.log_text().count("event=queued") == count
    finally:
        sink.stop()
