"""Real peers for the worker's tests: a DNS server (dnslib) and a scripted SMTP server."""
import socket
import socketserver
import ssl
import threading
import time

from dnslib import AAAA, MX, PTR, QTYPE, RCODE, RR, SOA, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSServer


class ZoneResolver(BaseResolver):
    """Answers from a dict: name -> list of (type, value). Names under `zone` that are not in the
    dict get NXDOMAIN with an SOA; names in `servfail` get SERVFAIL."""

    def __init__(self, zone: str, records: dict, servfail: set, ttl: int = 300):
        self.zone, self.records, self.servfail, self.ttl = zone, records, servfail, ttl
        self.queries: list[tuple[str, str]] = []

    def resolve(self, request, handler):
        reply = request.reply()
        qname = str(request.q.qname).rstrip(".").lower()
        qtype = QTYPE[request.q.qtype]
        self.queries.append((qname, qtype))
        if qname in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        entries = self.records.get(qname)
        soa = RR(self.zone, QTYPE.SOA, ttl=self.ttl,
                 rdata=SOA("ns." + self.zone, "hostmaster." + self.zone, (1, 60, 60, 60, 30)))
        if entries is None:
            reply.header.rcode = RCODE.NXDOMAIN
            reply.add_auth(soa)
            return reply
        for rtype, value in entries:
            if rtype != qtype:
                continue
            if rtype == "MX":
                preference, exchange = value
                reply.add_answer(RR(qname, QTYPE.MX, ttl=self.ttl, rdata=MX(exchange, preference)))
            elif rtype == "A":
                reply.add_answer(RR(qname, QTYPE.A, ttl=self.ttl, rdata=A(value)))
            elif rtype == "AAAA":
                reply.add_answer(RR(qname, QTYPE.AAAA, ttl=self.ttl, rdata=AAAA(value)))
            elif rtype == "PTR":
                reply.add_answer(RR(qname, QTYPE.PTR, ttl=self.ttl, rdata=PTR(value)))
        if not reply.rr:
            reply.add_auth(soa)  # NODATA
        return reply


class MalformingHandler(DNSHandler):
    """Answers names in `server.malformed` with a response cut in the middle of its answer."""

    def get_reply(self, data):
        reply = super().get_reply(data)
        qname = str(DNSRecord.parse(data).q.qname).rstrip(".").lower()
        if qname in self.server.resolver.malformed:
            return reply[: len(reply) - 7]
        return reply


class DNS:
    def __init__(self, zone: str = "example.test", records: dict | None = None, servfail: set | None = None,
                 malformed: set | None = None):
        self.resolver = ZoneResolver(zone, records or {}, servfail or set())
        self.resolver.malformed = malformed or set()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = DNSServer(self.resolver, port=self.port, address="127.0.0.1", handler=MalformingHandler)
        self.server.start_thread()

    def stop(self):
        self.server.stop()


