"""Slow clients (slowloris): a connection slot is held only as long as the client makes
progress. A command line must be complete within command_timeout, however many bytes of it
trickle in; message text must keep coming at 500 octets a second or more (Postfix's
smtpd_min_data_rate); under stress (4/5 of max_connections taken) every timeout is 10 s."""
import socket
import threading
import time

from conftest import RawClient, wait_until


def drip(client: RawClient, data: bytes, every: float, stop: threading.Event) -> threading.Thread:
    """Sends `data` one octet at a time, `every` seconds apart, until the server closes."""
    def run():
        for octet in data:
            if stop.wait(every):
                return
            try:
                client.send(bytes([octet]))
            except OSError:
                return
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def reply_then_close(client: RawClient, wait: float = 60) -> tuple[int, list[str]]:
    client.sock.settimeout(wait)
    code, lines = client.reply()
    assert client.closed(timeout=wait)
    return code, lines


def test_a_command_line_dripped_a_byte_at_a_time_times_out(relay_factory, raw):
    relay = relay_factory('[limits]\ncommand_timeout = "3s"\n')
    client = raw(relay.port)
    stop = threading.Event()
    # 100 octets at 0.3 s: 30 s of input that each would reset an idle timer, no line end ever.
    drip(client, b"NOOP " * 20, 0.3, stop)
    try:
        code, lines = reply_then_close(client, wait=15)
        assert (code, lines[0][:9]) == (421, "421 4.4.2"), lines
    finally:
        stop.set()
    assert "session timed out" in relay.log_text()


def test_message_text_dripped_times_out_but_a_steady_sender_does_not(relay_factory, raw):
    relay = relay_factory('[limits]\ndata_timeout = "3s"\n')

    def open_data() -> RawClient:
        client = raw(relay.port)
        client.cmd("EHLO slow.example")
        assert client.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert client.cmd("RCPT TO:<b@example.com>")[0] == 250
        assert client.cmd("DATA")[0] == 354
        return client

    slow = open_data()
    stop = threading.Event()
    drip(slow, b"Subject: slow\r\n\r\n" + b"x" * 200, 0.3, stop)  # ~3 octets a second
    # A steady sender: 150 KB over about 6 s (25 KB/s), twice data_timeout in all.
    steady = open_data()
    steady.send(b"Subject: steady\r\n\r\n")
    for _ in range(60):
        steady.send((b"y" * 248 + b"\r\n") * 10)
        time.sleep(0.1)
    steady.send(b".\r\n")
    try:
        code, lines = steady.reply()
        assert code == 250, lines
        code, lines = reply_then_close(slow, wait=15)
        assert (code, lines[0][:9]) == (421, "421 4.4.2"), lines
    finally:
        stop.set()
    assert len(relay.messages()) == 1


def test_under_stress_idle_sessions_are_cut_to_ten_seconds(relay_factory, raw):
    # 8 of 10 slots taken is stress; the default command_timeout is 5 minutes.
    relay = relay_factory("[limits]\nmax_connections = 10\n")
    idle = [raw(relay.port) for _ in range(8)]
    for client in idle:
        client.cmd("EHLO idle.example")
    closed = []
    for client in idle:
        code, lines = reply_then_close(client, wait=60)
        closed.append((code, lines[0][:9]))
    assert closed == [(421, "421 4.4.2")] * 8
    assert "under stress" in relay.log_text()
    # The slots are free again: a new client is greeted.
    fresh = raw(relay.port)
    assert fresh.cmd("EHLO fresh.example")[0] == 250
