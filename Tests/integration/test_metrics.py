"""Prometheus text at /metrics: one endpoint, [metrics] address, serving both roles' metrics."""
import smtplib
import socket
import subprocess

from conftest import wait_until
from peers import Upstream


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[str, float]:
    out = subprocess.run(["curl", "-s", "--max-time", "5", f"http://127.0.0.1:{port}/metrics"],
                         capture_output=True, text=True, timeout=10).stdout
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in out.splitlines() if line and not line.startswith("#")}


def test_counters_move_during_a_delivery(relay_factory):
    up = Upstream()
    port = free_port()
    relay = relay_factory(f'[metrics]\naddress = "127.0.0.1:{port}"\n'
                          f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
    try:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: m\r\n\r\nx\r\n")
            assert scrape(port)["relay_sessions_active"] >= 1
        listener = scrape(port)
        assert listener["relay_messages_accepted_total"] == 1
        assert listener["relay_spool_commit_seconds_count"] >= 1
        assert listener["relay_worker_up"] == 0
        relay.start_worker()
        up.wait_for(1, timeout=30)
        both = wait_until(
            lambda: (lambda f: f if f.get('relay_delivery_attempts_total{result="delivered"}', 0) >= 1 else None)(
                scrape(port)), timeout=20, what="the worker's figures at the same address")
        assert both["relay_delivery_seconds_count"] >= 1 and both["relay_worker_up"] == 1
        assert both["relay_messages_accepted_total"] == 1
    finally:
        up.stop()
