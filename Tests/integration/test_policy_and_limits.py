"""Access control, limits and malformed input against the real listener, byte by byte."""
import os
import signal
import smtplib
import socket
import time

import pytest

NOT_LOCAL = """
[relay]
allow_networks = ["192.0.2.0/24"]
accept_domains = ["accepted.test", ".sub.test"]
"""


def test_not_an_open_relay(relay_factory, raw):
    relay = relay_factory(NOT_LOCAL)
    c = raw(relay.port)
    assert c.cmd("EHLO outside.example")[0] == 250
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<victim@elsewhere.example>") == (554, ["554 5.7.1 Relay access denied"])
    assert c.cmd("RCPT TO:<x@accepted.test>")[0] == 250
    assert c.cmd("RCPT TO:<x@deep.sub.test>")[0] == 250
    assert c.cmd("RCPT TO:<x@sub.test>")[0] == 554  # ".sub.test" is subdomains only
    code, lines = c.cmd("RCPT TO:<Postmaster>")
    assert code == 250
    c.cmd("DATA")
    code, lines = c.cmd(b"Subject: p\r\n\r\nx\r\n.")
    assert code == 250
    qid = lines[0].rsplit(" ", 1)[1]
    rcpts = relay.recipients(qid)
    assert [r["address"] for r in rcpts] == ["x@accepted.test", "x@deep.sub.test", "postmaster@relay.test"]
    assert rcpts[2]["dsn_orcpt"] == "rfc822;Postmaster"


def test_default_config_refuses_relay_for_everyone_else(relay_factory, raw):
    # Only 127.0.0.0/8 and ::1 may relay by default; reach the listener from ::1-less config via a
    # listener bound to 127.0.0.1 with allow_networks emptied to show the default denial path.
    relay = relay_factory('[relay]\nallow_networks = []\n')
    c = raw(relay.port)
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    assert c.cmd("RCPT TO:<b@example.com>")[0] == 554
    assert c.cmd("DATA") == (554, ["554 5.5.1 Error: no valid recipients"])


