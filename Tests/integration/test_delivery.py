"""The worker delivers with real peers: a dnslib DNS server on loopback and scripted SMTP servers."""
import email
import email.policy
import smtplib
import time

import pytest

from peers import DNS, Upstream


def send(relay, sender, rcpts, text=b"Subject: test\r\n\r\nhello\r\n", options=(), rcpt_options=()):
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.ehlo("client.test")
        code, _ = smtp.mail(sender, list(options))
        assert code == 250
        for rcpt in rcpts:
            assert smtp.rcpt(rcpt, list(rcpt_options))[0] == 250
        code, reply = smtp.data(text)
        assert code == 250, reply
        return reply.decode().rsplit(" ", 1)[1]


def smarthost(up) -> str:
    """Configuration text: every domain goes to the scripted upstream `up`."""
    return f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n'


def strip_received(data: bytes) -> bytes:
    assert data.startswith(b"Received: "), data[:100]
    end = data.index(b"\r\n", data.index(b"id "))
    return data[end + 2:]


@pytest.fixture
def upstream():
    servers = []

    def make(**kw):
        server = Upstream(**kw)
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def dns():
    servers = []

    def make(records, servfail=(), malformed=()):
        server = DNS("example.test", records, set(servfail), set(malformed))
        servers.append(server)
        return server

    yield make
    for s in servers:
        s.stop()


def mx_config(dns_port: int, mx_port: int, extra: str = "") -> str:
    return f"""
[delivery]
mx_port = {mx_port}
min_backoff = "1s"
max_backoff = "2s"
{extra}
[dns]
servers = ["127.0.0.1:{dns_port}"]
timeout = "2s"
"""


TEXT = (b"From: a@example.org\r\nTo: b@dest.example.test\r\nSubject: byte test\r\n\r\n"
        b"line one\r\n.dotted line\r\n\xc3\xa9 8bit\r\n")


def test_smarthost_delivery_is_byte_identical(relay_factory, upstream):
    up = upstream()
    relay = relay_factory(smarthost(up))
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@dest.example.test", "c@other.example.test"], TEXT,
               options=["BODY=8BITMIME"])
    [t] = up.wait_for(1)
    assert t["mail"] == "MAIL FROM:<a@example.org> SIZE=%d BODY=8BITMIME" % relay_size(relay, qid, t)
    assert t["accepted"] == ["b@dest.example.test", "c@other.example.test"]
    assert strip_received(t["data"]) == TEXT
    relay.wait_until(lambda: relay.messages() == [], what="the queue to empty")
    log = relay.worker_log_text()
    assert f"event=delivered id={qid}" in log and "dsn=2.0.0" in log and 'reply="250 2.0.0 Ok: queued"' in log


def relay_size(relay, qid, transaction):
    # SIZE is the stored size (Received: line included); read it from the MAIL line itself.
    return int(transaction["mail"].split("SIZE=")[1].split()[0])


def test_mx_preference_and_failover(relay_factory, upstream, dns):
    up = upstream(host="127.0.0.3")
    zone = dns({
        "dest.example.test": [("MX", (10, "mx1.example.test")), ("MX", (20, "mx2.example.test"))],
        "mx1.example.test": [("A", "127.0.0.2")],  # nothing listens there: connection refused
        "mx2.example.test": [("A", "127.0.0.3")],
    })
    relay = relay_factory(mx_config(zone.port, up.port))
    relay.start_worker()
    send(relay, "a@example.org", ["b@dest.example.test"])
    [t] = up.wait_for(1)
    assert t["accepted"] == ["b@dest.example.test"]
    assert ("dest.example.test", "MX") in zone.resolver.queries
    log = relay.worker_log_text()
    assert "127.0.0.2" in log and "relay=mx2.example.test[127.0.0.3]" in log


def test_implicit_mx(relay_factory, upstream, dns):
    up = upstream(host="127.0.0.4")
    zone = dns({"plain.example.test": [("A", "127.0.0.4")]})
    relay = relay_factory(mx_config(zone.port, up.port))
    relay.start_worker()
    send(relay, "a@example.org", ["b@plain.example.test"])
    [t] = up.wait_for(1)
    assert t["accepted"] == ["b@plain.example.test"]