class Upstream:
    """A scripted SMTP server on loopback. `script` maps a phase to a reply or a function of the
    argument and the server: phases are greeting, ehlo, mail, rcpt, data, dot (whose argument is
    the accepted recipients, comma-separated).
    Records every connection and every transaction's envelope and text (dot-unstuffed)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, script: dict | None = None,
                 extensions=("PIPELINING", "8BITMIME", "SMTPUTF8", "DSN", "SIZE 100000000", "ENHANCEDSTATUSCODES"),
                 tls=None, implicit_tls=False, on_message=None):
        """`tls`: an ssl.SSLContext (server side) to offer STARTTLS with, or to speak TLS from the
        first byte when `implicit_tls`. `on_message`: called with each accepted transaction
        instead of recording it (a counting sink that keeps no text)."""
        self.on_message = on_message
        self.script = script or {}
        self.tls = tls
        self.implicit_tls = implicit_tls
        self.handshake_failures = 0
        self.extensions = list(extensions)
        self.connections = 0
        self.transactions: list[dict] = []
        self.mail_attempts = 0
        self.commands_with_dot = 0  # MAIL commands that came in with the previous final dot
        self.lock = threading.Lock()
        upstream = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                with upstream.lock:
                    upstream.connections += 1
                upstream.serve(self)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server((host, port), Handler)
        self.host, self.port = self.server.server_address
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reply_for(self, phase: str, argument: str, default: str) -> str | None:
        entry = self.script.get(phase, default)
        if callable(entry):
            entry = entry(argument, self)
        return entry

    def start_tls(self, handler):
        """Server side of a handshake: (rfile, wfile, TLS version), or None when it failed (counted)."""
        try:
            sock = self.tls.wrap_socket(handler.request, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.handshake_failures += 1
            return None
        return sock.makefile("rb"), sock.makefile("wb"), sock.version()

    def serve(self, handler):
        rfile, wfile = handler.rfile, handler.wfile
        tls_version = None
        if self.implicit_tls:
            started = self.start_tls(handler)
            if started is None:
                return
            rfile, wfile, tls_version = started

        def send(text):
            if text is None:
                return
            wfile.write(text.encode() if isinstance(text, str) else text)
            wfile.flush()

        greeting = self.reply_for("greeting", "", "220 upstream.test ESMTP\r\n")
        send(greeting)
        if greeting and greeting.startswith("5"):
            return
        transaction = None
        while True:
            line = rfile.readline(65536)
            if not line:
                return
            text = line.decode(errors="replace").rstrip("\r\n")
            verb = text[:4].upper()
            if verb == "EHLO":
                extensions = self.extensions + (["STARTTLS"] if self.tls and not tls_version else [])
                send(self.reply_for("ehlo", text[5:], "250-upstream.test\r\n" +
                                    "".join(f"250-{e}\r\n" for e in extensions) + "250 HELP\r\n"))
            elif text.upper() == "STARTTLS" and self.tls and not tls_version:
                if self.script.get("starttls") == "inject":
                    # A reply slipped in with the 220, as a man in the middle would (RFC 3207 §4.2).
                    send("220 2.0.0 Ready to start TLS\r\n250 2.0.0 injected before the handshake\r\n")
                else:
                    send("220 2.0.0 Ready to start TLS\r\n")
                if self.script.get("starttls") == "garbage":
                    send("this is not a TLS server hello\r\n")
                    return
                if self.script.get("starttls") == "stall":
                    time.sleep(5)  # never answers the ClientHello
                    return
                started = self.start_tls(handler)
                if started is None:
                    return
                rfile, wfile, tls_version = started
                transaction = None
            elif verb == "HELO":
                send("250 upstream.test\r\n")
            elif verb == "MAIL":
                with self.lock:
                    self.mail_attempts += 1
                reply = self.reply_for("mail", text, "250 2.1.0 Ok\r\n")
                transaction = ({"mail": text, "rcpts": [], "accepted": [], "tls": tls_version}
                               if reply.startswith("2") else None)
                send(reply)
            elif verb == "RCPT" and transaction is None:
                send("503 5.5.1 Error: need MAIL command\r\n")
            elif verb == "RCPT":
                address = text[text.index("<") + 1:text.index(">")]
                reply = self.reply_for("rcpt", address, "250 2.1.5 Ok\r\n")
                transaction["rcpts"].append(text)
                if reply.startswith("2"):
                    transaction["accepted"].append(address)
                send(reply)
            elif verb == "DATA" and (transaction is None or not transaction["accepted"]):
                send("554 5.5.1 Error: no valid recipients\r\n")
            elif verb == "DATA":
                reply = self.reply_for("data", "", "354 go ahead\r\n")
                send(reply)
                if not reply.startswith("354"):
                    continue
                data = b""
                while True:
                    chunk = rfile.readline(1 << 20)
                    if not chunk:
                        return  # the client went away mid-text: nothing was received
                    if chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                transaction["data"] = data
                if not tls_version and not self.implicit_tls:
                    # Did the client send its next commands with this final dot (RFC 2920 §3.1)?
                    # A non-blocking peek sees what came in the same write without waiting.
                    handler.request.setblocking(False)
                    try:
                        following = rfile.peek(1)
                    except (BlockingIOError, OSError):
                        following = b""
                    finally:
                        handler.request.setblocking(True)
                    if following and following[:4].upper() == b"MAIL":
                        with self.lock:
                            self.commands_with_dot += 1
                dot = self.reply_for("dot", ",".join(transaction["accepted"]), "250 2.0.0 Ok: queued\r\n")
                if dot is not None and dot.startswith("2"):
                    with self.lock:
                        if self.on_message:
                            self.on_message(transaction)
                        else:
                            self.transactions.append(transaction)
                send(dot)
                if dot is None:
                    return  # lose the reply: close without answering
                if self.script.get("close_after_dot"):
                    return  # drop the connection; over TLS, without a close_notify
            elif verb == "RSET":
                transaction = None
                send("250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                send("221 2.0.0 Bye\r\n")
                return
            elif verb == "AUTH":
                self.auth_lines = [text]
                if text.upper() == "AUTH LOGIN":
                    for prompt in ("334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n"):
                        send(prompt)
                        self.auth_lines.append(rfile.readline(65536).decode().rstrip("\r\n"))
                send(self.reply_for("auth", text, "235 2.7.0 Authenticated\r\n"))
            else:
                send("502 5.5.2 Error: command not recognized\r\n")

    def wait_for(self, count: int, timeout: float = 20) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.transactions) >= count:
                    return list(self.transactions)
            time.sleep(0.05)
        raise AssertionError(f"upstream got {len(self.transactions)} transactions, wanted {count}")

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class PKI:
    """A CA and server certificates made with the `cryptography` package, for TLS tests."""

    def __init__(self, directory):
        import datetime
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory = directory
        self._x509, self._hashes, self._serialization, self._ec = x509, hashes, serialization, ec
        self._NameOID, self._datetime = NameOID, datetime
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Relay Test CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(self.ca_key, hashes.SHA256()))
        self.ca_file = directory / "ca.pem"
        self.ca_file.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))

    def server_context(self, host: str, expired: bool = False) -> ssl.SSLContext:
        x509, datetime = self._x509, self._datetime
        key = self._ec.generate_private_key(self._ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = ((now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)) if expired
                      else (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)))
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(self._NameOID.COMMON_NAME, host)]))
                .issuer_name(self.ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
                .sign(self.ca_key, self._hashes.SHA256()))
        stem = self.directory / f"{host}{'-expired' if expired else ''}"
        cert_file, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert_file.write_bytes(cert.public_bytes(self._serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(self._serialization.Encoding.PEM,
                                               self._serialization.PrivateFormat.PKCS8,
                                               self._serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context
