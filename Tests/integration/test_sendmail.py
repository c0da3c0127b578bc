"""Local injection: relayctl send, and the sendmail / mailq names, through the real listener."""
import os
import subprocess

from conftest import RELAYCTL, ROOT




def links(workdir):
    for name in ("sendmail", "mailq"):
        path = workdir / name
        if not path.exists():
            os.symlink(RELAYCTL, path)
    return workdir / "sendmail", workdir / "mailq"


MESSAGE = (b"From: Cron Daemon <root@host.test>\n"
           b"To: ops@example.com, \"Dev Team\" <dev@example.net>\n"
           b"Bcc: hidden@example.org\n"
           b"Subject: nightly report\n"
           b"\n"
           b"line one\n"
           b".dotted\n")


def test_sendmail_t_with_a_real_message(relay, workdir):
    sendmail, mailq = links(workdir)
    out = subprocess.run([str(sendmail), "-C", str(relay.config), "-t", "-i", "-f", "cron@host.test"],
                         input=MESSAGE, capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    [message] = relay.messages()
    assert message["sender"] == "cron@host.test" and message["protocol"] == "ESMTP"
    rcpts = [r["address"] for r in relay.recipients(message["queue_id"])]
    assert rcpts == ["ops@example.com", "dev@example.net", "hidden@example.org"]
    body = relay.body(message["queue_id"])
    assert body.startswith(b"Received: ") and b"Bcc:" not in body
    assert body.endswith(b"Subject: nightly report\r\n\r\nline one\r\n.dotted\r\n")  # bare LFs made CRLF
    listing = subprocess.run([str(mailq), "-C", str(relay.config)], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0 and message["queue_id"] in listing.stdout
    assert listing.stdout.endswith("-- 1 Kbytes in 1 Request.\n")


def test_single_dot_ends_input_without_i(relay, workdir):
    sendmail, _ = links(workdir)
    out = subprocess.run([str(sendmail), "-C", str(relay.config), "-F", "Backup Job", "x@example.com"],
                         input=b"Subject: cut\n\nkept\n.\nnot kept\n", capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    [message] = relay.messages()
    body = relay.body(message["queue_id"])
    assert b"From: Backup Job <" in body and body.endswith(b"kept\r\n") and b"not kept" not in body


def test_relayctl_send_and_refusals(relay_factory, workdir):
    relay = relay_factory('[relay]\nallow_networks = []\naccept_domains = ["example.com"]\n')
    ok = subprocess.run([str(RELAYCTL), "send", "-c", str(relay.config), "-f", "a@example.org", "b@example.com"],
                        input=b"Subject: hi\r\n\r\nx\r\n", capture_output=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    refused = subprocess.run([str(RELAYCTL), "send", "-c", str(relay.config), "b@elsewhere.example"],
                             input="Subject: hi\r\n\r\nx\r\n", capture_output=True, text=True, timeout=30)
    assert refused.returncode == 67 and "554 5.7.1" in refused.stderr  # EX_NOUSER
    none = subprocess.run([str(RELAYCTL), "send", "-c", str(relay.config)], input=b"x", capture_output=True, timeout=30)
    assert none.returncode == 64
    assert len(relay.messages()) == 1


def test_listener_down_is_a_temporary_failure(relay_factory, workdir):
    relay = relay_factory(start=False)
    out = subprocess.run([str(RELAYCTL), "send", "-c", str(relay.config), "b@example.com"], input="Subject: x\n\ny\n",
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 75 and "not running" in out.stderr


def test_crons_exact_call_as_a_user_reaches_the_postmaster(relay_factory, workdir):
    """Debian's cron runs `sendmail -FCronDaemon -i -B8BITMIME -oem root`, as the crontab's
    owner: root is the postmaster's (Debian's aliases), the sender is qualified with the
    hostname (Postfix's myorigin), and From:, Date: and Message-ID: are added."""
    import re

    from conftest import unprivileged
    relay = relay_factory('[relay]\npostmaster = "admin@example.com"\n')
    sendmail, _ = links(workdir)
    out = subprocess.run(unprivileged([sendmail, "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root"]),
                         input=b"Subject: Cron <nobody@host> run-parts\n\nhello from cron\n", capture_output=True,
                         timeout=30, env={**os.environ, "USER": "nobody", "RELAYD_CONFIG": str(relay.config)})
    assert (out.returncode, out.stdout, out.stderr) == (0, b"", b""), out.stderr  # silent, as sendmail is
    [message] = relay.messages()
    assert message["sender"] == "nobody@relay.test"
    assert [r["address"] for r in relay.recipients(message["queue_id"])] == ["admin@example.com"]
    body = relay.body(message["queue_id"]).decode()
    assert "\r\nFrom: CronDaemon <nobody@relay.test>\r\n" in body
    assert re.search(r"\r\nDate: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n", body)
    assert re.search(r"\r\nMessage-ID: <\d+\.\d+@relay\.test>\r\n", body)
    assert body.endswith("Subject: Cron <nobody@host> run-parts\r\n\r\nhello from cron\r\n")


def test_sendmail_errors_are_prefixed_sendmail(relay, workdir):
    sendmail, _ = links(workdir)
    out = subprocess.run([str(sendmail), "-C", str(relay.config), "-i"], input="Subject: x\n\ny\n",
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 64 and out.stderr.startswith("sendmail: no recipients"), out.stderr


def test_sendmail_q_delivers_the_queue_now(relay, workdir):
    """`sendmail -q` is Postfix's `postqueue -f`: the worker flushes everything."""
    sendmail, _ = links(workdir)
    relay.start_worker()
    # -C after -q still counts: the flush runs once every option is read; silent on success.
    out = subprocess.run([str(sendmail), "-q", "-C", str(relay.config)], capture_output=True, text=True, timeout=30)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", ""), out.stderr
    assert "event=flush" not in relay.worker_log_text()  # nothing was waiting: no message changed
    refused = subprocess.run([str(sendmail), "-C", str(relay.config), "-bs"], capture_output=True, text=True,
                             timeout=30)
    assert refused.returncode == 64 and refused.stderr.startswith("sendmail: -bs is not supported"), refused.stderr
