"""Fixtures that run the real relayd binary on loopback and read its spool."""
import atexit
import os
import re
import pwd
import shutil
import signal
import stat
import socket
import sqlite3
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Relay runs as an unprivileged user, as its package does (User=relayd): run as root, the tests
# start every relayd as RELAY_TEST_USER (default `nobody`) with setpriv, and hand it the
# directories it needs. A test that truly needs root for relayd says so and uses `as_root=True`.
# RELAY_TEST_AS_ROOT=1 restores the old behaviour (never in CI).
PRIVILEGED = os.geteuid() == 0
DROP = PRIVILEGED and os.environ.get("RELAY_TEST_AS_ROOT") != "1"
RELAY_USER = os.environ.get("RELAY_TEST_USER", "nobody")
RELAY_UID, RELAY_GID = (pwd.getpwnam(RELAY_USER).pw_uid, pwd.getpwnam(RELAY_USER).pw_gid) if DROP else (os.getuid(), os.getgid())


def _reachable_binaries() -> Path:
    """The built programs, copied where the relay user can run them: the clone may live under
    a directory only root may enter (/root in CI)."""
    built = ROOT / ".build" / "debug"
    if not DROP:
        return built
    target = Path(tempfile.mkdtemp(prefix="relay-bin-"))
    os.chmod(target, 0o755)
    for name in ("relayd", "relayctl"):
        if (built / name).exists():
            shutil.copy2(built / name, target / name)
            os.chmod(target / name, 0o755)
    atexit.register(shutil.rmtree, target, True)
    return target


BIN = _reachable_binaries()
RELAYD = Path(os.environ.get("RELAYD", BIN / "relayd"))
RELAYCTL = Path(os.environ.get("RELAYCTL", BIN / "relayctl"))


def unprivileged(argv: list[str]) -> list[str]:
    """`argv` run as the relay user (unchanged when the tests do not run as root)."""
    if not DROP:
        return [str(a) for a in argv]
    return ["setpriv", f"--reuid={RELAY_UID}", f"--regid={RELAY_GID}", "--clear-groups", "--", *map(str, argv)]


def hand_over(*paths: Path) -> None:
    """Gives `paths` (recursively) to the relay user, as a package's tmpfiles.d does for its
    spool and run directories."""
    if not DROP:
        return
    for path in paths:
        path = Path(path).resolve()
        if not path.exists():
            continue
        # The way there must be open to it too (pytest's own tmp directories are 0700).
        for parent in path.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
        os.chown(path, RELAY_UID, RELAY_GID)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                for name in dirnames + filenames:
                    try:
                        os.chown(os.path.join(dirpath, name), RELAY_UID, RELAY_GID, follow_symlinks=False)
                    except FileNotFoundError:
                        pass  # a running role's temporary file (listener.status is written atomically)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"relayd exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                try:
                    s.recv(512)  # the banner; this probe session then closes
                except socket.timeout:
                    pass  # a proxy_protocol listener says nothing before the PROXY header
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"relayd did not listen on {port}")