def test_size_limit_declared_and_actual(relay_factory, raw):
    relay = relay_factory('[limits]\nmax_message_size = 2000\n')
    c = raw(relay.port)
    code, lines = c.cmd("EHLO x")
    assert "250-SIZE 2000" in lines
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=2001") == (552, ["552 5.3.4 Error: message size exceeds fixed limit"])
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=100")[0] == 250
    c.cmd("RCPT TO:<b@example.com>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 40 + b".\r\n")
    assert c.reply() == (552, ["552 5.3.4 Error: message size exceeds fixed limit"])
    # The session goes on and nothing was queued.
    assert c.cmd("NOOP")[0] == 250
    assert relay.messages() == []


def test_recipient_limit(relay_factory, raw):
    relay = relay_factory('[limits]\nmax_recipients = 3\n')
    c = raw(relay.port)
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    for n in range(3):
        assert c.cmd(f"RCPT TO:<r{n}@example.com>")[0] == 250
    assert c.cmd("RCPT TO:<r3@example.com>") == (452, ["452 4.5.3 Too many recipients"])


def test_connection_limit_per_ip(relay_factory, raw):
    relay = relay_factory('[limits]\nmax_connections_per_ip = 2\n')
    a, b = raw(relay.port), raw(relay.port)
    c = raw(relay.port, greet=False)
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("421 4.7.0")
    assert c.closed()
    a.cmd("QUIT")
    time.sleep(0.3)
    d = raw(relay.port)  # a slot is free again
    assert d.cmd("NOOP")[0] == 250


def test_command_timeout(relay_factory, raw):
    relay = relay_factory('[limits]\ncommand_timeout = "1s"\n')
    c = raw(relay.port)
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("421 4.4.2")
    assert c.closed()


def test_too_many_errors_disconnects(relay_factory, raw):
    relay = relay_factory('[limits]\nmax_errors = 3\n')
    c = raw(relay.port)
    assert c.cmd("BOGUS")[0] == 500
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 503  # before EHLO
    c.send(b"ALSO BOGUS\r\n")
    assert c.reply()[0] == 500
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("421 4.7.0")
    assert c.closed()


@pytest.mark.parametrize("line,code,status", [
    (b"MAIL FROM:<a@example.org> FOO=BAR", 555, "5.5.4"),
    (b"MAIL FROM:a@example.org", 501, "5.5.4"),
    (b"MAIL FROM:<a@@example.org>", 501, "5.1.7"),
    (b"MAIL FROM:<j\xc3\xb6rg@example.org>", 553, "5.6.7"),
    (b"MAIL FROM:<a@example.org> BODY=BINARYMIME", 501, "5.5.4"),
    (b"MAIL FROM:<a@example.org> SIZE=1 SIZE=2", 501, "5.5.4"),
    (b"MAIL\x00 FROM:<a@example.org>", 500, "5.5.2"),
    (b"MAIL FROM:<\xff@example.org>", 500, "5.5.2"),
    (b"MAIL FROM:<" + b"a" * 65 + b"@example.org>", 501, "5.1.7"),
    (b"X" * 600, 500, "5.5.2"),
    (b"RCPT TO:<b@example.com>", 503, "5.5.1"),
    (b"DATA", 503, "5.5.1"),
    (b"VRFY bob", 252, "2.0.0"),
])
def test_malformed_commands_get_the_right_reply(relay, raw, line, code, status):
    c = raw(relay.port)
    c.cmd("EHLO x")
    got, lines = c.cmd(line)
    assert (got, lines[-1].split(" ")[1]) == (code, status), lines
    assert c.cmd("NOOP")[0] == 250  # the session survives


def test_overlong_command_line_in_pieces(relay, raw):
    c = raw(relay.port)
    c.cmd("EHLO x")
    for _ in range(10):
        c.send(b"A" * 400)
        time.sleep(0.01)
    c.send(b"\r\nNOOP\r\n")
    assert c.reply() == (500, ["500 5.5.2 Error: line too long"])
    assert c.reply()[0] == 250


def test_transaction_stuffing_after_data_is_refused(relay, raw):
    c = raw(relay.port)
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    c.send(b"DATA\r\nSubject: stuffed\r\n\r\nx\r\n.\r\n")
    assert c.reply() == (554, ["554 5.5.0 Error: improper command pipelining, closing connection"])
    assert c.closed()
    assert relay.messages() == []


def test_mail_loop_is_refused(relay_factory, raw):
    relay = relay_factory('[limits]\nmax_hops = 3\n')
    c = raw(relay.port)
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    c.cmd("DATA")
    hops = b"".join(b"Received: from h%d by h%d; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (n, n) for n in range(4))
    code, lines = c.cmd(hops + b"Subject: loop\r\n\r\nbody\r\n.")
    assert (code, lines) == (554, ["554 5.4.6 Error: too many hops (mail loop)"])
    # Three are fine; a Received: line in the body does not count.
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    c.cmd("DATA")
    code, _ = c.cmd(hops[: hops.index(b"Received: from h3")] + b"Subject: ok\r\n\r\n" + hops + b".")
    assert code == 250


def test_long_text_line_is_refused_after_data(relay, raw):
    c = raw(relay.port)
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    c.cmd("DATA")
    assert c.cmd(b"Subject: long\r\n\r\n" + b"y" * 999 + b"\r\n.") == (550, ["550 5.5.2 Error: message line too long"])
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    c.cmd("DATA")
    assert c.cmd(b"Subject: fits\r\n\r\n" + b"y" * 998 + b"\r\n.")[0] == 250


def test_a_client_talking_before_the_banner_is_refused(relay):
    """Data already in when the greeting is due gets 554 5.5.0 (SPEC). The listener is stopped
    while the client connects and talks, so the data is in before it accepts the connection."""
    os.kill(relay.proc.pid, signal.SIGSTOP)
    try:
        s = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
        s.sendall(b"EHLO early\r\nMAIL FROM:<a@example.org>\r\n")
    finally:
        os.kill(relay.proc.pid, signal.SIGCONT)
    data = b""
    while chunk := s.recv(4096):
        data += chunk
    s.close()
    assert data == b"554 5.5.0 Error: data sent before the greeting, closing connection\r\n"
    assert "data sent before the greeting" in relay.log.read_text()
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:  # a patient client is served
        assert smtp.noop()[0] == 250


def test_an_early_talker_gets_an_answer_whatever_the_timing(relay):
    # Sent right after connecting: the data may or may not be in when the greeting is due.
    s = socket.create_connection(("127.0.0.1", relay.port))
    s.sendall(b"EHLO fast\r\nQUIT\r\n")
    data = b""
    s.settimeout(5)
    while chunk := s.recv(4096):
        data += chunk
    assert data.startswith(b"554 5.5.0 ") or (data.startswith(b"220 ") and b"221 2.0.0" in data)
    assert relay.proc.poll() is None