"""Relay as users run it: an unprivileged relayd, real clients that half-close, one metrics
port, names resolved only through [dns], roles that die with their supervisor, check-config
that loads what the daemon loads. Each test here failed on the code before it."""
import json
import os
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import DROP, RELAY_UID, RELAYCTL, RELAYD, hand_over, unprivileged, wait_for_port, wait_until
from peers import DNS, Upstream
from test_metrics import free_port, scrape


def process_uid(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line")


def test_an_unprivileged_relay_accepts_and_delivers(relay_factory):
    """As the package runs it (User=relayd): the banner, a 250, and the outbound connection.
    Setting SO_DEBUG instead of TCP_NODELAY closed every connection of a non-root relayd."""
    up = Upstream()
    try:
        relay = relay_factory(f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
        if DROP:
            assert process_uid(relay.proc.pid) == RELAY_UID != 0
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: as deployed\r\n\r\nx\r\n")
        relay.start_worker()
        if DROP:
            assert process_uid(relay.worker.pid) == RELAY_UID
        assert len(up.wait_for(1, timeout=30)) == 1
        assert "connection not set up" not in relay.log_text()
    finally:
        up.stop()


def test_a_client_that_half_closes_after_quit_gets_its_250_once(relay, raw):
    """Exim writes `.` and QUIT, then shuts its sending side: the 250 must still arrive, or
    the client retries and the message is delivered twice."""
    c = raw(relay.port)
    c.cmd("EHLO exim.example")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: half-close\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    c.sock.shutdown(socket.SHUT_WR)
    code, lines = c.reply()
    assert code == 250 and "queued as" in lines[0], lines
    assert c.reply()[0] == 221
    assert c.closed()
    assert len(relay.messages()) == 1


def test_bdat_then_rset_leaves_nothing_of_the_aborted_text(relay, raw):
    c = raw(relay.port)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<old@example.com>")
    c.send(b"BDAT 7\r\nABORTED")
    assert c.reply()[0] == 250
    assert c.cmd("RSET")[0] == 250
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<new@example.com>")
    text = b"Subject: kept\r\n\r\nkept\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(text) + text)
    code, lines = c.reply()
    assert code == 250, lines
    [message] = relay.messages()
    body = relay.body(message["queue_id"])
    assert b"ABORTED" not in body and body.endswith(text)
    assert b"old@example.com" not in body
    assert [r["address"] for r in relay.recipients(message["queue_id"])] == ["new@example.com"]


def test_one_metrics_address_serves_both_roles_and_takes_no_other_port(relay_factory):
    up = Upstream()
    port = free_port()
    neighbour = socket.socket()
    try:
        # The port after the metrics port is taken: the worker once needed it, and exited 75
        # for ever when it was busy.
        try:
            neighbour.bind(("127.0.0.1", port + 1))
            neighbour.listen()
        except OSError:
            pass
        relay = relay_factory(f'[metrics]\naddress = "127.0.0.1:{port}"\n'
                              f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
        relay.start_worker()
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: m\r\n\r\nx\r\n")
        up.wait_for(1, timeout=30)
        figures = wait_until(
            lambda: (lambda f: f if f.get('relay_delivery_attempts_total{result="delivered"}', 0) >= 1 else None)(
                scrape(port)), what="the worker's delivery in the one endpoint")
        assert figures["relay_messages_accepted_total"] == 1  # the listener's
        assert figures["relay_worker_up"] == 1
        assert relay.worker.poll() is None and relay.proc.poll() is None
        relay.stop_worker()
        assert scrape(port)["relay_worker_up"] == 0
    finally:
        neighbour.close()
        up.stop()


def test_a_busy_metrics_address_never_stops_mail(relay_factory):
    up = Upstream()
    busy = socket.socket()
    busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        relay = relay_factory(f'[metrics]\naddress = "127.0.0.1:{port}"\n'
                              f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
        relay.start_worker()
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: m\r\n\r\nx\r\n")
        assert len(up.wait_for(1, timeout=30)) == 1
        assert "cannot serve metrics; retrying" in relay.log_text()
        # Freed, the address is taken at the next try.
        busy.close()
        wait_until(lambda: "relay_messages_accepted_total" in "".join(scrape(port)), timeout=40,
                   what="metrics once the port is free")
    finally:
        busy.close()
        up.stop()


def test_a_bracketed_route_host_is_resolved_through_the_configured_dns(relay_factory):
    """`[name]` skips the MX lookup, not [dns]: the system resolver knows no upstream.test."""
    up = Upstream()
    server = DNS("upstream.test", {"smarthost.upstream.test": [("A", "127.0.0.1")]})
    try:
        relay = relay_factory(f'[dns]\nservers = ["127.0.0.1:{server.port}"]\n'
                              f'[[route]]\ndomains = ["*"]\nhosts = ["[smarthost.upstream.test]:{up.port}"]\n')
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: m\r\n\r\nx\r\n")
        relay.start_worker()
        assert len(up.wait_for(1, timeout=30)) == 1
        assert ("smarthost.upstream.test", "A") in server.resolver.queries
        assert ("smarthost.upstream.test", "MX") not in server.resolver.queries
    finally:
        server.stop()
        up.stop()


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_killing_the_supervisor_ends_both_roles(relay_factory, tmp_path):
    """A restarted unit must find the port free: the roles end with their supervisor.
    Started from a directory the relay user may not enter, as `sudo -u relayd relayd serve`
    in root's home is: the children must start all the same."""
    relay = relay_factory(start=False)
    relay.hand_over()
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    log = open(relay.log, "ab")
    proc = subprocess.Popen(relay.command("serve"), stdout=log, stderr=log, cwd=private)
    try:
        wait_for_port(relay.port, proc)
        roles = wait_until(lambda: (lambda c: c if len(c) == 2 else None)(children_of(proc.pid)), what="both roles")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        wait_until(lambda: not any(alive(pid) for pid in roles), what="the roles to end")
        # The port is free again for the next supervisor.
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", relay.port))
    finally:
        for pid in children_of(proc.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("section", ["cert", "key", "users"])
def test_check_config_loads_the_files_the_daemon_loads(workdir, section):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(workdir / "key.pem"),
                    "-out", str(workdir / "cert.pem"), "-days", "2", "-subj", "/CN=relay.test"],
                   check=True, capture_output=True)
    (workdir / "users").write_text("alice:$6$salt$" + "x" * 86 + "\n")
    missing = workdir / f"missing-{section}"
    files = {"cert": workdir / "cert.pem", "key": workdir / "key.pem", "users": workdir / "users"}
    files[section] = missing
    conf = workdir / "relayd.conf"
    conf.write_text(f'spool_dir = "{workdir}/spool"\nrun_dir = "{workdir}"\n'
                    f'[tls]\ncert = "{files["cert"]}"\nkey = "{files["key"]}"\n[auth]\nusers_file = "{files["users"]}"\n')
    hand_over(workdir)
    out = subprocess.run(unprivileged([RELAYD, "check-config", "-c", conf]), capture_output=True, text=True, timeout=30)
    assert out.returncode == 78 and str(missing) in out.stderr, (out.returncode, out.stderr)
    # The daemon refuses the same file, with the same status.
    started = subprocess.run(unprivileged([RELAYD, "listener", "-c", conf]), capture_output=True, text=True, timeout=30)
    assert started.returncode == 78 and str(missing) in started.stderr


def test_relayctl_as_root_with_the_daemons_down_leaves_the_spool_usable(relay_factory):
    """An admin lists the queue as root while relayd is stopped; relayd (unprivileged) must
    still open its spool afterwards."""
    relay = relay_factory()
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
        smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: m\r\n\r\nx\r\n")
    relay.stop()
    for args in (["queue"], ["queue", "--json"], ["queue", "shape"]):
        out = subprocess.run([str(RELAYCTL), "-c", str(relay.config), *args], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
    if DROP:
        for path in relay.spool_dir.iterdir():
            assert path.stat().st_uid == RELAY_UID, f"{path} now belongs to uid {path.stat().st_uid}"
    relay.proc = None
    relay.start()
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
        smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: again\r\n\r\nx\r\n")
    assert len(relay.messages()) == 2


def test_the_spool_is_private_whatever_the_umask(relay_factory):
    """Started with umask 000, the roles still create 0700 directories and 0600 files."""
    relay = relay_factory(start=False)
    relay.hand_over()
    log = open(relay.log, "ab")
    relay.proc = subprocess.Popen(relay.command("listener"), stdout=log, stderr=log, preexec_fn=lambda: os.umask(0))
    wait_for_port(relay.port, relay.proc)
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
        smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: private\r\n\r\nx\r\n")
    relay.start_worker()
    modes = {p.name: p.stat().st_mode & 0o777 for p in [relay.spool_dir, *relay.spool_dir.iterdir()]}
    # (The control socket is 0660 by design, and checked by peer credentials.)
    modes.update({p.name: p.stat().st_mode & 0o777 for p in relay.workdir.iterdir() if p.name == "listener.status"})
    for name, mode in modes.items():
        assert mode & 0o077 == 0, f"{name} is {oct(mode)}"
