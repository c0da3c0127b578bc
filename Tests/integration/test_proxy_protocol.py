"""proxy_protocol listeners: the PROXY header (v1 and v2) from a trusted proxy names the client."""
import socket
import struct

import pytest

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_config(trusted: str) -> str:
    return f"""
[[listener]]
address = "127.0.0.1:PORT"
proxy_protocol = true

[relay]
trusted_proxies = ["{trusted}"]
"""


def v1(source: str, port: int = 40000) -> bytes:
    family = "TCP6" if ":" in source else "TCP4"
    target = "::1" if family == "TCP6" else "127.0.0.1"
    return f"PROXY {family} {source} {target} {port} 25\r\n".encode()


def v2_ipv4(source: str, port: int = 40000) -> bytes:
    body = socket.inet_aton(source) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", port, 25)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


class Session:
    def __init__(self, port: int, header: bytes):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(header)
        self.file = self.sock.makefile("rb")

    def reply(self) -> str:
        lines = []
        while True:
            line = self.file.readline().decode()
            if not line:
                return "".join(lines)
            lines.append(line)
            if len(line) < 4 or line[3] == " ":
                return "".join(lines)

    def command(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("header", [v1, v2_ipv4], ids=["v1", "v2"])
def test_the_header_names_the_client_for_relay_permission_and_the_spool(relay_factory, header):
    relay = relay_factory(proxy_config("127.0.0.1/32"))
    # A client outside allow_networks, as the proxy saw it: it may not relay.
    outside = Session(relay.port, header("192.0.2.7"))
    assert outside.reply().startswith("220 ")
    assert outside.command("EHLO client.example").startswith("250")
    assert outside.command("MAIL FROM:<a@example.org>").startswith("250")
    assert outside.command("RCPT TO:<b@example.com>").startswith("554 5.7.1")
    outside.close()
    # A client inside allow_networks (loopback), named by the header: it may, and the spool
    # records the address and port the header gave.
    inside = Session(relay.port, header("127.0.0.1", 41234))
    assert inside.reply().startswith("220 ")
    inside.command("EHLO client.example")
    inside.command("MAIL FROM:<a@example.org>")
    assert inside.command("RCPT TO:<b@example.com>").startswith("250")
    assert inside.command("DATA").startswith("354")
    assert inside.command("Subject: proxied\r\n\r\nhello\r\n.").startswith("250")
    inside.close()
    [row] = relay.messages()
    assert row["client_address"] == "127.0.0.1" and row["client_port"] == 41234


def test_commands_sent_with_the_header_are_read_after_it(relay_factory):
    relay = relay_factory(proxy_config("127.0.0.1/32"))
    session = Session(relay.port, v1("192.0.2.7") + b"NOOP\r\n")
    assert session.reply().startswith("220 ")
    assert session.reply().startswith("250")  # the NOOP that came in the same packet as the header
    session.close()


@pytest.mark.parametrize("payload", [
    b"EHLO client.example\r\n",                       # an SMTP client, not a proxy
    b"PROXY TCP4 192.0.2.7 127.0.0.1 99999 25\r\n",   # a bad port
    V2_SIGNATURE + b"\x21\x11\x00\x03abc",            # addresses cut short
], ids=["smtp-instead", "bad-v1", "short-v2"])
def test_anything_but_a_header_closes_without_a_banner(relay_factory, payload):
    relay = relay_factory(proxy_config("127.0.0.1/32"))
    session = Session(relay.port, payload)
    assert session.reply() == ""  # closed, nothing said
    session.close()
    assert "proxy header refused" in relay.log.read_text()
    assert relay.proc.poll() is None


def test_a_source_outside_trusted_proxies_is_refused(relay_factory):
    relay = relay_factory(proxy_config("192.0.2.1/32"))
    session = Session(relay.port, v1("192.0.2.7"))
    assert session.reply().startswith("554 5.7.1")
    session.close()
    assert "not a trusted proxy" in relay.log.read_text()


def test_smtps_behind_a_proxy_starts_tls_after_the_header(relay_factory, tmp_path):
    """The PROXY header comes in plaintext before the TLS handshake of an smtps listener."""
    import ssl
    import subprocess
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "key.pem"),
                    "-out", str(tmp_path / "cert.pem"), "-days", "2", "-subj", "/CN=relay.test"],
                   check=True, capture_output=True)
    from conftest import hand_over
    hand_over(tmp_path)
    relay = relay_factory(
        f'[tls]\ncert = "{tmp_path / "cert.pem"}"\nkey = "{tmp_path / "key.pem"}"\n'
        '[[listener]]\naddress = "127.0.0.1:PORT"\nmode = "smtps"\nrequire_auth = false\nproxy_protocol = true\n'
        '[relay]\ntrusted_proxies = ["127.0.0.1/32"]\n')
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", relay.port), timeout=10)
    raw.sendall(v2_ipv4("198.51.100.9"))
    with context.wrap_socket(raw) as tls:
        banner = tls.recv(512).decode()
        assert banner.startswith("220 "), banner
        tls.sendall(b"EHLO client.example\r\n")
        assert tls.recv(4096).startswith(b"250")
        tls.sendall(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n")
        replies = b""
        while replies.count(b"\r\n") < 2:
            replies += tls.recv(4096)
        assert b"554 5.7.1" in replies  # 198.51.100.9 is not in allow_networks: the header's address counts
