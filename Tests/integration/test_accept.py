"""Real clients (smtplib, swaks) hand mail to the real listener; the spool holds it byte for byte."""
import re
import smtplib
import subprocess

from conftest import wait_until
from peers import DNS

RECEIVED = re.compile(
    rb"^Received: from (?P<helo>\S+) \((?P<name>\S+) \[127\.0\.0\.1\]\)\r\n"
    rb"\tby relay\.test \(Relay\) with (?P<proto>E?SMTP) id (?P<id>[0-9A-Z]{12,20})"
    rb"(?:\r\n\tfor <(?P<rcpt>[^>]+)>)?; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n")

MESSAGE = (
    b"From: Alice <alice@example.org>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: spool test\r\n"
    b"\r\n"
    b"Hello Bob.\r\n"
    b".leading dot is stuffed on the wire and restored in the spool\r\n"
    b"\xc3\xa9t\xc3\xa9 8-bit body\r\n"
)


def queue_id_of(reply: bytes | str) -> str:
    text = reply.decode() if isinstance(reply, bytes) else reply
    match = re.search(r"queued as ([0-9A-Z]+)", text)
    assert match, text
    return match.group(1)


def split_received(body: bytes) -> tuple[re.Match, bytes]:
    match = RECEIVED.match(body)
    assert match, body[:300]
    return match, body[match.end():]


def test_smtplib_message_envelope_and_recipients_are_stored_exactly(relay):
    with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.example") as smtp:
        smtp.ehlo()
        assert smtp.has_extn("pipelining") and smtp.has_extn("chunking") and smtp.has_extn("dsn")
        assert smtp.has_extn("8bitmime") and smtp.has_extn("smtputf8") and smtp.has_extn("enhancedstatuscodes")
        assert smtp.esmtp_features["size"] == "50000000"
        code, _ = smtp.mail("alice@example.org", ["BODY=8BITMIME", "RET=HDRS", "ENVID=env+2Bid"])
        assert code == 250
        assert smtp.rcpt("bob@example.com", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob+40example.com"])[0] == 250
        assert smtp.rcpt("carol@example.net")[0] == 250
        code, reply = smtp.data(MESSAGE)
        assert code == 250 and reply.startswith(b"2.0.0 Ok: queued as ")
    qid = queue_id_of(reply)
    row = relay.message(qid)
    assert row["sender"] == "alice@example.org"
    assert row["body_type"] == "8BITMIME" and row["dsn_ret"] == "HDRS" and row["dsn_envid"] == "env+id"
    assert row["helo_name"] == "client.example" and row["client_address"] == "127.0.0.1"
    assert row["protocol"] == "ESMTP"
    rcpts = relay.recipients(qid)
    assert [(r["address"], r["state"], r["dsn_notify"], r["dsn_orcpt"]) for r in rcpts] == [
        ("bob@example.com", "queued", "SUCCESS,FAILURE", "rfc822;bob@example.com"),
        ("carol@example.net", "queued", None, None),
    ]
    assert all(r["attempts"] == 0 and r["next_attempt"] == row["arrival_time"] for r in rcpts)
    body = relay.body(qid)
    received, rest = split_received(body)
    assert received["id"].decode() == qid and received["rcpt"] is None  # two recipients: not named
    assert received["helo"] == b"client.example"
    assert rest == MESSAGE
    assert row["size"] == len(body)
    assert f"event=queued session=" in relay.log_text() and f"id={qid}" in relay.log_text()


def test_single_recipient_is_named_and_null_sender_kept(relay):
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.ehlo("c.example")
        assert smtp.mail("<>")[0] == 250
        assert smtp.rcpt("only@example.com")[0] == 250
        code, reply = smtp.data(b"Subject: x\r\n\r\nbody\r\n")
    qid = queue_id_of(reply)
    assert relay.message(qid)["sender"] == ""
    received, rest = split_received(relay.body(qid))
    assert received["rcpt"] == b"only@example.com"
    assert rest == b"Subject: x\r\n\r\nbody\r\n"


def test_swaks_pipelining_and_many_messages_in_one_session(relay):
    for n in range(3):
        out = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{relay.port}", "--pipeline", "--from", f"s{n}@example.org",
             "--to", "r1@example.com,r2@example.com", "--header", f"Subject: swaks {n}", "--body", f"body {n}"],
            capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "250 2.0.0 Ok: queued as" in out.stdout
        qid = queue_id_of(out.stdout)
        assert relay.message(qid)["sender"] == f"s{n}@example.org"
        assert [r["address"] for r in relay.recipients(qid)] == ["r1@example.com", "r2@example.com"]
        _, rest = split_received(relay.body(qid))
        assert f"Subject: swaks {n}\r\n".encode() in rest and f"\r\n\r\nbody {n}\r\n".encode() in rest
    ids = [m["queue_id"] for m in relay.messages()]
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_smtputf8_address_and_bdat(relay, raw):
    c = raw(relay.port)
    assert c.cmd("EHLO c.example")[0] == 250
    assert c.cmd("MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8".encode())[0] == 250
    assert c.cmd("RCPT TO:<\u7528\u6237@\u4f8b\u5b50.example>".encode())[0] == 250
    part1 = b"Subject: chunks\r\n\r\nfirst "
    part2 = b"second\r\n.not stuffed in BDAT\r\n"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    code, lines = c.reply()
    assert code == 250 and "2.0.0" in lines[0], lines
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, lines = c.reply()
    assert code == 250, lines
    qid = queue_id_of(lines[0])
    assert c.cmd("QUIT")[0] == 221
    row = relay.message(qid)
    assert row["smtputf8"] == 1 and row["sender"] == "j\u00f6rg@b\u00fccher.example"
    assert [r["address"] for r in relay.recipients(qid)] == ["\u7528\u6237@\u4f8b\u5b50.example"]
    _, rest = split_received(relay.body(qid))
    assert rest == part1 + part2


