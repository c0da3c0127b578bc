"""What an admin reads in the log (issue 12): one line per refusal, with Postfix's
`NOQUEUE: reject:` facts: stage, client, helo, from, to and the reply."""
import re
import smtplib

import pytest

from peers import Upstream


@pytest.fixture
def deferring(relay_factory):
    """A relay with its worker whose only upstream answers 451 to every RCPT (an hour's
    backoff follows): `deferring([["x@one.example"], ...])` sends one message per list and
    returns the relay once every recipient is deferred."""
    upstreams = []

    def make(messages: list[list[str]]):
        down = Upstream(script={"rcpt": "451 4.3.0 not now\r\n"})
        upstreams.append(down)
        relay = relay_factory(
            f'[delivery]\nmin_backoff = "1h"\nmax_backoff = "2h"\n'
            f'[[route]]\ndomains = ["*"]\nhosts = ["[127.0.0.1]:{down.port}"]\n')
        relay.start_worker()
        with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
            for recipients in messages:
                smtp.sendmail("a@example.org", recipients, b"Subject: waits\r\n\r\nx\r\n")
        count = sum(len(r) for r in messages)
        relay.wait_until(lambda: len(relay.db().execute(
            "SELECT 1 FROM recipients WHERE state = 'deferred'").fetchall()) == count, 30, "every recipient deferred")
        return relay, down

    yield make
    for down in upstreams:
        down.stop()


def reject_lines(relay) -> list[str]:
    return [line for line in relay.log_text().splitlines() if "event=reject " in line]


