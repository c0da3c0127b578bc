"""relayctl against a running relayd serve holding queued, deferred, held and bounced mail."""
import json
import os
import signal
import smtplib
import subprocess
import time

import pytest

from conftest import RELAYCTL, RELAYD, ROOT, unprivileged, wait_for_port
from peers import Upstream




def ctl(relay, *args, stdin=None):
    return subprocess.run([str(RELAYCTL), *args, "-c", str(relay.config)], capture_output=True, text=True,
                          timeout=30, input=stdin)


def listing(relay):
    out = ctl(relay, "queue", "--json")
    assert out.returncode == 0, out.stderr
    return {o["queue_id"]: o for o in map(json.loads, out.stdout.splitlines())}


@pytest.fixture
def served(relay_factory):
    up = Upstream(script={"mail": lambda arg, _: "250 2.1.0 Ok\r\n" if "<>" in arg else "451 4.3.0 stuck\r\n"})
    relay = relay_factory(f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n'
                          '[delivery]\nmin_backoff = "1h"\nmax_backoff = "2h"\n', start=False)
    relay.hand_over()
    log = open(relay.log, "ab")
    proc = subprocess.Popen(relay.command("serve"), stdout=log, stderr=log)
    wait_for_port(relay.port, proc)
    deadline = time.monotonic() + 20
    while ctl(relay, "status", "--json").returncode != 0 or json.loads(ctl(relay, "status", "--json").stdout)["worker"]["pid"] is None:
        assert time.monotonic() < deadline, "worker not up"
        time.sleep(0.1)
    relay.proc = proc
    yield relay, up
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    finally:
        up.stop()


def send(relay, rcpt):
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        code, reply = smtp.data if False else (None, None)
        smtp.ehlo("c.test")
        smtp.mail("a@example.org")
        smtp.rcpt(rcpt)
        code, reply = smtp.data(b"Subject: ctl\r\n\r\nbody\r\n")
        assert code == 250
        return reply.decode().rsplit(" ", 1)[1]


def test_status_hold_release_flush_show_cat_bounce_delete(served):
    relay, up = served
    ids = [send(relay, f"r{n}@example.test") for n in range(3)]
    # The stuck upstream turns them deferred.
    deadline = time.monotonic() + 20
    while not all(o["queue_name"] == "deferred" for o in listing(relay).values()) or len(listing(relay)) < 3:
        assert time.monotonic() < deadline, listing(relay)
        time.sleep(0.1)

    status = json.loads(ctl(relay, "status", "--json").stdout)
    assert status["queue"] == {"queued": 0, "active": 0, "deferred": 3, "held": 0}
    assert status["supervisor"]["pid"] == relay.proc.pid
    assert status["listener"]["pid"] and status["worker"]["pid"] and status["worker"]["paused"] is False
    assert isinstance(status["worker"]["up_since"], int) and status["listener"]["sessions"] == 0

    out = ctl(relay, "queue", "hold", ids[0])
    assert out.returncode == 0 and "hold: 1 message" in out.stdout
    assert listing(relay)[ids[0]]["queue_name"] == "held"
    assert ctl(relay, "queue").stdout.splitlines()[1].startswith(ids[0] + "!")
    assert ctl(relay, "queue", "--state", "held", "--json").stdout.count("\n") == 1

    # Unknown ids: the known ones are acted on, one line per unknown id, exit 65.
    out = ctl(relay, "queue", "release", ids[0], "NOSUCHID0000001")
    assert out.returncode == 65 and "NOSUCHID0000001: no such message" in out.stderr
    assert listing(relay)[ids[0]]["queue_name"] == "deferred"

    shown = json.loads(ctl(relay, "queue", "show", "--json", ids[1]).stdout)
    assert shown["queue_id"] == ids[1] and shown["client"]["address"] == "127.0.0.1" and shown["client"]["tls"] is None
    assert shown["attempts"][0]["reply"] == "451 4.3.0 stuck" and shown["attempts"][0]["dsn"] == "4.3.0"
    assert shown["recipients"][0]["delay_reason"] == "451 4.3.0 stuck" and shown["recipients"][0]["attempts"] >= 1
    text = subprocess.run([str(RELAYCTL), "queue", "cat", ids[1], "-c", str(relay.config)], capture_output=True).stdout
    assert text.startswith(b"Received: ") and text.endswith(b"Subject: ctl\r\n\r\nbody\r\n")

    # flush: attempted again at once despite the 1 h backoff.
    before = shown["recipients"][0]["attempts"]
    assert ctl(relay, "queue", "flush", ids[1]).returncode == 0
    deadline = time.monotonic() + 20
    while listing(relay)[ids[1]]["recipients"][0]["attempts"] == before:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    # pause / resume show in status.
    assert ctl(relay, "pause", "--domain", "example.test").returncode == 0
    assert json.loads(ctl(relay, "status", "--json").stdout)["worker"]["paused_destinations"] == ["example.test"]
    assert ctl(relay, "resume").returncode == 0

    # bounce: a DSN goes to the sender now (the upstream takes null-sender mail).
    assert ctl(relay, "queue", "bounce", ids[2]).returncode == 0
    [dsn] = up.wait_for(1)
    assert dsn["mail"].startswith("MAIL FROM:<>") and b"Action: failed" in dsn["data"]
    assert ids[2] not in listing(relay)

    # delete via ids on stdin.
    out = ctl(relay, "queue", "delete", "-", stdin=f"{ids[0]}\n{ids[1]}\n")
    assert out.returncode == 0 and "delete: 2 message" in out.stdout
    # The bounce itself leaves the queue once the worker has recorded its delivery.
    deadline = time.monotonic() + 20
    while listing(relay) != {}:
        assert time.monotonic() < deadline, listing(relay)
        time.sleep(0.1)