def test_per_recipient_replies_in_one_transaction(relay_factory, upstream):
    replies = {"ok@example.test": "250 2.1.5 Ok\r\n", "later@example.test": "451 4.2.0 try later\r\n",
               "gone@example.test": "550 5.1.1 no such user\r\n"}
    up = upstream(script={"rcpt": lambda address, _: replies[address]})
    relay = relay_factory(f'[[route]]\ndomains = ["example.test"]\nhosts = ["[127.0.0.1]:{up.port}"]\n'
                          '[delivery]\nmin_backoff = "1h"\n')
    relay.start_worker()
    qid = send(relay, "", list(replies))  # null sender: no bounce comes back
    [t] = up.wait_for(1)
    assert t["accepted"] == ["ok@example.test"] and len(t["rcpts"]) == 3

    def states():
        rows = relay.recipients(qid)
        return {r["address"]: r["state"] for r in rows} if rows and all(r["attempts"] for r in rows) else None

    assert relay.wait_until(states, what="outcomes") == {
        "ok@example.test": "delivered", "later@example.test": "deferred", "gone@example.test": "bounced"}
    later = [r for r in relay.recipients(qid) if r["address"] == "later@example.test"][0]
    assert later["last_reply"] == "451 4.2.0 try later" and later["last_dsn"] == "4.2.0"
    assert later["next_attempt"] > time.time() + 3000  # min_backoff 1h, ±10 %


def test_recovers_after_451s(relay_factory, upstream):
    up = upstream(script={"mail": lambda _, u: "451 4.3.0 busy\r\n" if u.mail_attempts <= 2 else "250 2.1.0 Ok\r\n"})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nmin_backoff = "1s"\nmax_backoff = "2s"\n')
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.test"])
    up.wait_for(1, timeout=30)
    relay.wait_until(lambda: relay.messages() == [], what="delivery")
    log = relay.worker_log_text()
    assert log.count(f"event=deferred id={qid}") == 2 and f"event=delivered id={qid}" in log


def test_expiry_bounces_with_a_parsable_dsn(relay_factory, upstream):
    def mail(arg, _):
        return "250 2.1.0 Ok\r\n" if arg.startswith("MAIL FROM:<>") else "451 4.3.0 always busy\r\n"

    up = upstream(script={"mail": mail})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nmin_backoff = "1s"\nmax_backoff = "1s"\nmax_queue_lifetime = "3s"\n')
    relay.start_worker()
    original = b"From: a@example.org\r\nSubject: doomed\r\nMessage-ID: <m1@example.org>\r\n\r\nbody\r\n"
    qid = send(relay, "a@example.org", ["b@example.test"], original, options=["RET=FULL", "ENVID=env1"],
               rcpt_options=["ORCPT=rfc822;b@example.test"])
    [t] = up.wait_for(1, timeout=40)
    assert t["mail"].startswith("MAIL FROM:<>") and t["accepted"] == ["a@example.org"]
    dsn = email.message_from_bytes(t["data"], policy=email.policy.default)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = list(dsn.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "message/rfc822"]
    status = parts[1]
    fields = {}
    for block in status.get_payload():
        for key, value in block.items():
            fields.setdefault(key, value)
    assert fields["Reporting-MTA"] == "dns; relay.test" and fields["Original-Envelope-Id"] == "env1"
    assert fields["Final-Recipient"] == "rfc822; b@example.test"
    assert fields["Original-Recipient"] == "rfc822; b@example.test"
    assert fields["Action"] == "failed" and fields["Status"] == "5.4.7"
    assert "451 4.3.0 always busy" in fields["Diagnostic-Code"]
    assert "Last-Attempt-Date" in fields and "Remote-MTA" in fields
    returned = parts[2].get_payload()[0]
    assert returned["Subject"] == "doomed" and returned["Message-ID"] == "<m1@example.org>"
    assert f"event=expired id={qid}" in relay.worker_log_text()
    relay.wait_until(lambda: relay.messages() == [], what="the bounce to leave")


