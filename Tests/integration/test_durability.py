"""Never lose mail: kill -9 the listener under load; every 250 must be in the spool, whole."""
import os
import random
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import RawClient, wait_until


def message_text(tag: str, size: int) -> bytes:
    line = (tag.encode() + b" ") * 8
    lines = [b"Subject: " + tag.encode(), b"X-Test-Tag: " + tag.encode(), b""]
    while sum(len(l) + 2 for l in lines) < size:
        lines.append(line[:76])
    return b"\r\n".join(lines) + b"\r\n"


class Sender(threading.Thread):
    """Sends messages in one session after another until stopped; records what got 250."""

    def __init__(self, port: int, index: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.index, self.stop = port, index, stop
        self.accepted: dict[str, tuple[bytes, int]] = {}  # queue id -> (text, recipients)
        self.attempted: dict[str, bytes] = {}  # tag -> text

    def run(self):
        n = 0
        while not self.stop.is_set():
            try:
                c = RawClient(self.port, timeout=10)
                c.reply()
                c.cmd("EHLO load.example")
                while not self.stop.is_set():
                    n += 1
                    tag = f"t{self.index}-{n}"
                    size = 300_000 if n % 17 == 0 else random.choice([600, 3_000, 20_000])
                    text = message_text(tag, size)
                    rcpts = 1 + n % 3
                    self.attempted[tag] = text
                    c.cmd(f"MAIL FROM:<s{self.index}@example.org>")
                    for r in range(rcpts):
                        c.cmd(f"RCPT TO:<r{r}@example.com>")
                    if c.cmd("DATA")[0] != 354:
                        break
                    c.send(text + b".\r\n")
                    code, lines = c.reply()
                    if code == 250:
                        qid = re.search(r"queued as (\S+)", lines[0]).group(1)
                        self.accepted[qid] = (text, rcpts)
                c.close()
            except (OSError, ConnectionError):
                time.sleep(0.05)


def check_spool_is_whole(relay, senders):
    accepted = {}
    attempted = {}
    for s in senders:
        accepted.update(s.accepted)
        attempted.update(s.attempted)
    assert len(accepted) > 20, "the load did not get going"
    rows = {m["queue_id"]: m for m in relay.messages()}
    # Every acknowledged message is there, byte for byte, with all its recipients.
    for qid, (text, rcpts) in accepted.items():
        assert qid in rows, f"{qid} got 250 but is not in the spool"
        body = relay.body(qid)
        assert body.endswith(text) and body.startswith(b"Received: ")
        assert len(relay.recipients(qid)) == rcpts
    # Nothing in the spool is half there: each row has its whole text and recipients.
    for qid, row in rows.items():
        body = relay.body(qid)
        assert len(body) == row["size"]
        tag = re.search(rb"X-Test-Tag: (\S+)\r\n", body).group(1).decode()
        assert body.endswith(attempted[tag]), f"{qid} is truncated"
        assert len(relay.recipients(qid)) >= 1
    return accepted, rows


@pytest.mark.parametrize("round_", range(2))
def test_kill9_under_load_loses_nothing_acknowledged(relay_factory, round_):
    relay = relay_factory()
    stop = threading.Event()
    senders = [Sender(relay.port, i, stop) for i in range(16)]
    for s in senders:
        s.start()
    time.sleep(2.0 + round_ * 0.7)
    relay.kill9()  # mid-stream: sessions are in DATA, in commit, between commands
    stop.set()
    for s in senders:
        s.join(timeout=15)
    leftovers = os.listdir(relay.spool_dir / "incoming")
    relay.start()  # recovery: the restarted listener opens the same spool
    accepted, rows = check_spool_is_whole(relay, senders)
    assert not os.listdir(relay.spool_dir / "incoming"), f"spill files left: {leftovers}"
    # After the restart the listener accepts again.
    out = subprocess.run(["swaks", "--server", f"127.0.0.1:{relay.port}", "--to", "x@example.com"],
                         capture_output=True, text=True, timeout=60)
    assert "250 2.0.0 Ok: queued as" in out.stdout
    relay.stop()


def test_a_second_listener_never_removes_a_live_sessions_spill_file(relay_factory):
    """Hole 7: a listener starting on the spool (as the new one of a reload does) removes only
    spill files no live process holds; a session of the first listener writing a large message
    meanwhile still gets its 250, and the message is whole."""
    first = relay_factory()
    c = RawClient(first.port)
    c.reply()
    c.cmd("EHLO big.example")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    assert c.cmd("DATA")[0] == 354
    text = message_text("spilled", 600_000)
    c.send(text[:400_000])  # past the 256 KiB kept in memory: a spill file in incoming/
    wait_until(lambda: os.listdir(first.spool_dir / "incoming"), 30, "the spill file")
    stale = first.spool_dir / "incoming" / "left-by-a-crash"
    stale.write_bytes(b"x")
    second = relay_factory(spool_dir=first.spool_dir)  # starts a listener on the same spool
    assert not stale.exists(), "a file no process holds is removed"
    c.send(text[400_000:] + b".\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    qid = lines[0].rsplit(" ", 1)[1]
    assert first.body(qid).endswith(text)
    assert os.listdir(first.spool_dir / "incoming") == []
    second.stop()
