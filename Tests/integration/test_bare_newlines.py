"""Only CRLF.CRLF ends data: the SMTP smuggling variants (bare LF, bare CR) against the real listener."""
import pytest

REJECT = '[limits]\nbare_newline = "reject"\n'
NORMALIZE = '[limits]\nbare_newline = "normalize"\n'


def open_data(c):
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<b@example.com>")
    assert c.cmd("DATA")[0] == 354


SMUGGLE = b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"


@pytest.mark.parametrize("terminator", [b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r", b"\r\n.\r", b"\r.\r\n"])
def test_reject_no_smuggled_second_message(relay_factory, raw, terminator):
    relay = relay_factory(REJECT)
    c = raw(relay.port)
    open_data(c)
    c.send(b"Subject: first\r\n\r\nbody" + terminator + SMUGGLE + b"\r\n.\r\n")
    code, lines = c.reply()
    assert code == 550 and lines[0].startswith("550 5.5.2"), lines
    assert c.cmd("NOOP")[0] == 250  # exactly one reply: nothing was smuggled
    assert relay.messages() == []


def test_reject_bare_lf_in_command_closes(relay_factory, raw):
    relay = relay_factory(REJECT)
    c = raw(relay.port)
    c.send(b"EHLO x\n")
    code, lines = c.reply()
    assert code == 550 and lines[0].startswith("550 5.5.2")
    assert c.closed()


def test_default_normalizes_local_clients(relay, raw):
    # reject-remote: 127.0.0.1 is in allow_networks, so bare LFs are read as CRLF.
    c = raw(relay.port)
    c.send(b"EHLO x\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.com>\n")
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 250]
    assert c.cmd("DATA")[0] == 354
    # LF.LF is a line holding a dot, not the end (SPEC, as Postfix 3.9): only CRLF.CRLF ends.
    c.send(b"Subject: lf\n\nline one\n..dot\n.\nlast\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250
    qid = lines[0].rsplit(" ", 1)[1]
    body = relay.body(qid)
    assert body.endswith(b"Subject: lf\r\n\r\nline one\r\n.dot\r\n.\r\nlast\r\n")
    assert b"\n" not in body.replace(b"\r\n", b"")


def test_remote_clients_are_rejected_under_reject_remote(relay_factory, raw):
    relay = relay_factory('[relay]\nallow_networks = []\naccept_domains = ["example.com"]\n')
    c = raw(relay.port)
    open_data(c)
    c.send(b"Subject: lf\n\nbody\n.\n" + SMUGGLE + b"\r\n.\r\n")
    code, lines = c.reply()
    assert code == 550 and lines[0].startswith("550 5.5.2")
    assert c.cmd("NOOP")[0] == 250
    assert relay.messages() == []


def test_bare_cr_refused_even_when_normalizing(relay_factory, raw):
    relay = relay_factory(NORMALIZE)
    c = raw(relay.port)
    open_data(c)
    c.send(b"Subject: cr\r\n\r\nbad\rline\r\n.\r\n")
    code, lines = c.reply()
    assert code == 550 and "bare <CR>" in lines[0]
    assert relay.messages() == []
