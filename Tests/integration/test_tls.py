"""TLS on the listener with the system OpenSSL: STARTTLS and smtps against real peers."""
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import DROP, RELAYD, hand_over


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "key.pem"),
                    "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=relay.test"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "other-key.pem"),
                    "-out", str(d / "other-cert.pem"), "-days", "2", "-subj", "/CN=other.test"],
                   check=True, capture_output=True)
    hand_over(d)  # the relay user reads the key, as relayd does in its package
    return d


def tls_config(certs, extra=""):
    return f'[tls]\ncert = "{certs / "cert.pem"}"\nkey = "{certs / "key.pem"}"\n' + extra


def client_context(maximum=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum:
        context.minimum_version = maximum
        context.maximum_version = maximum
    return context


@pytest.mark.parametrize("version,name", [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")])
def test_starttls_with_smtplib(relay_factory, certs, version, name):
    relay = relay_factory(tls_config(certs))
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.ehlo("c.test")
        assert smtp.has_extn("starttls")
        assert smtp.starttls(context=client_context(version))[0] == 220
        smtp.ehlo("c.test")
        assert not smtp.has_extn("starttls")  # not offered twice
        assert smtp.sock.version() == name
        smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: secret\r\n\r\nx\r\n")
    [row] = relay.messages()
    assert row["protocol"] == "ESMTPS" and row["tls_version"] == name and row["tls_cipher"]
    body = relay.body(row["queue_id"])
    assert f"(using {name} with cipher {row['tls_cipher']})".encode() in body.split(b"\r\n\tby")[0]


def test_openssl_s_client_starttls(relay_factory, certs):
    relay = relay_factory(tls_config(certs))
    out = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{relay.port}",
                          "-quiet", "-ign_eof"], input=b"EHLO client.test\r\nQUIT\r\n", capture_output=True,
                         timeout=20)
    text = out.stdout.decode()
    assert "250-relay.test" in text and "STARTTLS" not in text and "221 2.0.0" in text


def test_plaintext_pipelined_after_starttls_is_discarded(relay_factory, certs):
    relay = relay_factory(tls_config(certs))
    raw = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    raw.recv(1024)
    raw.sendall(b"EHLO c.test\r\n")
    time.sleep(0.2)
    raw.recv(4096)
    raw.sendall(b"STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.test>\r\n")  # one packet
    assert raw.recv(1024).startswith(b"220 2.0.0")
    tls = client_context().wrap_socket(raw)
    tls.sendall(b"NOOP\r\n")
    reply = tls.recv(1024)
    # The first reply over TLS answers our NOOP; nothing answers the injected commands.
    assert reply == b"250 2.0.0 Ok\r\n"
    tls.sendall(b"MAIL FROM:<a@example.org>\r\n")
    assert tls.recv(1024).startswith(b"503 5.5.1")  # the session was reset: EHLO first
    tls.close()


def test_garbage_instead_of_a_handshake_closes_cleanly(relay_factory, certs, raw):
    relay = relay_factory(tls_config(certs))
    c = raw(relay.port)
    c.cmd("EHLO c.test")
    assert c.cmd("STARTTLS")[0] == 220
    c.send(b"this is not a ClientHello\r\n" * 20)
    assert c.closed()
    d = raw(relay.port)  # still serving
    assert d.cmd("NOOP")[0] == 250


def test_smtps_implicit_tls(relay_factory, certs):
    relay = relay_factory(tls_config(certs) + '[[listener]]\naddress = "127.0.0.1:PORT"\nmode = "smtps"\n'
                          'require_auth = false\n', start=False)
    relay.hand_over()
    relay.proc = subprocess.Popen(relay.command("listener"),
                                  stdout=open(relay.log, "ab"), stderr=open(relay.log, "ab"))
    deadline = time.monotonic() + 20
    while True:
        try:
            smtp = smtplib.SMTP_SSL("127.0.0.1", relay.port, context=client_context(), timeout=5)
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    with smtp:
        smtp.ehlo("c.test")
        assert not smtp.has_extn("starttls")
        smtp.sendmail("a@example.org", ["b@example.com"], b"Subject: s\r\n\r\nx\r\n")
    [row] = relay.messages()
    assert row["protocol"] == "ESMTPS"


def test_require_tls_refuses_mail_before_starttls(relay_factory, certs, raw):
    relay = relay_factory(tls_config(certs) + '[[listener]]\naddress = "127.0.0.1:PORT"\nrequire_tls = true\n')
    c = raw(relay.port)
    c.cmd("EHLO c.test")
    assert c.cmd("MAIL FROM:<a@example.org>") == (530, ["530 5.7.0 Must issue a STARTTLS command first"])
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        smtp.starttls(context=client_context())
        smtp.ehlo("c.test")
        assert smtp.mail("a@example.org")[0] == 250


@pytest.mark.parametrize("problem,words", [
    ("missing", "cannot read the key {key}: No such file or directory"),
    ("mismatch", "the key {key} does not match the certificate"),
    ("unreadable", "cannot read the key {key}: Permission denied (owner root, mode 600; relayd runs as"),
])
def test_bad_certificate_files_exit_78_naming_the_file(relay_factory, certs, workdir, problem, words):
    key = certs / {"missing": "nope.pem", "mismatch": "other-key.pem", "unreadable": "root-only.pem"}[problem]
    relay = relay_factory(f'[tls]\ncert = "{certs / "cert.pem"}"\nkey = "{key}"\n', start=False)
    relay.hand_over()
    if problem == "unreadable":
        if not DROP:
            pytest.skip("needs the relay to run as another user than the key's owner")
        key.write_bytes((certs / "key.pem").read_bytes())
        os.chown(key, 0, 0)
        os.chmod(key, 0o600)
    out = subprocess.run(relay.command("listener"), capture_output=True, text=True, timeout=20)
    assert out.returncode == 78 and words.format(key=key) in out.stderr, out.stderr
    # Plain words: one line, no stack of OpenSSL library codes.
    assert len(out.stderr.strip().splitlines()) == 1 and "error:" not in out.stderr, out.stderr


def test_reload_with_a_bad_pair_keeps_the_old_certificate(relay_factory, certs):
    relay = relay_factory(tls_config(certs))
    good = relay.config.read_text()
    relay.config.write_text(good.replace('key.pem"', 'other-key.pem"'))
    relay.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while "TLS files refused" not in relay.log_text():
        assert time.monotonic() < deadline, relay.log_text()
        time.sleep(0.1)
    with smtplib.SMTP("127.0.0.1", relay.port) as smtp:
        assert smtp.starttls(context=client_context())[0] == 220
        assert smtp.noop()[0] == 250
