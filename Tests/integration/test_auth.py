"""SMTP AUTH on the listener: PLAIN and LOGIN over TLS only, crypt(3) users, relay for the authenticated."""
import smtplib
import ssl
import subprocess

import pytest

from conftest import RELAYD
from test_tls import certs, client_context  # noqa: F401  (fixture)


@pytest.fixture
def users(workdir):
    hashed = subprocess.run(["openssl", "passwd", "-6", "-salt", "relaytests", "s3cret pass"],
                            capture_output=True, text=True, check=True).stdout.strip()
    path = workdir / "users"
    path.write_text(f"# relay users\nalice:{hashed}\n")
    return path


def config(certs, users, extra=""):
    return (f'[tls]\ncert = "{certs / "cert.pem"}"\nkey = "{certs / "key.pem"}"\n'
            f'[auth]\nusers_file = "{users}"\n[relay]\nallow_networks = []\naccept_domains = ["local.test"]\n' + extra)


def test_auth_plain_with_swaks_relays_anywhere(relay_factory, certs, users):
    relay = relay_factory(config(certs, users))
    out = subprocess.run(["swaks", "--server", f"127.0.0.1:{relay.port}", "--tls", "--auth", "PLAIN",
                          "--auth-user", "alice", "--auth-password", "s3cret pass", "--from", "a@example.org",
                          "--to", "someone@elsewhere.example"], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert "235 2.7.0 Authentication successful" in out.stdout, out.stdout
    assert "250 2.0.0 Ok: queued as" in out.stdout
    [row] = relay.messages()
    assert row["protocol"] == "ESMTPSA" and row["auth_user"] == "alice"
    assert b"alice" not in relay.body(row["queue_id"]).split(b"\r\n\r\n")[0].split(b"\r\n\t")[0]  # not disclosed
    assert "user=alice" in relay.log_text() and "s3cret" not in relay.log_text()


def test_auth_login_with_smtplib_and_failures(relay_factory, certs, users):
    relay = relay_factory(config(certs, users))
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.ehlo("c.test")
        assert not smtp.has_extn("auth")  # never offered before TLS
        assert smtp.docmd("AUTH", "PLAIN AGFsaWNlAHgK")[0] == 538  # credentials are not even read
        smtp.starttls(context=client_context())
        smtp.ehlo("c.test")
        assert smtp.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        smtp.user, smtp.password = "alice", "wrong"
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.auth("LOGIN", smtp.auth_login)
        assert refused.value.smtp_code == 535
        smtp.user, smtp.password = "alice", "s3cret pass"
        assert smtp.auth("LOGIN", smtp.auth_login)[0] == 235
        assert smtp.mail("a@example.org")[0] == 250
        assert smtp.rcpt("x@elsewhere.example")[0] == 250


def test_three_failures_disconnect(relay_factory, certs, users, raw):
    relay = relay_factory(config(certs, users))
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.starttls(context=client_context())
        smtp.ehlo("c.test")
        codes = [smtp.docmd("AUTH", "PLAIN AGFsaWNlAG5vcGU=")[0] for _ in range(3)]  # \0alice\0nope
        assert codes == [535, 535, 535]
        assert smtp.noop()[0] == 421  # sent with the third 535, then the connection closes
        with pytest.raises(smtplib.SMTPServerDisconnected):
            smtp.noop()


def test_require_auth_on_a_submission_listener(relay_factory, certs, users):
    relay = relay_factory(config(certs, users, '[[listener]]\naddress = "127.0.0.1:PORT"\nmode = "submission"\n'))
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.starttls(context=client_context())
        smtp.ehlo("c.test")
        assert smtp.mail("a@example.org")[0] == 530
        smtp.login("alice", "s3cret pass")
        assert smtp.mail("a@example.org")[0] == 250


def test_a_bad_users_file_exits_78(relay_factory, certs, workdir):
    bad = workdir / "bad-users"
    bad.write_text("alice without a colon\n")
    relay = relay_factory(config(certs, bad), start=False)
    relay.hand_over()
    out = subprocess.run(relay.command("listener"), capture_output=True, text=True, timeout=20)
    assert out.returncode == 78 and f"{bad}:1: expected name:hash" in out.stderr


def test_failures_are_limited_per_address_across_sessions(relay_factory, certs, users):
    """Reconnecting does not reset a guesser: after 10 failures from one address, even the right
    password fails from it, while another address is not affected (issue 13)."""
    import threading
    relay = relay_factory(config(certs, users))

    def guess_three_times():
        smtp = smtplib.SMTP("127.0.0.1", relay.port, timeout=30)
        smtp.starttls(context=client_context())
        smtp.ehlo("c.test")
        for _ in range(3):
            smtp.docmd("AUTH", "PLAIN AGFsaWNlAG5vcGU=")  # \0alice\0nope
        smtp.close()  # the third failure ended the session (421): no QUIT

    guessers = [threading.Thread(target=guess_three_times) for _ in range(4)]  # 12 failures
    for thread in guessers:
        thread.start()
    for thread in guessers:
        thread.join(timeout=60)

    def login(source: str) -> int:
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=30, source_address=(source, 0)) as smtp:
            smtp.starttls(context=client_context())
            smtp.ehlo("c.test")
            return smtp.docmd("AUTH", "PLAIN AGFsaWNlAHMzY3JldCBwYXNz")[0]  # \0alice\0s3cret pass

    assert login("127.0.0.1") == 535
    assert login("127.0.0.2") == 235
