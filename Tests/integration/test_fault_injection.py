"""Fault injection on real processes: libfiu's POSIX preload (Debian's fiu-utils) makes fsync,
fdatasync and pwrite fail at random inside the listener or the worker, and a clock shim
(clockshift.c) moves the worker's wall clock back and forth during retries. Each test holds the
same promise: no 250 for what was not stored, nothing acknowledged lost, and recovery once the
fault ends.
(Full disks and a deleted spool: test_storage_failure.py.)"""
import os
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import RawClient, wait_until
from peers import Upstream



# fiu-run with libfiu's POSIX wrappers and no failure yet: they are enabled once the process
# is up (`inject`), for a spool that cannot be opened is a refusal to start, tested elsewhere.
FIU_RUN = ["fiu-run", "-x"]


def inject(pid: int, *failures: str) -> None:
    """Enables each `name=…,probability=…` at random in the running process (fiu-ctrl)."""
    for failure in failures:
        subprocess.run(["fiu-ctrl", "-c", f"enable_random {failure}", str(pid)], check=True, timeout=10)


def send(client: RawClient, tag: str, recipients: int = 1) -> tuple[int, str]:
    assert client.cmd("MAIL FROM:<a@example.org>")[0] == 250
    for r in range(recipients):
        assert client.cmd(f"RCPT TO:<r{r}@sink.example>")[0] == 250
    assert client.cmd("DATA")[0] == 354
    client.send(f"Subject: fault\r\nX-Fault-Tag: {tag}\r\n\r\n{tag}\r\n".encode() + (b"x" * 70 + b"\r\n") * 30 + b".\r\n")
    code, lines = client.reply()
    return code, lines[0]


def test_a_listener_whose_syncs_and_writes_fail_acknowledges_only_what_it_stored(relay_factory):
    relay = relay_factory(start=False)
    relay.start(wrapper=FIU_RUN)
    inject(relay.proc.pid, "name=posix/io/sync/*,probability=0.3", "name=posix/io/rw/pwrite*,probability=0.02")
    acknowledged, refused = [], []
    client = RawClient(relay.port)
    assert client.reply()[0] == 220
    client.cmd("EHLO fault.example")
    for n in range(150):
        code, line = send(client, f"m{n}")
        if code == 250:
            acknowledged.append(f"m{n}")
        else:
            assert line.startswith(("451 4.3.0", "452 4.3.1")), line
            refused.append(f"m{n}")
    client.close()
    assert acknowledged and refused, (len(acknowledged), len(refused))  # the faults did happen
    relay.stop(signal.SIGKILL)
    relay.start()  # recovery, faults gone
    stored = relay.header_values("X-Fault-Tag")
    assert len(stored) == len(set(stored)), "each message stored once"
    assert set(acknowledged) <= set(stored), f"acknowledged but lost: {sorted(set(acknowledged) - set(stored))}"
    # A commit whose fsync failed has an unknown fate (SQLite: it "may or may not" have been
    # committed); its frames can survive in the WAL. Such a message was refused, so the client
    # sends it again: a duplicate, never a loss. Counted, not forbidden.
    refused_but_stored = set(stored) - set(acknowledged)
    assert refused_but_stored <= set(refused)
    print(f"listener faults: {len(acknowledged)} acknowledged and all stored, {len(refused)} refused, "
          f"{len(refused_but_stored)} of those stored anyway")
    assert relay.integrity() == "ok"
    for message in relay.messages():
        assert len(relay.body(message["queue_id"])) == message["size"]
    # The listener accepts again.
    client = RawClient(relay.port)
    client.reply()
    client.cmd("EHLO fault.example")
    assert send(client, "after")[0] == 250