def test_null_mx_and_nxdomain_bounce_servfail_defers(relay_factory, upstream, dns):
    up = upstream()  # receives the bounces: the sender's domain routes here
    zone = dns({"nullmx.example.test": [("MX", (0, "."))]}, servfail={"broken.example.test"})
    relay = relay_factory(mx_config(zone.port, 25, extra="") +
                          f'[[route]]\ndomains = ["sender.test"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
    relay.start_worker()
    q1 = send(relay, "a@sender.test", ["x@nullmx.example.test"])
    q2 = send(relay, "a@sender.test", ["y@missing.example.test"])
    q3 = send(relay, "a@sender.test", ["z@broken.example.test"])
    bounces = up.wait_for(2)
    statuses = sorted(b["data"].split(b"Status: ")[1][:6].decode().strip() for b in bounces)
    assert statuses == ["5.1.10", "5.1.2"]
    assert all(b["mail"].startswith("MAIL FROM:<> ") and b["accepted"] == ["a@sender.test"] for b in bounces)
    r3 = relay.wait_until(lambda: [r for r in relay.recipients(q3) if r["attempts"] >= 1], what="servfail attempt")
    assert r3[0]["state"] in ("deferred", "active", "queued") and "4.4.3" == r3[0]["last_dsn"]
    # c-ares 1.18 reports a SERVFAIL from every server as "Could not contact DNS servers".
    assert r3[0]["last_reply"].startswith("MX lookup of broken.example.test failed")
    assert r3[0]["state"] != "bounced"


def test_connection_reuse(relay_factory, upstream):
    up = upstream()
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nper_destination_concurrency = 1\n')
    for n in range(6):
        send(relay, "a@example.org", [f"r{n}@example.test"])
    relay.start_worker()
    up.wait_for(6)
    assert up.connections == 1


def test_back_to_back_messages_each_get_their_own_final_reply(relay_factory, upstream):
    """A job carries several messages over one connection, the final dot of each pipelined with
    the next one's MAIL, RCPT and DATA (RFC 2920 §3.1): every final reply settles its own message."""
    finals = {"r1@example.test": "550 5.7.1 refused after data\r\n", "r3@example.test": "451 4.3.0 later\r\n"}
    up = upstream(script={"dot": lambda accepted, _: finals.get(accepted, "250 2.0.0 Ok\r\n")})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nper_destination_concurrency = 1\nmin_backoff = "1h"\n')
    qids = [send(relay, "", [f"r{n}@example.test"]) for n in range(6)]  # null sender: no bounce comes back
    relay.start_worker()
    relay.wait_until(lambda: [m["queue_id"] for m in relay.messages()] == [qids[3]]
                     and relay.recipients(qids[3])[0]["attempts"] == 1, what="every outcome recorded")
    [later] = relay.recipients(qids[3])
    assert later["state"] == "deferred" and later["last_reply"] == "451 4.3.0 later"
    assert sorted(a for t in up.transactions for a in t["accepted"]) == [f"r{n}@example.test" for n in (0, 2, 4, 5)]
    log = relay.worker_log_text()
    assert f"event=bounced id={qids[1]}" in log and "refused after data" in log
    assert all(f"event=delivered id={qids[n]}" in log for n in (0, 2, 4, 5))
    assert up.connections == 1
    # The pipelining itself: the next MAIL was already there when each final dot but the last was read.
    assert up.commands_with_dot >= 1


def test_a_lost_reply_to_a_pipelined_dot_defers_only_its_message(relay_factory, upstream):
    """The server closes after reading one message's final dot (pipelined with the next message's
    commands) without answering: that message may have been taken (deferred, possible duplicate);
    the next one was not, and goes on a new connection."""
    up = upstream(script={"dot": lambda accepted, _: None if accepted == "r2@example.test" else "250 2.0.0 Ok\r\n"})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nper_destination_concurrency = 1\nmin_backoff = "1h"\n')
    qids = [send(relay, "", [f"r{n}@example.test"]) for n in range(5)]
    relay.start_worker()
    relay.wait_until(lambda: [m["queue_id"] for m in relay.messages()] == [qids[2]]
                     and relay.recipients(qids[2])[0]["attempts"] == 1, what="every outcome recorded")
    [lost] = relay.recipients(qids[2])
    assert lost["state"] == "deferred" and lost["last_dsn"] == "4.4.2"
    assert "possible duplicate" in relay.worker_log_text()
    assert sorted(a for t in up.transactions for a in t["accepted"]) == [f"r{n}@example.test" for n in (0, 1, 3, 4)]
    assert up.connections == 2


def test_worker_killed_mid_delivery_loses_nothing(relay_factory, upstream):
    slow = {"n": 0}

    def dot(_, u):
        slow["n"] += 1
        if slow["n"] == 1:
            time.sleep(3)  # the worker dies while waiting for this reply
        return "250 2.0.0 Ok\r\n"

    up = upstream(script={"dot": dot})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nmin_backoff = "1s"\n')
    qids = [send(relay, "a@example.org", [f"r{n}@example.test"]) for n in range(3)]
    relay.start_worker()
    relay.wait_until(lambda: slow["n"] >= 1, what="the first delivery to start")
    relay.worker.kill()
    relay.worker.wait()
    relay.start_worker()
    relay.wait_until(lambda: relay.messages() == [], timeout=40, what="every message delivered")
    delivered = {a for t in up.transactions for a in t["accepted"]}
    assert delivered == {f"r{n}@example.test" for n in range(3)}  # at least once each; duplicates allowed (RFC 1047)


@pytest.mark.parametrize("bad", [
    "garbage that is not a reply\r\n",
    "250-" + "x" * 10000 + "\r\n",
    "999 nonsense\r\n",
])
def test_bad_server_replies_defer_and_never_crash(relay_factory, upstream, bad):
    up = upstream(script={"mail": bad})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nmin_backoff = "1h"\n')
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.test"])
    rows = relay.wait_until(lambda: [r for r in relay.recipients(qid) if r["attempts"] >= 1], what="an attempt")
    assert rows[0]["state"] == "deferred" and rows[0]["last_dsn"].startswith("4.")
    assert relay.worker.poll() is None  # still running


@pytest.mark.parametrize("script", [
    {"greeting": lambda *_: None},                                     # sends nothing at all
    {"greeting": "220 up ESMTP\r\n250 2.0.0 injected before it was due\r\n"},
    {"dot": lambda *_: (time.sleep(3), None)[1]},                      # no reply to the final dot
], ids=["silent", "injected-reply", "silent-after-dot"])
def test_silent_and_injecting_servers_defer(relay_factory, upstream, script):
    up = upstream(script=script)
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nmin_backoff = "1h"\nconnect_timeout = "1s"\ncommand_timeout = "1s"\n'
                          'data_timeout = "1s"\n')
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.test"])
    rows = relay.wait_until(lambda: [r for r in relay.recipients(qid) if r["attempts"] >= 1], what="an attempt")
    assert rows[0]["state"] == "deferred" and rows[0]["last_dsn"].startswith("4.")
    assert relay.worker.poll() is None
    if "dot" in script:
        assert "possible duplicate" in relay.worker_log_text()


