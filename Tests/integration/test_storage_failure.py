"""A full or failing spool answers 452 4.3.1, never 250, and the listener keeps serving."""
import os
import shutil
import sqlite3
import subprocess
import time

import pytest


@pytest.fixture
def tiny_spool(workdir):
    """A 3 MB tmpfs for the spool (mounting needs root, hence the skip marks), unmounted after."""
    spool = workdir / "tiny"
    spool.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(spool)], check=True)
    yield spool
    subprocess.run(["umount", "-l", str(spool)], check=False)


def send(c, size: int) -> tuple[int, list[str]]:
    code, lines = c.cmd("MAIL FROM:<a@example.org>")
    if code != 250:
        return code, lines  # no room for such a message: 452 at MAIL already
    c.cmd("RCPT TO:<b@example.com>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: fill\r\n\r\n" + (b"z" * 76 + b"\r\n") * (size // 78) + b".\r\n")
    return c.reply()


def test_locked_database_gives_452_then_recovers(relay, raw):
    c = raw(relay.port)
    c.cmd("EHLO x")
    blocker = sqlite3.connect(relay.spool_dir / "spool.sqlite", timeout=1, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        code, lines = send(c, 2_000)  # waits for the busy timeout, then fails
        assert (code, lines[0][:9]) == (452, "452 4.3.1"), lines
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert relay.messages() == []
    code, lines = send(c, 2_000)
    assert code == 250, lines
    assert len(relay.messages()) == 1


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a small tmpfs needs root")
def test_full_disk_gives_452_never_250(relay_factory, raw, tiny_spool):
    # Small enough that MAIL's check for 1.5 × max_message_size lets messages through
    # while the disk fills: the commit's own 452 is what this test holds.
    relay = relay_factory('[limits]\nmax_message_size = "210KB"\n', spool_dir=tiny_spool)
    c = raw(relay.port)
    c.cmd("EHLO x")
    accepted, refused = [], 0
    for _ in range(40):
        code, lines = send(c, 200_000)
        if code == 250:
            accepted.append(lines[0].rsplit(" ", 1)[1])
        else:
            assert (code, lines[0][:9]) == (452, "452 4.3.1"), lines
            refused += 1
    assert accepted and refused, (len(accepted), refused)
    assert c.cmd("NOOP")[0] == 250  # the session goes on
    stored = {m["queue_id"] for m in relay.messages()}
    assert stored == set(accepted)  # every 250 stored, nothing refused half-stored
    for qid in accepted:
        assert len(relay.body(qid)) == relay.message(qid)["size"]
    relay.stop()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None, reason="mounting a small tmpfs needs root")
def test_no_room_for_a_message_is_452_at_mail(relay_factory, raw, tiny_spool):
    """Postfix's rule: without room for 1.5 × max_message_size, MAIL gets 452 4.3.1 at once,
    instead of 250, 354 and a 452 only after the whole message (issue 13, hole 10)."""
    relay = relay_factory('[limits]\nmax_message_size = "5MB"\n', spool_dir=tiny_spool)
    c = raw(relay.port)
    c.cmd("EHLO x")
    code, lines = c.cmd("MAIL FROM:<a@example.org> SIZE=1000")
    assert (code, lines[0][:9]) == (452, "452 4.3.1"), lines
    assert c.cmd("NOOP")[0] == 250  # the session goes on
    relay.stop()


def test_a_spool_deleted_under_the_relay_gets_452_not_250(relay, raw):
    """Deleted under a running listener, the database lives on as an unlinked inode: a 250 would
    be a promise nobody can keep (issue 13, hole 6). The listener refuses and says why."""
    relay.start_worker()  # opened before the deletion: it goes on delivering from its open file
    c = raw(relay.port)
    c.cmd("EHLO x")
    assert send(c, 1_000)[0] == 250
    for path in relay.spool_dir.iterdir():
        if path.name.startswith("spool.sqlite"):
            path.unlink()
    code, lines = send(c, 1_000)
    assert (code, lines[0][:9]) == (452, "452 4.3.1"), lines
    assert "the spool database was deleted or replaced" in relay.log_text()
    assert c.cmd("NOOP")[0] == 250
    # relayctl status says it, for both roles, in both forms.
    import json
    from conftest import RELAYCTL, wait_until

    def status(*extra):
        return subprocess.run([str(RELAYCTL), "status", *extra, "-c", str(relay.config)], capture_output=True,
                              text=True, timeout=30)
    def both_say_it():
        answer = json.loads(status("--json").stdout)
        return answer["listener"]["spool_replaced"] is True and answer["worker"]["spool_replaced"] is True
    wait_until(both_say_it, 30, "status --json to say it for both roles",
               detail=lambda: f": {status('--json').stdout} {status('--json').stderr}")
    human = status().stdout
    assert "SPOOL DELETED OR REPLACED" in human and "queue:     unknown: cannot open" in human, human
    relay.wait_until(lambda: "delivering what this process still holds" in relay.worker_log_text(), 30,
                     "the worker's critical line")


def fill(directory) -> "Path":
    """A file that takes every free block of `directory`'s file system."""
    filler = directory / "filler"
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_outcomes_a_full_spool_refuses_are_kept_and_written_when_space_returns(relay_factory, tiny_spool):
    """Hole 3: the worker delivered, then could not write the outcome (SQLITE_FULL). It keeps
    the outcome, starts no delivery, says so in status and metrics, writes it once space is
    back, and a restart then delivers nothing twice."""
    import json
    import threading
    import urllib.request

    from conftest import RELAYCTL, free_port, wait_until
    from peers import Upstream

    release = threading.Event()
    up = Upstream(script={"dot": lambda accepted, _: release.wait(60) and "250 2.0.0 Ok: queued\r\n"})
    metrics_port = free_port()
    relay = relay_factory(
        f'[metrics]\naddress = "127.0.0.1:{metrics_port}"\n[limits]\nmax_message_size = "100KB"\n'
        f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n', spool_dir=tiny_spool)
    relay.start_worker()
    filler = None
    try:
        import smtplib
        with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
            smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: once\r\n\r\nonly once\r\n")
        wait_until(lambda: up.mail_attempts == 1, 30, "the worker to be in the transaction")
        # The WAL emptied, then the disk filled: the outcome's commit needs a block it cannot get.
        with sqlite3.connect(tiny_spool / "spool.sqlite", timeout=30) as conn:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            assert busy == 0
        filler = fill(tiny_spool)
        release.set()
        relay.wait_until(lambda: "deliveries stop until they are recorded" in relay.worker_log_text(), 30,
                         "the worker to keep the outcome")
        assert len(up.wait_for(1)) == 1

        def status():
            out = subprocess.run([str(RELAYCTL), "status", "--json", "-c", str(relay.config)],
                                 capture_output=True, text=True, timeout=30)
            return json.loads(out.stdout)["worker"]
        worker = status()
        assert worker["unrecorded_outcomes"] == 1 and "full" in worker["storage_error"].lower(), worker
        text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        assert "relay_unrecorded_outcomes 1" in text.replace(".0", "")
        human = subprocess.run([str(RELAYCTL), "status", "-c", str(relay.config)], capture_output=True, text=True).stdout
        assert "delivery stopped: 1 outcome(s) the spool refused" in human

        # Meanwhile the spool still calls the recipient active, as it was when claimed.
        assert [r["state"] for r in relay.db().execute("SELECT state FROM recipients")] == ["active"]
        filler.unlink()
        filler = None
        relay.wait_until(lambda: "deliveries resume" in relay.worker_log_text(), 30, "the outcome to be written")
        assert relay.messages() == []  # delivered to every recipient: gone from the spool
        assert status()["unrecorded_outcomes"] == 0
        # A restart finds nothing to deliver again.
        relay.stop_worker()
        relay.start_worker()
        time.sleep(2)
        assert len(up.transactions) == 1
    finally:
        release.set()
        if filler:
            filler.unlink()
        up.stop()