def test_changing_commands_need_the_worker(relay):
    out = ctl(relay, "queue", "flush", "--all")
    assert out.returncode == 69 and "worker is not running" in out.stderr
    assert ctl(relay, "queue").returncode == 0  # listing works from the spool


@pytest.mark.parametrize("args", [["queue", "hold"], ["queue", "flush", "--all", "ABC"], ["queue", "hold", "bad-id"],
                                  ["pause", "--bogus"], ["queue", "show"]])
def test_usage_errors_exit_64(relay, args):
    out = ctl(relay, *args)
    assert out.returncode == 64, (out.returncode, out.stderr)


def test_a_socket_path_that_is_not_a_socket(relay, workdir):
    bogus = workdir / "not-a-socket"
    bogus.write_text("x")
    out = subprocess.run([str(RELAYCTL), "queue", "flush", "--all", "-s", str(bogus), "-c", str(relay.config)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 69 and "not a socket" in out.stderr


def test_reload_refuses_a_bad_file_and_applies_a_good_one(served):
    relay, _ = served
    good = relay.config.read_text()
    relay.config.write_text(good + '\n[limits]\nmax_recipients = "many"\n')
    out = ctl(relay, "reload")
    assert out.returncode == 78 and "limits.max_recipients" in out.stderr
    relay.config.write_text(good)
    out = ctl(relay, "reload")
    assert out.returncode == 0, out.stderr
    deadline = time.monotonic() + 20
    while "event=reloaded" not in relay.log_text() or relay.log_text().count("worker started") < 2:
        assert time.monotonic() < deadline, relay.log_text()[-2000:]
        time.sleep(0.1)
    assert json.loads(ctl(relay, "status", "--json").stdout)["worker"]["pid"] is not None


def test_pause_by_domain_holds_routed_mail_and_survives_a_worker_restart(relay_factory):
    from test_delivery import send, smarthost
    up = Upstream()
    try:
        relay = relay_factory(smarthost(up))
        relay.start_worker()
        assert ctl(relay, "pause", "--domain", "Example.COM").returncode == 0
        # Through a smarthost route: the paused domain's recipients wait, the others go.
        send(relay, "a@example.org", ["x@example.com", "y@other.test"])
        send(relay, "a@example.org", ["z@example.com"])
        [first] = up.wait_for(1)
        assert first["accepted"] == ["y@other.test"]
        # The outcome is committed after the upstream's 250: killing the worker before that
        # would rightly deliver y@other.test again (RFC 1047), so wait for it first.
        def delivered():
            with relay.db() as conn:
                return conn.execute("SELECT count(*) FROM recipients WHERE address = 'y@other.test' "
                                    "AND state = 'delivered'").fetchone()[0] == 1
        relay.wait_until(delivered, what="y@other.test's outcome in the spool")
        # The pause is kept across a restart of the worker (and so across a reload).
        relay.worker.kill()
        relay.worker.wait()
        relay.start_worker()
        deadline = time.monotonic() + 20
        while ctl(relay, "status", "--json").returncode != 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert json.loads(ctl(relay, "status", "--json").stdout)["worker"]["paused_destinations"] == ["example.com"]
        # Mail sent after the restart is delivered; by then the paused mail was read and left.
        send(relay, "a@example.org", ["w@other.test"])
        up.wait_for(2)
        assert sorted(a for t in up.transactions for a in t["accepted"]) == ["w@other.test", "y@other.test"]
        assert ctl(relay, "resume", "--domain", "example.com").returncode == 0
        up.wait_for(4)
        assert sorted(a for t in up.transactions for a in t["accepted"]) == [
            "w@other.test", "x@example.com", "y@other.test", "z@example.com"]
        assert not (relay.spool_dir / "paused.json").exists()
    finally:
        up.stop()
