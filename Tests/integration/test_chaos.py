"""Chaos: `relayd serve` under load from several senders, `kill -9` of the listener, the worker,
the supervisor or all three at a random moment, restart, and at the end a drain to a counting
sink. Every message that got `250` must reach the sink for every recipient: 0 lost. A message
delivered twice (the worker killed between the upstream's 250 and its own commit, RFC 1047's
window) is counted as a duplicate, not a loss. `PRAGMA integrity_check` after every round.

RELAY_CHAOS_ROUNDS sets the rounds (20 in `make test`, 200 in `make chaos`); RELAY_CHAOS_SEED
replays a run. The closing line: `N rounds, A acknowledged, 0 lost, D duplicated`."""
import collections
import os
import random
import re
import signal
import subprocess
import threading
import time

from conftest import RawClient, wait_for_port, wait_until
from peers import Upstream
from test_supervisor import children

ROUNDS = int(os.environ.get("RELAY_CHAOS_ROUNDS", "20"))
SEED = int(os.environ.get("RELAY_CHAOS_SEED", str(random.randrange(1 << 30))))
SENDERS = 8
# A pause between a sender's messages: about 300 messages a second in all, plenty at each kill,
# and a backlog the sink can drain in minutes after hundreds of rounds.
PACE = 0.02
VICTIMS = ("listener", "worker", "supervisor", "all")


