#!/usr/bin/env python3
"""make bench: Relay's accept throughput and memory, beside the no-storage ceiling.

Load comes from Postfix's smtp-source; the ceiling is smtp-source against Postfix's smtp-sink
with the same parameters, measured in the same run and interleaved with Relay's runs. Every
figure is a median of RUNS runs. Only loopback is used; every loop is bounded.
"""
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELAYD = Path(os.environ.get("RELAYD", ROOT / ".build" / "release" / "relayd"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
IDLE_SESSIONS = int(os.environ.get("BENCH_IDLE", "1000"))
SECTIONS = set(os.environ.get("BENCH_SECTIONS", "accept,e2e,memory,tls").split(","))
TLS_SESSIONS = int(os.environ.get("BENCH_TLS_SESSIONS", "2000"))
# (sessions, message size); BENCH_CASES="100x1024,10x1024" narrows a run.
CASES = [tuple(int(n) for n in case.split("x"))
         for case in os.environ.get("BENCH_CASES", "10x1024,100x1024,10x51200,100x51200").split(",")]
SMTP_SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.recv(256)
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def source_command(port: int, sessions: int, size: int, messages: int) -> list[str]:
    return [SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l", str(size),
            "-f", "from@bench.test", "-t", "to@dest.test", f"127.0.0.1:{port}"]


def run_source(port: int, sessions: int, size: int, messages: int = MESSAGES) -> float:
    """Returns messages per second of wall time."""
    started = time.monotonic()
    subprocess.run(source_command(port, sessions, size, messages), check=True, timeout=900,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return messages / (time.monotonic() - started)


class Sink:
    def __init__(self):
        # A port from free_port() can be taken as an ephemeral port before smtp-sink binds it.
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen([SMTP_SINK, "-u", "nobody", f"127.0.0.1:{self.port}", "4096"],
                                         stdout=subprocess.DEVNULL, stderr=open("/tmp/bench-sink.err", "ab"))
            time.sleep(0.1)
            if self.proc.poll() is None:
                break
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class CountingSink(Sink):
    """smtp-sink -c, whose running counters (sess=N quit=N mesg=N) are read as they change:
    `sessions` is the number of connections it served, `messages` what it received."""

    def __init__(self):
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen([SMTP_SINK, "-c", "-u", "nobody", f"127.0.0.1:{self.port}", "4096"],
                                         stdout=subprocess.PIPE, stderr=open("/tmp/bench-sink.err", "ab"))
            time.sleep(0.1)
            if self.proc.poll() is None:
                break
        self.sessions = self.messages = 0
        threading.Thread(target=self._read, daemon=True).start()
        wait_port(self.port)

    def _read(self):
        pending = b""
        while chunk := self.proc.stdout.read1(4096):
            pending += chunk
            *records, pending = pending.split(b"\r")
            if records:
                fields = dict(f.split(b"=") for f in records[-1].split())
                self.sessions, self.messages = int(fields[b"sess"]), int(fields[b"mesg"])

    def wait_messages(self, count: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while self.messages < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"smtp-sink received {self.messages} of {count} messages")
            time.sleep(0.01)


class Relay:
    def __init__(self, workdir: Path, upstream_port: int | None = None, tls: tuple[Path, Path] | None = None):
        self.dir = workdir
        self.port = free_port()
        self.spool = workdir / "spool"
        self.conf = workdir / "relayd.conf"
        route = (f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{upstream_port}"]\n'
                 if upstream_port else "")
        self.conf.write_text(
            f'hostname = "bench.relay"\nspool_dir = "{self.spool}"\nrun_dir = "{workdir}"\n'
            f'[[listener]]\naddress = "127.0.0.1:{self.port}"\n'
            f'[limits]\nmax_connections = 5000\nmax_connections_per_ip = 5000\nmax_message_size = "100MB"\n'
            f'[log]\nlevel = "warning"\n' + route
            + (f'[tls]\ncert = "{tls[0]}"\nkey = "{tls[1]}"\n' if tls else ""))
        self.proc = subprocess.Popen([str(RELAYD), "listener", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=open(workdir / "relayd.log", "ab"))
        self.worker = None
        if upstream_port:
            self.worker = subprocess.Popen([str(RELAYD), "worker", "-c", str(self.conf)],
                                           stdout=subprocess.DEVNULL, stderr=open(workdir / "worker.log", "ab"))
        wait_port(self.port)

    def status(self, key: str) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def pss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
        return self.status("VmRSS")

    def queued(self) -> int:
        import sqlite3
        with sqlite3.connect(self.spool / "spool.sqlite") as db:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]

    def stop(self):
        for proc in (self.proc, self.worker):
            if proc:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.proc, self.worker):
            if proc:
                proc.wait(timeout=60)

    def cpu_seconds(self) -> tuple[float, float]:
        """User + system CPU of the listener and of the worker so far (/proc/PID/stat)."""
        def of(proc):
            if not proc:
                return 0.0
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return of(self.proc), of(self.worker)

    def peak_kb(self) -> int:
        return sum(int(line.split()[1]) for proc in (self.proc, self.worker) if proc
                   for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                   if line.startswith("VmHWM:"))


def end_to_end(base: Path) -> list[str]:
    rows = ["| sessions | size | ceiling msg/s (smtp-source → smtp-sink) | Relay end to end msg/s | ratio | "
            "upstream connections | CPU per message: listener + worker | Relay peak RSS (both roles) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for sessions, size in CASES:
        ceiling, rates, connections, peaks, listener_cpu, worker_cpu = [], [], [], [], [], []
        for run in range(RUNS):
            sink = Sink()
            ceiling.append(run_source(sink.port, sessions, size))
            sink.stop()
            sink = CountingSink()
            work = Path(tempfile.mkdtemp(prefix="bench-e2e-", dir=base))
            relay = Relay(work, upstream_port=sink.port)
            time.sleep(0.5)  # the worker binds its control socket
            started = time.monotonic()
            subprocess.run(source_command(relay.port, sessions, size, MESSAGES), check=True, timeout=900,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sink.wait_messages(MESSAGES)
            rates.append(MESSAGES / (time.monotonic() - started))
            peaks.append(relay.peak_kb())
            listener_seconds, worker_seconds = relay.cpu_seconds()
            listener_cpu.append(listener_seconds * 1000 / MESSAGES)
            worker_cpu.append(worker_seconds * 1000 / MESSAGES)
            relay.stop()  # the worker says QUIT on its cached connections
            time.sleep(0.3)
            connections.append(sink.sessions)
            sink.stop()
            shutil.rmtree(work)
            print(f"  e2e run {run + 1}: {sessions} sessions {size} B: ceiling {ceiling[-1]:.0f}/s, "
                  f"relay {rates[-1]:.0f}/s, {connections[-1]} upstream connections", file=sys.stderr)
        c, r = statistics.median(ceiling), statistics.median(rates)
        rows.append(f"| {sessions} | {size // 1024} KB | {c:,.0f} | {r:,.0f} | {r / c:.0%} | "
                    f"{statistics.median(connections):.0f} for {MESSAGES} messages | "
                    f"{statistics.median(listener_cpu):.2f} + {statistics.median(worker_cpu):.2f} ms | "
                    f"{max(peaks) / 1024:.1f} MB |")
    return rows


def accept_throughput(base: Path) -> list[str]:
    rows = ["| sessions | size | ceiling msg/s (smtp-sink) | Relay durable accept msg/s | ratio | Relay peak RSS |",
            "| --- | --- | --- | --- | --- | --- |"]
    for sessions, size in CASES:
        ceiling, relay_rates, peaks = [], [], []
        for run in range(RUNS):
            sink = Sink()
            ceiling.append(run_source(sink.port, sessions, size))
            sink.stop()
            work = Path(tempfile.mkdtemp(prefix="bench-", dir=base))
            relay = Relay(work)
            relay_rates.append(run_source(relay.port, sessions, size))
            stored = relay.queued()
            peaks.append(relay.status("VmHWM"))
            relay.stop()
            shutil.rmtree(work)
            if stored != MESSAGES:
                raise SystemExit(f"spool holds {stored} messages, smtp-source sent {MESSAGES}")
            print(f"  run {run + 1}: {sessions} sessions {size} B: ceiling {ceiling[-1]:.0f}/s, "
                  f"relay {relay_rates[-1]:.0f}/s", file=sys.stderr)
        c, r = statistics.median(ceiling), statistics.median(relay_rates)
        rows.append(f"| {sessions} | {size // 1024} KB | {c:,.0f} | {r:,.0f} | {r / c:.0%} | "
                    f"{max(peaks) / 1024:.1f} MB |")
    return rows


def idle_sessions(base: Path) -> list[str]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, IDLE_SESSIONS * 2 + 100)), hard))
    results = []
    for run in range(RUNS):
        work = Path(tempfile.mkdtemp(prefix="bench-idle-", dir=base))
        relay = Relay(work)
        # Warm up: one session end to end, so lazily built state is not charged to the sessions.
        run_source(relay.port, 1, 1024, 5)
        time.sleep(0.5)
        before = relay.pss_kb()
        socks = []
        for _ in range(IDLE_SESSIONS):
            s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
            s.recv(512)
            s.sendall(b"EHLO idle.bench\r\n")
            data = b""
            while not data.endswith(b"250 HELP\r\n"):
                data += s.recv(4096)
            socks.append(s)
        time.sleep(1.0)
        after = relay.pss_kb()
        for s in socks:
            s.close()
        relay.stop()
        shutil.rmtree(work)
        results.append((after - before) / IDLE_SESSIONS)
        print(f"  run {run + 1}: {IDLE_SESSIONS} idle sessions: {before} KB -> {after} KB", file=sys.stderr)
    return [f"| memory per idle session after EHLO (PSS growth / {IDLE_SESSIONS}) | "
            f"{statistics.median(results):.1f} KB |"]


