"""relayd serve: children started, a killed child restarted, SIGHUP reload, SIGTERM drain,
and readiness on $NOTIFY_SOCKET."""
import os
import signal
import smtplib
import socket
import subprocess
import time

from conftest import RELAYD, hand_over, unprivileged, wait_for_port, wait_until
from peers import Upstream


def children(supervisor_pid: int) -> dict[str, int]:
    out = subprocess.run(["pgrep", "-a", "-P", str(supervisor_pid)], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        pid, command = line.split(" ", 1)
        for role in ("listener", "worker"):
            if f" {role} " in command + " ":
                found[role] = int(pid)
    return found


def wait(predicate, timeout=20, what="condition"):
    return wait_until(predicate, timeout, what)


def test_serve_supervises_reloads_and_drains(relay_factory, workdir):
    up = Upstream()
    relay = relay_factory(f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n', start=False)
    notify_path = str(workdir / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    os.chmod(notify_path, 0o666)  # the supervisor runs as the relay user, as systemd's socket allows
    notify.settimeout(20)
    relay.hand_over()
    log = open(relay.log, "ab")
    proc = subprocess.Popen(relay.command("serve"), stdout=log, stderr=log,
                            env={**os.environ, "NOTIFY_SOCKET": notify_path})
    try:
        assert notify.recv(64) == b"READY=1"
        roles = wait(lambda: (lambda c: c if len(c) == 2 else None)(children(proc.pid)), what="both children")
        wait_for_port(relay.port, proc)
        with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
            smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: via serve\r\n\r\nx\r\n")
        up.wait_for(1)

        # A child killed with SIGKILL comes back.
        os.kill(roles["listener"], signal.SIGKILL)
        new = wait(lambda: (lambda c: c if c.get("listener") not in (None, roles["listener"]) else None)(
            children(proc.pid)), what="the listener restarted")
        wait_for_port(relay.port, proc)
        assert "child died" in relay.log_text() and "role=listener" in relay.log_text()

        # A broken file on SIGHUP is refused; both children keep running.
        good = relay.config.read_text()
        relay.config.write_text(good + "\n[limits]\nmax_recipients = -1\n")
        proc.send_signal(signal.SIGHUP)
        wait(lambda: relay.log_text().count("reload refused") >= 2, what="both roles refusing the reload")
        assert children(proc.pid) == new
        # A good file is taken: the worker restarts in place (same pid), the listener swaps.
        relay.config.write_text(good)
        proc.send_signal(signal.SIGHUP)
        wait(lambda: "event=reloaded" in relay.log_text(), what="the listener reloading")
        wait(lambda: relay.log_text().count("worker started") >= 2, what="the worker restarting")
        assert children(proc.pid)["worker"] == new["worker"]
        with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
            smtp.sendmail("a@example.org", ["c@example.test"], b"Subject: after reload\r\n\r\ny\r\n")
        up.wait_for(2)

        proc.send_signal(signal.SIGTERM)
        assert notify.recv(64) == b"STOPPING=1"
        assert proc.wait(timeout=30) == 0
        assert children(proc.pid) == {}
    finally:
        if proc.poll() is None:
            proc.kill()
        up.stop()
        notify.close()


def test_serve_refuses_a_bad_config_at_once(workdir):
    conf = workdir / "bad.conf"
    conf.write_text("[limits]\nmax_errors = 0\n")
    out = subprocess.run(unprivileged([RELAYD, "serve", "-c", conf]), capture_output=True, text=True, timeout=20)
    assert out.returncode == 78 and "limits.max_errors" in out.stderr


def test_serve_stops_when_a_child_refuses_its_configuration(workdir):
    conf = workdir / "tls.conf"
    conf.write_text(f'spool_dir = "{workdir}/spool"\nrun_dir = "{workdir}"\n[[listener]]\naddress = "127.0.0.1:0"\n'
                    f'[tls]\ncert = "{workdir}/missing.pem"\nkey = "{workdir}/missing.key"\n')
    hand_over(workdir)
    out = subprocess.run(unprivileged([RELAYD, "serve", "-c", conf]), capture_output=True, text=True, timeout=30)
    assert out.returncode == 78 and "missing.pem" in out.stderr and "refused the configuration" in out.stderr
