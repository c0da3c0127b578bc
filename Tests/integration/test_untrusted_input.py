"""What an outsider may not slip through (issue 13): routing in the local part to an accepted
domain (hole 9), and header fields smuggled into bounces through ENVID and ORCPT (hole 2)."""
import pytest

OUTSIDER = '[relay]\nallow_networks = []\naccept_domains = ["example.org"]\n'


@pytest.mark.parametrize("address", ["user%remote.example@example.org", "remote.example!user@example.org",
                                     '"user@remote.example"@example.org'])
def test_sender_specified_routing_is_refused_from_outsiders(relay_factory, raw, address):
    relay = relay_factory(OUTSIDER)
    c = raw(relay.port)
    c.cmd("EHLO outsider.example")
    assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{address}>")
    assert (code, lines[0][:9]) == (554, "554 5.7.1"), lines
    assert c.cmd("RCPT TO:<plain@example.org>")[0] == 250


@pytest.mark.parametrize("command", [
    "MAIL FROM:<a@sender.example> ENVID=env+0D+0ABcc:+20x@evil.example",
    "MAIL FROM:<a@sender.example> ENVID=a+00b",
])
def test_an_envid_that_decodes_to_control_characters_is_refused(relay, raw, command):
    c = raw(relay.port)
    c.cmd("EHLO client.example")
    code, lines = c.cmd(command)
    assert code == 501 and lines[0].startswith("501 5.5.4"), lines


def test_an_orcpt_that_decodes_to_control_characters_is_refused(relay, raw):
    c = raw(relay.port)
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
    code, lines = c.cmd("RCPT TO:<bob@example.com> ORCPT=rfc822;carol+0D+0ABcc:+20x@evil.example")
    assert code == 501 and lines[0].startswith("501 5.5.4"), lines


def test_a_nul_in_the_text_is_refused_and_nothing_is_queued(relay, raw):
    """An upstream that drops NULs could read a `CRLF.CRLF` hidden behind one (hole 11)."""
    c = raw(relay.port)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@sender.example>")
    c.cmd("RCPT TO:<b@example.com>")
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: nul\r\n\r\nbefore\r\n\x00.\r\nMAIL FROM:<forged@example.com>\r\n.\r\n")
    code, lines = c.reply()
    assert (code, lines[0][:9]) == (550, "550 5.6.0"), lines
    assert relay.messages() == []
    assert c.cmd("NOOP")[0] == 250  # the session goes on