def wait_until(predicate, timeout: float = 30, what: str = "condition", detail=lambda: ""):
    """The first true value of `predicate`, polled every 0.1 s, or an AssertionError naming
    `what` (and `detail()`) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}{detail()}")


class Relay:
    """One relayd listener with its own spool in a temporary directory."""

    def __init__(self, workdir: Path, extra: str = "", spool_dir: Path | None = None):
        self.workdir = workdir
        self.port = free_port()
        self.spool_dir = spool_dir or workdir / "spool"
        self.config = workdir / "relayd.conf"
        self.log = workdir / "relayd.log"
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_log = workdir / "worker.log"
        self.write_config()

    def write_config(self) -> None:
        body = textwrap.dedent(
            f"""
            hostname  = "relay.test"
            spool_dir = "{self.spool_dir}"
            run_dir   = "{self.workdir}"
            """
        )
        extra = textwrap.dedent(self.extra)
        if "[[listener]]" not in extra:
            body += f'\n[[listener]]\naddress = "127.0.0.1:{self.port}"\n'
        else:
            extra = extra.replace("PORT", str(self.port))
        self.config.write_text(body + extra)

    def hand_over(self) -> None:
        """The relay's directory (config, spool, run dir, keys) to the relay user."""
        hand_over(self.workdir, self.spool_dir)

    def command(self, role: str, wrapper=()) -> list[str]:
        """`relayd ROLE -c CONFIG`, as the relay user; `wrapper` (fiu-run, say) runs it."""
        return unprivileged([*wrapper, RELAYD, role, "-c", self.config])

    def start(self, wrapper=(), env=None) -> "Relay":
        self.hand_over()
        logfile = open(self.log, "ab")
        self.proc = subprocess.Popen(
            self.command("listener", wrapper),
            stdout=logfile, stderr=logfile, stdin=subprocess.DEVNULL, env=env,
        )
        wait_for_port(self.port, self.proc)
        return self

    def start_worker(self, wrapper=(), env=None) -> "Relay":
        self.hand_over()
        started = self.worker_log_text().count("worker started")
        logfile = open(self.worker_log, "ab")
        self.worker = subprocess.Popen(
            self.command("worker", wrapper),
            stdout=logfile, stderr=logfile, stdin=subprocess.DEVNULL, env=env,
        )
        deadline = time.monotonic() + 20
        while self.worker_log_text().count("worker started") <= started:
            if self.worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker did not start: {self.worker_log_text()}")
            time.sleep(0.05)
        return self

    def stop_worker(self, sig: int = signal.SIGTERM) -> int:
        if self.worker is None or self.worker.poll() is not None:
            return self.worker.returncode if self.worker else 0
        self.worker.send_signal(sig)
        return self.worker.wait(timeout=30)

    def worker_log_text(self) -> str:
        return self.worker_log.read_text(errors="replace") if self.worker_log.exists() else ""

    def wait_until(self, predicate, timeout: float = 30, what: str = "condition"):
        return wait_until(predicate, timeout, what, detail=lambda: f"; worker log:\n{self.worker_log_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.stop_worker(sig if sig != signal.SIGTERM else signal.SIGTERM)
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def kill9(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # --- spool access -------------------------------------------------------
    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.spool_dir / "spool.sqlite", timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def messages(self) -> list[sqlite3.Row]:
        with self.db() as conn:
            return conn.execute("SELECT * FROM messages ORDER BY queue_id").fetchall()

    def message(self, queue_id: str) -> sqlite3.Row:
        with self.db() as conn:
            row = conn.execute("SELECT * FROM messages WHERE queue_id = ?", (queue_id,)).fetchone()
            assert row is not None, f"{queue_id} not in spool"
            return row

    def recipients(self, queue_id: str) -> list[sqlite3.Row]:
        with self.db() as conn:
            return conn.execute(
                "SELECT r.* FROM recipients r JOIN messages m ON m.id = r.message_id "
                "WHERE m.queue_id = ? ORDER BY r.id", (queue_id,)).fetchall()

    def header_values(self, name: str) -> list[str]:
        """The value of header field `name` in each message still in the spool (its first
        chunk), one entry per message: the tests' tags."""
        pattern = re.compile(rb"\r\n" + re.escape(name.encode()) + rb": (\S+)\r\n")
        with self.db() as conn:
            chunks = conn.execute("SELECT data FROM body_chunks WHERE seq = 0").fetchall()
        return [m.group(1).decode() for (data,) in chunks if (m := pattern.search(bytes(data)))]

    def integrity(self) -> str:
        """SQLite's `PRAGMA integrity_check` of the spool: "ok" when whole."""
        with self.db() as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]

    def body(self, queue_id: str) -> bytes:
        with self.db() as conn:
            rows = conn.execute(
                "SELECT c.data FROM body_chunks c JOIN messages m ON m.id = c.message_id "
                "WHERE m.queue_id = ? ORDER BY c.seq", (queue_id,)).fetchall()
            return b"".join(bytes(r[0]) for r in rows)


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="relay-test-") as d:
        os.chmod(d, 0o755)
        yield Path(d)


@pytest.fixture
def relay_factory(workdir):
    started: list[Relay] = []

    def make(extra: str = "", start: bool = True, **kw) -> Relay:
        sub = workdir / f"r{len(started)}"
        sub.mkdir()
        relay = Relay(sub, extra, **kw)
        started.append(relay)
        return relay.start() if start else relay

    yield make
    for relay in started:
        try:
            relay.stop(signal.SIGKILL)
        except Exception:
            pass


@pytest.fixture
def relay(relay_factory):
    return relay_factory()


class RawClient:
    """A byte-level SMTP client for what smtplib will not send."""

    def __init__(self, port: int, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> tuple[int, list[str]]:
        """Reads one (possibly multi-line) reply; returns (code, lines)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed; partial {self.buf!r}, lines {lines}")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode()
            lines.append(text)
            if len(text) < 4 or text[3] == " ":
                return int(text[:3]), lines

    def cmd(self, line: str | bytes) -> tuple[int, list[str]]:
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def closed(self, timeout: float = 5) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw():
    clients: list[RawClient] = []

    def connect(port: int, greet: bool = True) -> RawClient:
        client = RawClient(port)
        clients.append(client)
        if greet:
            code, _ = client.reply()
            assert code == 220
        return client

    yield connect
    for c in clients:
        c.close()