class Sender(threading.Thread):
    """Sessions one after another until stopped; records the tag and recipients of each 250.
    Keeps no text: hundreds of rounds would not fit."""

    def __init__(self, port: int, index: int, stop: threading.Event, rng: random.Random):
        super().__init__(daemon=True)
        self.port, self.index, self.stop, self.rng = port, index, stop, rng
        self.acknowledged: dict[str, int] = {}  # tag -> recipients
        self.sequence = 0

    def run(self):
        while not self.stop.is_set():
            try:
                client = RawClient(self.port, timeout=10)
                if client.reply()[0] != 220:
                    raise ConnectionError
                client.cmd("EHLO chaos.example")
                while not self.stop.is_set():
                    self.send_one(client)
                    self.stop.wait(PACE)
                client.close()
            except (OSError, ConnectionError, AttributeError, IndexError, ValueError):
                time.sleep(0.05)

    def send_one(self, client: RawClient):
        self.sequence += 1
        tag = f"s{self.index}-{self.sequence}-{self.rng.randrange(1 << 30):x}"
        # Mostly small; one in 40 is past the 256 KiB in-memory limit and spills to a file.
        size = 300_000 if self.sequence % 40 == 0 else self.rng.choice([500, 2_000, 8_000])
        recipients = 1 + self.sequence % 3
        if client.cmd(f"MAIL FROM:<s{self.index}@chaos.example>")[0] != 250:
            raise ConnectionError
        for r in range(recipients):
            if client.cmd(f"RCPT TO:<r{r}@sink.example>")[0] != 250:
                raise ConnectionError
        if client.cmd("DATA")[0] != 354:
            raise ConnectionError
        line = (tag + " ") * 6
        body = f"Subject: chaos\r\nX-Chaos-Tag: {tag}\r\n\r\n" + (line[:70] + "\r\n") * (size // 72)
        client.send(body.encode() + b".\r\n")
        code, lines = client.reply()
        if code == 250 and "queued as" in lines[0]:
            self.acknowledged[tag] = recipients
        elif code != 250:
            raise ConnectionError


class Sink:
    """The upstream every message is routed to: counts deliveries per (tag, recipient)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries: collections.Counter = collections.Counter()
        self.upstream = Upstream(on_message=self.record)

    def record(self, transaction: dict):
        match = re.search(rb"X-Chaos-Tag: (\S+)\r\n", transaction["data"])
        tag = match.group(1).decode() if match else "?"
        with self.lock:
            for address in transaction["accepted"]:
                self.deliveries[(tag, address)] += 1


def serve(relay):
    relay.hand_over()
    log = open(relay.log, "ab")
    proc = subprocess.Popen(relay.command("serve"), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    wait_until(lambda: len(children(proc.pid)) == 2, 30, "both roles started")
    wait_for_port(relay.port, proc, timeout=120)
    return proc


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie of ours counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_chaos_kill9_rounds_lose_nothing(relay_factory, capsys):
    rng = random.Random(SEED)
    sink = Sink()
    relay = relay_factory(
        f"""
        [delivery]
        min_backoff = "1s"
        max_backoff = "2s"

        [[route]]
        domains = ["*"]
        hosts = ["[127.0.0.1]:{sink.upstream.port}"]
        """, start=False)
    proc = serve(relay)
    senders: list[Sender] = []
    kills = collections.Counter()
    try:
        for round_ in range(ROUNDS):
            stop = threading.Event()
            batch = [Sender(relay.port, len(senders) + i, stop, random.Random(rng.random())) for i in range(SENDERS)]
            senders += batch
            for s in batch:
                s.start()
            time.sleep(rng.uniform(0.3, 2.5))
            victim = rng.choice(VICTIMS)
            kills[victim] += 1
            roles = children(proc.pid)
            if victim in ("listener", "worker"):
                os.kill(roles[victim], signal.SIGKILL)
            else:
                targets = [proc.pid] + (list(roles.values()) if victim == "all" else [])
                for pid in targets:
                    os.kill(pid, signal.SIGKILL)
            stop.set()
            for s in batch:
                s.join(timeout=30)
            if victim in ("supervisor", "all"):
                proc.wait()
                # The roles end with their supervisor (they watch it through a pidfd).
                wait_until(lambda: all(gone(pid) for pid in roles.values()), 60,
                           f"round {round_}: the roles of a killed supervisor to end")
                proc = serve(relay)
            else:
                wait_until(lambda: children(proc.pid).get(victim, roles[victim]) != roles[victim], 120,
                           f"round {round_}: the supervisor to restart the {victim}")
                wait_for_port(relay.port, proc, timeout=120)
            assert relay.integrity() == "ok", f"round {round_} (seed {SEED}): spool integrity"

        expected = {(tag, f"r{r}@sink.example") for s in senders for tag, n in s.acknowledged.items() for r in range(n)}
        acknowledged = sum(len(s.acknowledged) for s in senders)
        assert acknowledged > ROUNDS * 10, "the load did not get going"

        def missing():
            with sink.lock:
                return {pair for pair in expected if sink.deliveries[pair] == 0}

        # Drain for as long as deliveries make progress (a minute without one ends it).
        left, last_progress = missing(), time.monotonic()
        while left and time.monotonic() - last_progress < 60:
            time.sleep(5)
            now_left = missing()
            if len(now_left) < len(left):
                last_progress = time.monotonic()
            left = now_left
        # What did not arrive is either still in the spool (stuck: a failure too) or lost.
        queued_tags = set(relay.header_values("X-Chaos-Tag"))
        lost = {pair for pair in left if pair[0] not in queued_tags}
        stuck = left - lost
        with sink.lock:
            duplicated = sum(count - 1 for pair, count in sink.deliveries.items() if pair in expected and count > 1)
            unknown = [pair for pair in sink.deliveries if pair not in expected]
        lost_messages = {tag for tag, _ in lost}
        line = (f"{ROUNDS} rounds, {acknowledged} acknowledged, {len(lost_messages)} lost, "
                f"{duplicated} duplicated (kills: {dict(kills)}; {len(unknown)} delivered without a 250 seen; "
                f"{len(stuck)} recipients still queued after the drain; seed {SEED})")
        with capsys.disabled():
            print(f"\nchaos: {line}")
        assert not lost, f"{line}; lost recipients, first: {sorted(lost)[:5]}"
        assert not stuck, f"{line}; never delivered though queued, first: {sorted(stuck)[:5]}"
        assert relay.integrity() == "ok"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        for pid in children(proc.pid).values():
            os.kill(pid, signal.SIGKILL)
        sink.upstream.stop()