def test_a_stale_cached_connection_is_replaced(relay_factory, upstream):
    # After each message the server says 421 while the connection sits in the cache.
    up = upstream(script={"dot": "250 2.0.0 Ok\r\n421 4.4.2 idle too long\r\n"})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nmin_backoff = "1h"\n')
    relay.start_worker()
    send(relay, "a@example.org", ["one@example.test"])
    up.wait_for(1)
    send(relay, "a@example.org", ["two@example.test"])
    up.wait_for(2)
    relay.wait_until(lambda: relay.messages() == [], what="an empty queue")
    assert up.connections == 2 and "event=deferred" not in relay.worker_log_text()


def test_delay_warning_is_sent_once(relay_factory, upstream):
    def mail(arg, _):
        return "250 2.1.0 Ok\r\n" if arg.startswith("MAIL FROM:<>") else "451 4.3.0 still busy\r\n"

    up = upstream(script={"mail": mail})
    relay = relay_factory(smarthost(up)
                          + '[delivery]\nmin_backoff = "1s"\nmax_backoff = "1s"\ndelay_warning = "2s"\n')
    relay.start_worker()
    qid = send(relay, "a@example.org", ["slow@example.test"], b"Subject: patience\r\n\r\nbody\r\n")
    [warning] = up.wait_for(1, timeout=30)
    time.sleep(3)  # more deferrals happen; no second warning may follow
    assert len(up.transactions) == 1
    dsn = email.message_from_bytes(warning["data"], policy=email.policy.default)
    assert dsn["Subject"].startswith("Delayed Mail")
    parts = list(dsn.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    fields = {}
    for block in parts[1].get_payload():
        for key, value in block.items():
            fields.setdefault(key, value)
    assert fields["Action"] == "delayed" and fields["Status"] == "4.3.0"
    rows = relay.recipients(qid)
    assert rows[0]["state"] in ("deferred", "active") and rows[0]["warned"] == 1


@pytest.mark.parametrize("mechanisms", ["PLAIN LOGIN", "LOGIN"])
def test_smarthost_auth_with_password_file(relay_factory, upstream, workdir, mechanisms):
    up = upstream(extensions=("PIPELINING", f"AUTH {mechanisms}", "ENHANCEDSTATUSCODES"))
    secret = workdir / "provider.secret"
    secret.write_text("s3cret pass\n")
    relay = relay_factory(f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\ntls = "none"\n'
                          f'username = "relay"\npassword_file = "{secret}"\n')
    relay.start_worker()
    send(relay, "a@example.org", ["b@example.test"])
    up.wait_for(1)
    import base64
    if mechanisms.startswith("PLAIN"):
        token = up.auth_lines[0].split()[2]
        assert base64.b64decode(token) == b"\0relay\0s3cret pass"
    else:
        assert [base64.b64decode(l) for l in up.auth_lines[1:]] == [b"relay", b"s3cret pass"]
    assert "s3cret" not in relay.worker_log_text()


def test_smarthost_535_defers_never_bounces(relay_factory, upstream, workdir):
    up = upstream(extensions=("AUTH PLAIN",), script={"auth": "535 5.7.8 bad credentials\r\n"})
    secret = workdir / "p.secret"
    secret.write_text("wrong\n")
    relay = relay_factory(f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\ntls = "none"\n'
                          f'username = "relay"\npassword_file = "{secret}"\n[delivery]\nmin_backoff = "1h"\n')
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.test"])
    rows = relay.wait_until(lambda: [r for r in relay.recipients(qid) if r["attempts"] >= 1], what="an attempt")
    assert rows[0]["state"] == "deferred" and rows[0]["last_dsn"] == "4.7.8"
    assert "535 5.7.8 bad credentials" in rows[0]["last_reply"]


def test_auth_is_never_sent_in_plaintext_unless_tls_none(relay_factory, upstream, workdir):
    up = upstream(extensions=("AUTH PLAIN",))
    secret = workdir / "p.secret"
    secret.write_text("pw\n")
    relay = relay_factory(smarthost(up)
                          + f'username = "relay"\npassword_file = "{secret}"\n[delivery]\nmin_backoff = "1h"\n')
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.test"])
    rows = relay.wait_until(lambda: [r for r in relay.recipients(qid) if r["attempts"] >= 1], what="an attempt")
    assert rows[0]["state"] == "deferred" and "AUTH is never sent in plaintext" in rows[0]["last_reply"]
    assert not hasattr(up, "auth_lines") and up.transactions == []


def test_malformed_dns_answer_defers(relay_factory, dns):
    zone = dns({"cut.example.test": [("MX", (10, "mx.cut.example.test"))]}, malformed={"cut.example.test"})
    relay = relay_factory(mx_config(zone.port, 25))
    relay.start_worker()
    qid = send(relay, "a@example.org", ["x@cut.example.test"])
    rows = relay.wait_until(lambda: [r for r in relay.recipients(qid) if r["attempts"] >= 1], what="an attempt")
    assert rows[0]["state"] == "deferred" and rows[0]["last_dsn"] == "4.4.3", dict(rows[0])
    assert "cut.example.test" in rows[0]["last_reply"]
    assert relay.worker.poll() is None


def test_an_mx_that_is_this_relay_bounces_5_4_6_at_the_first_hop(relay_factory, upstream, dns):
    """Hole 8: the MX for a domain is this relay's own listener (127.0.0.1 on its port): bounced
    at once with Postfix's "loops back to myself", no connection to itself. A backup MX record
    for us after a better one leaves only the better one to try."""
    up = upstream()  # receives the bounces: the sender's domain routes here
    relay = relay_factory(start=False)
    better = upstream(host="127.0.0.5", port=relay.port)  # MX hosts are tried on mx_port, ours
    zone = dns({
        "loop.example.test": [("MX", (10, "self.example.test"))],
        "backup.example.test": [("MX", (10, "primary.example.test")), ("MX", (20, "self.example.test"))],
        "self.example.test": [("A", "127.0.0.1")],
        "primary.example.test": [("A", "127.0.0.5")],
    })
    relay.extra = (mx_config(zone.port, relay.port) +
                   f'[[route]]\ndomains = ["sender.test"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
    relay.write_config()
    relay.start()
    relay.start_worker()
    send(relay, "a@sender.test", ["x@loop.example.test"])
    [bounce] = up.wait_for(1)
    assert b"Status: 5.4.6" in bounce["data"]
    assert b"mail for loop.example.test loops back to myself" in bounce["data"]
    # The listener received only the test's message: the worker never connected to it (the
    # bounce is queued by the worker itself).
    assert relay.log_text().count("event=queued") == 1
    # As a backup MX, the relay passes mail on to the better MX only.
    send(relay, "a@sender.test", ["y@backup.example.test"])
    [t] = better.wait_for(1)
    assert t["accepted"] == ["y@backup.example.test"]


def test_a_server_that_greets_with_our_hostname_is_a_loop(relay_factory, upstream):
    """Hole 8: the host answers as this relay (its greeting names our hostname): 5.4.6, no MAIL."""
    looping = upstream(script={"greeting": "220 relay.test ESMTP Relay\r\n"})
    up = upstream()
    relay = relay_factory(
        f'[[route]]\ndomains = ["loop.example.test"]\nhosts = ["[127.0.0.1]:{looping.port}"]\n'
        f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{up.port}"]\n')
    relay.start_worker()
    send(relay, "a@sender.test", ["x@loop.example.test"])
    [bounce] = up.wait_for(1)
    assert b"Status: 5.4.6" in bounce["data"] and b"loops back to myself" in bounce["data"]
    assert looping.mail_attempts == 0