def test_a_worker_whose_syncs_and_writes_fail_delivers_everything_at_least_once(relay_factory):
    deliveries: dict[str, int] = {}
    lock = threading.Lock()

    others = []

    def record(transaction):
        match = re.search(rb"X-Fault-Tag: (\S+)\r\n", transaction["data"])
        if not match:
            others.append(transaction)  # a notice the relay wrote itself: looked at below
            return
        tag = match.group(1).decode()
        with lock:
            deliveries[tag] = deliveries.get(tag, 0) + len(transaction["accepted"])

    sink = Upstream(on_message=record)
    try:
        relay = relay_factory(
            f'[delivery]\nmin_backoff = "1s"\nmax_backoff = "2s"\n'
            f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{sink.port}"]\n')
        client = RawClient(relay.port)
        client.reply()
        client.cmd("EHLO fault.example")
        tags = [f"w{n}" for n in range(60)]
        for tag in tags:
            assert send(client, tag, recipients=2)[0] == 250
        client.close()
        relay.start_worker(wrapper=FIU_RUN)
        # Each refused outcome stops deliveries until it is written (a retry a second): the
        # rates are such that deliveries still go on, slowly, on a slow machine too.
        inject(relay.worker.pid, "name=posix/io/sync/*,probability=0.2", "name=posix/io/rw/pwrite*,probability=0.05")
        wait_until(lambda: len(deliveries) >= 10, 180, "deliveries under faults")
        relay.stop_worker(signal.SIGKILL)  # mid-way, with whatever it kept unrecorded
        relay.start_worker()  # the faults end
        wait_until(lambda: all(deliveries.get(t, 0) >= 2 for t in tags), 120, "every recipient delivered",
                   detail=lambda: f"; missing {[t for t in tags if deliveries.get(t, 0) < 2][:5]}")
        relay.wait_until(lambda: relay.messages() == [], 60, "the queue to empty")
        assert relay.integrity() == "ok"
        assert not others, (len(others), [l for l in relay.worker_log_text().splitlines() if "level=error" in l or "level=critical" in l][:40])
        failures = relay.worker_log_text().count("cannot record delivery outcomes")
        print(f"worker faults: {failures} outcome writes refused; "
              f"{sum(deliveries.values()) - 2 * len(tags)} duplicate deliveries")
    finally:
        sink.stop()


@pytest.fixture
def clockshift(workdir):
    """The wall-clock shim (clockshift.c) built into the work directory, and the file whose
    number of seconds it adds to the wall clock of the processes it is preloaded into."""
    compiler = shutil.which("cc") or shutil.which("clang")
    library = workdir / "clockshift.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", library, Path(__file__).with_name("clockshift.c"), "-ldl"],
                   check=True)
    shift = workdir / "clockshift"
    shift.write_text("0\n")
    os.chmod(library, 0o755)
    os.chmod(shift, 0o644)
    # Preloaded after setpriv, in the relay's process only.
    return ["env", f"LD_PRELOAD={library}", f"CLOCKSHIFT_FILE={shift}"], shift


def test_the_wall_clock_jumping_back_and_forth_during_retries_loses_nothing(relay_factory, clockshift):
    wrapper, shift = clockshift
    attempts = []

    def rcpt(address, _):
        attempts.append(address)
        return "451 4.3.0 try again later\r\n" if len(attempts) == 1 else "250 2.1.5 Ok\r\n"

    sink = Upstream(script={"rcpt": rcpt})
    try:
        relay = relay_factory(
            f'[delivery]\nmin_backoff = "1s"\nmax_backoff = "2s"\n'
            f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{sink.port}"]\n')
        relay.start_worker(wrapper=wrapper)
        client = RawClient(relay.port)
        client.reply()
        client.cmd("EHLO clock.example")
        assert send(client, "clock")[0] == 250
        relay.wait_until(lambda: "event=deferred" in relay.worker_log_text(), 30, "the first attempt's deferral")
        shift.write_text("-7200\n")  # the clock steps back two hours: the retry is that far away
        threading.Event().wait(4)
        assert relay.worker.poll() is None, "the worker survives a clock stepping back"
        assert len(attempts) == 1, "no retry before its time as the clock now reads"
        shift.write_text("86400\n")  # and a day forward: past the retry, within the lifetime
        sink.wait_for(1, timeout=60)
        shift.write_text("0\n")
        relay.wait_until(lambda: relay.messages() == [], 60, "the queue to empty")
        assert relay.worker.poll() is None
        assert len(sink.transactions) == 1 and "event=bounced" not in relay.worker_log_text()
    finally:
        sink.stop()