def test_pipelined_transactions_get_replies_in_order(relay, raw):
    c = raw(relay.port)
    assert c.cmd("EHLO c.example")[0] == 250
    # Two whole transactions in one write; each DATA waits for its 354 (RFC 2920).
    c.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send(b"Subject: one\r\n\r\n1\r\n.\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<d@example.com>\r\nDATA\r\n")
    first = c.reply()
    assert first[0] == 250 and "queued as" in first[1][0]
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
    c.send(b"Subject: two\r\n\r\n2\r\n.\r\nQUIT\r\n")
    second = c.reply()
    assert second[0] == 250 and c.reply()[0] == 221
    q1, q2 = queue_id_of(first[1][0]), queue_id_of(second[1][0])
    assert [r["address"] for r in relay.recipients(q1)] == ["b@example.com", "c@example.com"]
    assert [r["address"] for r in relay.recipients(q2)] == ["d@example.com"]


def received_name(relay) -> str:
    """The client name in the Received: header of a message sent now from 127.0.0.1."""
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
        smtp.ehlo("client.example")
        smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: name\r\n\r\nx\r\n")
    queue_id = relay.messages()[-1]["queue_id"]
    match = RECEIVED.match(relay.body(queue_id))
    assert match, relay.body(queue_id)[:200]
    return match.group("name").decode()


def test_a_loopback_client_is_looked_up_through_the_configured_dns(relay_factory):
    """No shortcut names 127.0.0.1 `localhost`: its PTR name is asked of [dns] and written
    when it resolves back to the address."""
    server = DNS("example.test", {"1.0.0.127.in-addr.arpa": [("PTR", "client.example.test")],
                                  "client.example.test": [("A", "127.0.0.1")]})
    try:
        relay = relay_factory(f'[dns]\nservers = ["127.0.0.1:{server.port}"]\n')
        # The lookup runs beside the first session; a later one finds the answer remembered.
        names = []
        wait_until(lambda: names.append(received_name(relay)) or names[-1] == "client.example.test",
                   what="the looked-up name in Received:", detail=lambda: f"; names seen {names}")
        assert ("1.0.0.127.in-addr.arpa", "PTR") in server.resolver.queries
    finally:
        server.stop()


def test_a_loopback_name_that_does_not_confirm_is_unknown(relay_factory):
    server = DNS("example.test", {"1.0.0.127.in-addr.arpa": [("PTR", "liar.example.test")],
                                  "liar.example.test": [("A", "192.0.2.7")]})
    try:
        relay = relay_factory(f'[dns]\nservers = ["127.0.0.1:{server.port}"]\n')
        wait_until(lambda: ("liar.example.test", "A") in server.resolver.queries, what="the forward lookup")
        assert received_name(relay) == "unknown"
    finally:
        server.stop()
