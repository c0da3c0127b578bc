"""A one-line typo in relayd.conf never stops a running relay (issue 13, hole 1).

TOMLKit's toml++ is built with assertions: on some malformed documents it aborts the process
instead of throwing. Before, `check-config` and `relayctl` died with SIGABRT (134), and a reload
killed both roles, which then crashed at every restart until the file was fixed.
"""
import json
import signal
import smtplib
import subprocess

import pytest

from conftest import RELAYCTL, RELAYD, unprivileged, wait_for_port, wait_until

# Each: the text appended to a valid file, and the line (1-based, in the appended part) at fault.
ABORTING = [("[[\n", 1), ("a = [1,}]\n", 1), ("x = 1\n[[\n", 2)]


def valid(relay) -> str:
    return relay.config.read_text()


@pytest.mark.parametrize("typo,line", ABORTING)
def test_check_config_names_the_line_instead_of_aborting(relay_factory, typo, line):
    relay = relay_factory(start=False)
    base = valid(relay)
    relay.config.write_text(base + typo)
    relay.hand_over()
    out = subprocess.run(unprivileged([RELAYD, "check-config", "-c", relay.config]), capture_output=True, text=True,
                         timeout=60)
    expected = f"{relay.config}:{base.count(chr(10)) + line}:"
    assert out.returncode == 78 and expected in out.stderr and "TOML" in out.stderr, (out.returncode, out.stderr)
    # The roles refuse it the same way at start: 78, which the supervisor does not restart.
    started = subprocess.run(relay.command("listener"), capture_output=True, text=True, timeout=60)
    assert started.returncode == 78 and expected in started.stderr, started.stderr
    listed = subprocess.run([str(RELAYCTL), "-c", str(relay.config), "queue"], capture_output=True, text=True,
                            timeout=60)
    assert listed.returncode == 78 and expected in listed.stderr, listed.stderr


def roles(relay) -> dict:
    out = subprocess.run([str(RELAYCTL), "-c", str(relay.config), "status", "--json"], capture_output=True,
                         text=True, timeout=30)
    return json.loads(out.stdout) if out.returncode == 0 else {}


@pytest.mark.parametrize("typo,line", ABORTING[:2])
def test_a_reload_of_a_broken_file_keeps_the_relay_running(relay_factory, typo, line):
    relay = relay_factory(start=False)
    base = valid(relay)
    relay.hand_over()
    log = open(relay.log, "ab")
    serve = subprocess.Popen(relay.command("serve"), stdout=log, stderr=log)
    try:
        wait_for_port(relay.port, serve)
        before = wait_until(lambda: (lambda s: s if s.get("worker", {}).get("pid") else None)(roles(relay)),
                            what="both roles up")
        relay.config.write_text(base + typo)
        # relayctl reload refuses it, and so does a SIGHUP straight to the supervisor.
        out = subprocess.run([str(RELAYCTL), "-c", str(relay.config), "reload"], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 78 and "TOML" in out.stderr, (out.returncode, out.stderr)
        serve.send_signal(signal.SIGHUP)
        wait_until(lambda: relay.log_text().count("reload refused") >= 2, what="both roles refusing the reload")
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: still here\r\n\r\nx\r\n")
        relay.config.write_text(base)  # relayctl needs a readable file to find the socket
        after = roles(relay)
        assert after["listener"]["pid"] == before["listener"]["pid"]
        assert after["worker"]["pid"] == before["worker"]["pid"]
        assert "child died" not in relay.log_text()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)


def test_check_config_names_every_problem_and_q_is_quiet(workdir):
    """Every problem at once, in file order; -q prints nothing for a valid file; a hostname
    without a dot is a warning, not a failure."""
    from conftest import RELAYD
    bad = workdir / "bad.conf"
    bad.write_text('hostname = "relay.test"\n[limits]\nmax_recipients = -1\nmax_errors = 0\n[relay]\nbogus = 1\n')
    out = subprocess.run([str(RELAYD), "check-config", "-c", str(bad)], capture_output=True, text=True, timeout=60)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 78 and len(lines) == 3, out.stderr
    assert [line.split(":")[2] for line in lines] == ["3", "4", "6"], lines
    good = workdir / "good.conf"
    good.write_text('hostname = "relay.test"\n')
    quiet = subprocess.run([str(RELAYD), "check-config", "-q", "-c", str(good)], capture_output=True, text=True, timeout=60)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    dotless = workdir / "dotless.conf"
    dotless.write_text('hostname = "mailhost"\n')
    warned = subprocess.run([str(RELAYD), "check-config", "-q", "-c", str(dotless)], capture_output=True, text=True,
                            timeout=60)
    assert warned.returncode == 0 and "warning: hostname: \"mailhost\" has no dot" in warned.stderr, warned.stderr
