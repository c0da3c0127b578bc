"""Prometheus text at /metrics: the listener on [metrics] address, the worker on the next port."""
import smtplib
import socket
import subprocess
import time

from peers import Upstream


def two_free_ports() -> int:
    """A port p with p + 1 free too: the listener serves p, the worker p + 1."""
    for _ in range(200):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no two consecutive free ports")


def scrape(port: int) -> dict[str, float]:
    out = subprocess.run(["curl", "-s", "--max-time", "5", f"http://127.0.0.1:{port}/metrics"],
                         capture_output=True, text=True, timeout=10).stdout
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in out.splitlines() if line and not line.startswith("#")}


def test_counters_move_during_a_delivery(relay_factory):
    up = Upstream()
    port = two_free_ports()
    relay = relay_factory(f'[metrics]\naddress = "127.0.0.1:{port}"\n'
                          f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: m\r\n\r\nx\r\n")
            assert scrape(port)["relay_sessions_active"] >= 1
        listener = scrape(port)
        assert listener["relay_messages_accepted_total"] == 1
        assert listener["relay_spool_commit_seconds_count"] >= 1
        relay.start_worker()
        up.wait_for(1, timeout=30)
        deadline = time.monotonic() + 20
        worker = {}
        while worker.get('relay_delivery_attempts_total{result="delivered"}', 0) < 1:
            assert time.monotonic() < deadline, worker
            time.sleep(0.2)
            worker = scrape(port + 1)
        assert worker["relay_delivery_seconds_count"] >= 1
    finally:
        up.stop()
