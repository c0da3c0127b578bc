"""relayctl queue reads the spool (the daemons may be down) in postqueue -p and -j shapes."""
import json
import smtplib
import subprocess

from conftest import RELAYCTL, ROOT




def relayctl(relay, *args):
    return subprocess.run([str(RELAYCTL), "queue", *args, "-c", str(relay.config)],
                          capture_output=True, text=True, timeout=30)


def test_listing_and_json_with_daemon_down(relay):
    out = relayctl(relay)
    assert (out.returncode, out.stdout) == (0, "Mail queue is empty\n")
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.sendmail("alice@example.org", ["bob@example.com", "carol@example.net"], b"Subject: 1\r\n\r\nx\r\n")
        smtp.sendmail("<>", ["dave@example.com"], b"Subject: 2\r\n\r\ny\r\n")
    relay.stop()
    out = relayctl(relay)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("-Queue ID-") and "--Size-- ----Arrival Time---- -Sender/Recipient-------" in lines[0]
    sender_column = lines[0].index("-Sender")
    ids = [m["queue_id"] for m in relay.messages()]
    assert lines[1].startswith(ids[0]) and lines[1][sender_column:] == "alice@example.org"
    assert lines[2][sender_column:] == "bob@example.com" and lines[2][:sender_column].strip() == ""
    assert lines[3][sender_column:] == "carol@example.net"
    assert lines[5][sender_column:] == "MAILER-DAEMON"
    assert lines[-1] == "-- 1 Kbytes in 2 Requests."
    objects = [json.loads(l) for l in relayctl(relay, "--json").stdout.splitlines()]
    assert [o["queue_id"] for o in objects] == ids
    first = objects[0]
    assert first["queue_name"] == "queued" and first["sender"] == "alice@example.org"
    assert first["message_size"] == relay.messages()[0]["size"] and first["forced_expire"] is False
    assert isinstance(first["arrival_time"], int)
    assert first["recipients"][0] == {"address": "bob@example.com", "state": "queued", "attempts": 0,
                                      "next_attempt": first["arrival_time"]}
    assert objects[1]["sender"] == ""
    only = [json.loads(l)["queue_id"] for l in relayctl(relay, "--json", "--domain", "example.net").stdout.splitlines()]
    assert only == [ids[0]]
    assert relayctl(relay, "--sender", "", "--json").stdout.count("\n") == 1
    assert relayctl(relay, "--state", "deferred").stdout == "Mail queue is empty\n"


def test_bad_arguments_exit_64_with_usage(relay):
    out = relayctl(relay, "--state", "lost")
    assert out.returncode == 64 and "Usage:" in out.stderr
    # A problem found after parsing shows the subcommand's usage, not relayctl's.
    for argv, usage in ((["hold"], "Usage: relayctl queue hold "), (["flush", "bad-id"], "Usage: relayctl queue flush ")):
        out = relayctl(relay, *argv)
        assert out.returncode == 64 and usage in out.stderr, out.stderr


def test_queue_shape_counts_recipients_by_domain(relay):
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        for n in range(2):
            smtp.sendmail("a@example.org", [f"x{n}@example.com", "y@other.net"], b"Subject: s\r\n\r\nx\r\n")
    out = relayctl(relay, "shape")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["T", "5", "10", "20", "40", "80", "160", "320", "640", "1280", "1280+"]
    assert lines[1].split()[:3] == ["TOTAL", "4", "4"]
    assert {l.split()[0]: l.split()[1] for l in lines[2:]} == {"example.com": "2", "other.net": "2"}
    # By sender domain (qshape -s), and one queue only (qshape's queue argument).
    by_sender = relayctl(relay, "shape", "--sender").stdout.splitlines()
    assert {l.split()[0]: l.split()[1] for l in by_sender[2:]} == {"example.org": "4"}
    deferred = relayctl(relay, "shape", "--state", "deferred").stdout.splitlines()
    assert deferred[1].split()[:2] == ["TOTAL", "0"] and len(deferred) == 2
    queued = relayctl(relay, "shape", "--state", "queued").stdout.splitlines()
    assert queued[1].split()[:2] == ["TOTAL", "4"]