def large_message(base: Path) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="bench-large-", dir=base))
    relay = Relay(work)
    run_source(relay.port, 1, 1024, 5)
    before = relay.status("VmRSS")
    started = time.monotonic()
    run_source(relay.port, 1, 50_000_000, 1)
    seconds = time.monotonic() - started
    peak = relay.status("VmHWM")
    relay.stop()
    shutil.rmtree(work)
    return [f"| one 50 MB message: peak RSS growth | {(peak - before) / 1024:.1f} MB (RSS {before / 1024:.1f} MB "
            f"before, peak {peak / 1024:.1f} MB; {seconds:.1f} s) |"]


def _tls_client(args) -> int:
    """One worker process: `count` sessions, each STARTTLS (optional) and one 1 KB message or just
    the handshake. Returns the sessions completed."""
    import smtplib
    import ssl
    port, count, use_tls, send = args
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    body = b"Subject: bench\r\n\r\n" + (b"x" * 76 + b"\r\n") * 13
    done = 0
    for _ in range(count):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo("bench.client")
            if use_tls:
                smtp.starttls(context=context)
                smtp.ehlo("bench.client")
            if send:
                smtp.sendmail("from@bench.test", ["to@dest.test"], body)
        done += 1
    return done


def tls_figures(base: Path) -> list[str]:
    """STARTTLS handshakes/s, messages/s over STARTTLS against plaintext (same Python client, two
    client processes), and the memory of an idle TLS session."""
    import multiprocessing
    import ssl
    work = Path(tempfile.mkdtemp(prefix="bench-tls-", dir=base))
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=bench.relay"],
                   check=True, capture_output=True)
    relay = Relay(work, tls=(cert, key))
    rows = []
    with multiprocessing.Pool(2) as pool:
        def rate(use_tls: bool, send: bool) -> float:
            rates = []
            for _ in range(RUNS):
                started = time.monotonic()
                pool.map(_tls_client, [(relay.port, TLS_SESSIONS // 2, use_tls, send)] * 2)
                rates.append(TLS_SESSIONS / (time.monotonic() - started))
            return statistics.median(rates)
        handshakes = rate(True, False)
        plain_sessions = rate(False, False)
        tls_messages = rate(True, True)
        plain_messages = rate(False, True)
    rows.append(f"| sessions/s with STARTTLS handshake (no message) | {handshakes:,.0f} "
                f"(plaintext sessions: {plain_sessions:,.0f}; ratio {handshakes / plain_sessions:.0%}) |")
    rows.append(f"| 1 KB messages/s over STARTTLS, one per session | {tls_messages:,.0f} "
                f"(plaintext: {plain_messages:,.0f}; ratio {tls_messages / plain_messages:.0%}) |")
    # Idle sessions after STARTTLS and EHLO.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    time.sleep(0.5)
    before = relay.pss_kb()
    idle = []
    count = min(IDLE_SESSIONS, 500)
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
        s.recv(512)
        s.sendall(b"EHLO idle\r\n")
        data = b""
        while not data.endswith(b"250 HELP\r\n"):
            data += s.recv(4096)
        s.sendall(b"STARTTLS\r\n")
        s.recv(512)
        t = context.wrap_socket(s)
        t.sendall(b"EHLO idle\r\n")
        data = b""
        while not data.endswith(b"250 HELP\r\n"):
            data += t.recv(4096)
        idle.append(t)
    time.sleep(1.0)
    after = relay.pss_kb()
    for t in idle:
        t.close()
    relay.stop()
    shutil.rmtree(work)
    rows.append(f"| memory per idle TLS session after STARTTLS and EHLO (PSS growth / {count}) | "
                f"{(after - before) / count:.1f} KB |")
    return rows


def main() -> None:
    if not RELAYD.exists():
        raise SystemExit(f"{RELAYD} is missing: run `swift build -c release` (make bench does)")
    base = ROOT / ".build" / "bench"  # on the real disk: fsync must cost what it costs
    base.mkdir(parents=True, exist_ok=True)
    free = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1]
    print(f"## Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
    print(f"Machine: nproc {os.cpu_count()}; free -h: `{' '.join(free.split())}`; "
          f"{RUNS} runs per figure (median), {MESSAGES} messages per run.\n")
    print("Load: `" + " ".join(source_command(0, 0, 0, MESSAGES)).replace("-s 0", "-s SESSIONS")
          .replace("-l 0", "-l SIZE").replace("127.0.0.1:0", "127.0.0.1:PORT") + "`; ceiling: "
          f"`smtp-sink -u nobody 127.0.0.1:PORT 4096`.\n")
    if "accept" in SECTIONS:
        print("### Durable accept (listener alone, fsync on)\n")
        print("\n".join(accept_throughput(base)) + "\n")
    if "e2e" in SECTIONS:
        print("### End to end (listener + worker relaying to smtp-sink as a [[route]] host)\n")
        print("Time from the first connection of smtp-source to the last message counted by smtp-sink.\n")
        print("\n".join(end_to_end(base)) + "\n")
    if "tls" in SECTIONS:
        print(f"### TLS (Python smtplib clients in 2 processes, {TLS_SESSIONS} sessions per figure)\n")
        print("| what | figure |\n| --- | --- |")
        print("\n".join(tls_figures(base)) + "\n")
    if "memory" in SECTIONS:
        print("### Memory\n\n| what | figure |\n| --- | --- |")
        print("\n".join(idle_sessions(base) + large_message(base)))


if __name__ == "__main__":
    main()
