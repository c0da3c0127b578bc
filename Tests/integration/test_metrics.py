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


def test_series_exist_at_zero_refusals_are_counted_and_a_gone_destination_clears(relay_factory):
    """Alerts need series that exist before their first event and that leave when the
    condition ends: counters at 0 from the start, relay_build_info, refusals by stage, and a
    deferred destination that disappears once its mail is delivered."""
    answers = ["451 4.3.0 not now\r\n"]
    up = Upstream(script={"rcpt": lambda address, _: answers[0]})
    port = free_port()
    relay = relay_factory(f'[metrics]\naddress = "127.0.0.1:{port}"\n[delivery]\nmin_backoff = "1s"\nmax_backoff = "1s"\n'
                          f'[relay]\nallow_networks = []\naccept_domains = ["dest.example"]\n'
                          f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
    try:
        relay.start_worker()
        start = wait_until(lambda: (lambda f: f if "relay_worker_up" in f and f["relay_worker_up"] == 1 else None)(
            scrape(port)), timeout=20, what="both roles' series")
        assert start["relay_messages_accepted_total"] == 0
        assert start['relay_smtp_rejects_total{stage="RCPT"}'] == 0
        assert start['relay_delivery_attempts_total{result="bounced"}'] == 0
        assert start["relay_unrecorded_outcomes"] == 0
        assert [k for k in start if k.startswith("relay_build_info{")] == ['relay_build_info{version="0.1.0"}']
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
            smtp.ehlo("client.example")
            smtp.mail("a@example.org")
            assert smtp.rcpt("x@elsewhere.example")[0] == 554
            assert smtp.rcpt("y@dest.example")[0] == 250
            assert smtp.data(b"Subject: m\r\n\r\nx\r\n")[0] == 250
        series = 'relay_queue_deferred_recipients{destination="dest.example"}'
        deferred = wait_until(lambda: (lambda f: f if f.get(series) == 1 else None)(scrape(port)), timeout=30,
                              what="the deferred destination's series")
        assert deferred['relay_smtp_rejects_total{stage="RCPT"}'] == 1
        answers[0] = "250 2.1.5 Ok\r\n"
        up.wait_for(1, timeout=30)
        wait_until(lambda: series not in scrape(port), timeout=30, what="the series to leave with the mail")
    finally:
        up.stop()