def test_every_refusal_has_one_log_line_with_postfixs_facts(relay_factory, raw):
    relay = relay_factory('[relay]\nallow_networks = ["192.0.2.0/24"]\naccept_domains = ["relay.test"]\n'
                          '[limits]\nmax_message_size = "1KB"\n')
    c = raw(relay.port)
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=5000")[0] == 552
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    code, lines = c.cmd("RCPT TO:<x@elsewhere.example>")
    assert code == 554
    assert c.cmd("RCPT TO:<user@relay.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + b"y" * 70 * 30 + b"\r\n.\r\n")
    assert c.reply()[0] == 552
    logged = reject_lines(relay)
    assert len(logged) == 3, logged
    mail, rcpt, message = logged
    assert "stage=MAIL" in mail and "from=<a@example.org>" in mail and 'reply="552 5.3.4' in mail
    assert "stage=RCPT" in rcpt and "client=unknown[127.0.0.1]" in rcpt and "helo=client.example" in rcpt
    assert "from=<a@example.org>" in rcpt and "to=<x@elsewhere.example>" in rcpt
    assert re.search(r'reply="554 5\.7\.1 [^"]*[Rr]elay access denied', rcpt), rcpt
    assert "stage=END-OF-MESSAGE" in message and 'reply="552 5.3.4' in message
    # Accepted commands leave no reject line.
    assert c.cmd("NOOP")[0] == 250
    assert len(reject_lines(relay)) == 3


def test_flush_domain_touches_only_that_domains_recipients_and_operator_actions_are_logged(deferring):
    """`flush --domain D` is Postfix's `postqueue -s D`: only D's recipients are made due;
    every hold, release, delete, flush and bounce logs one line per message, with the uid."""
    import os
    import subprocess
    import time

    from conftest import RELAYCTL

    relay, down = deferring([["x@one.example", "y@two.example"]])

    def ctl(*args):
        out = subprocess.run([str(RELAYCTL), "queue", *args, "-c", str(relay.config)],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        return out
    ctl("hold", "--all")
    ctl("release", "--all")
    # Released recipients are due now; defer them again, an hour off.
    relay.wait_until(lambda: down.mail_attempts >= 2, 30, "the retry after release")
    relay.wait_until(lambda: all(r["next_attempt"] > time.time() + 600 for r in relay.db().execute(
        "SELECT next_attempt FROM recipients")), 30, "both deferred again")
    # Paused, so that the flushed recipient stays due instead of being tried (and deferred) at once.
    subprocess.run([str(RELAYCTL), "pause", "-c", str(relay.config)], check=True, capture_output=True)
    due = {r["address"]: r["next_attempt"] for r in relay.db().execute("SELECT address, next_attempt FROM recipients")}
    out = ctl("flush", "--domain", "one.example")
    assert "1 message" in out.stdout
    after = {r["address"]: r["next_attempt"] for r in relay.db().execute("SELECT address, next_attempt FROM recipients")}
    assert after["x@one.example"] < time.time() + 5, "the flushed domain is due now"
    assert after["y@two.example"] == due["y@two.example"], "the other domain keeps its backoff"
    queue_id = relay.messages()[0]["queue_id"]
    log = relay.worker_log_text()
    uid = os.getuid()
    for action in ("hold", "release", "flush"):
        assert f"event={action} id={queue_id}" in log and f"uid={uid}" in log, action
    assert f"event=paused" in log
    ctl("delete", queue_id)
    assert f"event=delete id={queue_id}" in relay.worker_log_text()


def test_status_exits_69_while_a_role_is_down(relay):
    import json
    import subprocess

    from conftest import RELAYCTL

    def status(*extra):
        return subprocess.run([str(RELAYCTL), "status", *extra, "-c", str(relay.config)], capture_output=True,
                              text=True, timeout=30)
    down = status()
    assert down.returncode == 69 and "worker:    down" in down.stdout, (down.returncode, down.stdout)
    assert status("--json").returncode == 69
    relay.start_worker()
    up = status("--json")
    assert up.returncode == 0 and json.loads(up.stdout)["worker"]["pid"] is not None


def test_under_systemd_each_line_carries_its_syslog_priority(relay_factory, raw):
    """With JOURNAL_STREAM naming standard error (sd-daemon(3)), lines start with <N>, so
    `journalctl -p warning` finds the warnings; without it, they do not."""
    import os

    relay = relay_factory(start=False)
    relay.log.touch()
    info = os.stat(relay.log)
    relay.start(env={**os.environ, "JOURNAL_STREAM": f"{info.st_dev}:{info.st_ino}"})
    c = raw(relay.port)
    c.cmd("EHLO client.example")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<x@elsewhere.example>")  # allowed from loopback: accepted; then a bad one
    c.cmd("RCPT TO:<bad address>")
    lines = relay.log_text().splitlines()
    assert lines and all(re.match(r"<[2-7]>time=", line) for line in lines), lines[:3]
    assert any(line.startswith("<5>") and "event=listening" in line for line in lines)
    assert any(line.startswith("<6>") and "event=reject" in line for line in lines)


def test_the_queued_line_names_the_message_id(relay):
    import smtplib
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.sendmail("a@example.org", ["b@example.com"],
                      b"Subject: id\r\nMessage-ID: <20261207.1@client.example>\r\n\r\nx\r\n")
        smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: none\r\n\r\ny\r\n")
    queued = [line for line in relay.log_text().splitlines() if "event=queued" in line]
    assert len(queued) == 2
    assert "message-id=<20261207.1@client.example>" in queued[0]
    assert "message-id" not in queued[1]


def test_json_logs_give_counts_and_sizes_as_numbers(relay_factory):
    import json
    import smtplib

    relay = relay_factory('[log]\nformat = "json"\n')
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.sendmail("a@example.org", ["b@example.com", "c@example.com"], b"Subject: n\r\n\r\nx\r\n")
    events = [json.loads(line) for line in relay.log_text().splitlines()]
    [queued] = [e for e in events if e["event"] == "queued"]
    assert isinstance(queued["size"], int) and queued["nrcpt"] == 2
    assert queued["from"] == "<a@example.org>" and isinstance(queued["id"], str)


def test_a_spool_the_relay_user_cannot_write_is_one_line_and_exit_78(workdir):
    """Not a restart loop with growing back-off: the supervisor stops at once, and the line
    names the path, its owner and mode, and the user relayd runs as."""
    import subprocess

    import pytest

    from conftest import DROP, RELAYD, hand_over, unprivileged
    if not DROP:
        pytest.skip("needs the relay to run as another user than the spool's owner")
    conf = workdir / "relayd.conf"
    conf.write_text(f'spool_dir = "{workdir}/spool"\nrun_dir = "{workdir}"\n[[listener]]\naddress = "127.0.0.1:0"\n')
    hand_over(workdir)
    spool = workdir / "spool"
    spool.mkdir(mode=0o700)  # root's, as a hand-made directory would be
    out = subprocess.run(unprivileged([RELAYD, "serve", "-c", conf]), capture_output=True, text=True, timeout=60)
    assert out.returncode == 78, out.stderr
    assert f"cannot write {spool} (Permission denied): owner root, mode 700; relayd runs as" in out.stderr, out.stderr
    assert "restart_in" not in out.stderr


def test_the_queue_says_why_each_recipient_waits(deferring):
    """As `postqueue -p` does, in parentheses above the recipients, and as delay_reason in
    --json: the last reply, held, paused, or a backed-off destination."""
    import json
    import subprocess

    from conftest import RELAYCTL

    relay, _ = deferring([["x@one.example"], ["y@two.example"]])

    def ctl(*args):
        return subprocess.run([str(RELAYCTL), *args, "-c", str(relay.config)], capture_output=True, text=True,
                              timeout=30)
    listing = ctl("queue").stdout
    assert "(451 4.3.0 not now)" in listing, listing
    first, second = [m["queue_id"] for m in relay.messages()]
    ctl("queue", "hold", first)
    ctl("pause", "--domain", "two.example")
    listing = ctl("queue").stdout
    assert "(held by the operator (relayctl queue release))" in listing, listing
    assert "(delivery to two.example paused by the operator (relayctl resume --domain two.example))" in listing
    reasons = {json.loads(line)["queue_id"]: json.loads(line)["recipients"][0]["delay_reason"]
               for line in ctl("queue", "--json").stdout.splitlines()}
    assert reasons[first].startswith("held") and reasons[second].startswith("delivery to two.example paused")
