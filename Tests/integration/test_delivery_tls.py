"""Outbound TLS per policy, against scripted upstreams with test certificates."""
import pytest

from peers import DNS, PKI, Upstream
from test_delivery import send


@pytest.fixture
def pki(workdir):
    return PKI(workdir)


@pytest.fixture
def zone():
    server = DNS("example.test", {"mx.example.test": [("A", "127.0.0.1")]})
    yield server
    server.stop()


@pytest.fixture
def upstreams():
    made = []

    def make(**kw):
        u = Upstream(**kw)
        made.append(u)
        return u

    yield make
    for u in made:
        u.stop()


def route(zone, up, tls, extra=""):
    return (f'[dns]\nservers = ["127.0.0.1:{zone.port}"]\ntimeout = "2s"\n'
            f'[delivery]\nmin_backoff = "1h"\nmax_backoff = "2h"\n'
            f'[[route]]\ndomains = ["*"]\nhosts = ["mx.example.test:{up.port}"]\ntls = "{tls}"\n{extra}')


def attempted(relay, qid):
    return relay.wait_until(lambda: [r for r in relay.recipients(qid) if r["attempts"] >= 1], what="an attempt")[0]


def test_opportunistic_uses_starttls_when_offered(relay_factory, pki, zone, upstreams):
    up = upstreams(tls=pki.server_context("mx.example.test"))
    relay = relay_factory(route(zone, up, "opportunistic"))
    relay.start_worker()
    send(relay, "a@example.org", ["b@example.com"])
    [t] = up.wait_for(1)
    assert t["tls"] in ("TLSv1.2", "TLSv1.3")


def test_opportunistic_retries_in_plaintext_after_a_failed_handshake(relay_factory, pki, zone, upstreams):
    up = upstreams(tls=pki.server_context("mx.example.test"), script={"starttls": "garbage"})
    relay = relay_factory(route(zone, up, "opportunistic"))
    relay.start_worker()
    send(relay, "a@example.org", ["b@example.com"])
    [t] = up.wait_for(1)
    assert t["tls"] is None and "retrying in plaintext" in relay.worker_log_text()


def test_required_defers_without_starttls(relay_factory, zone, upstreams):
    up = upstreams()
    relay = relay_factory(route(zone, up, "required"))
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.com"])
    row = attempted(relay, qid)
    assert row["state"] == "deferred" and "does not offer STARTTLS" in row["last_reply"]
    assert up.transactions == []


def test_verify_with_the_route_ca_file(relay_factory, pki, zone, upstreams):
    up = upstreams(tls=pki.server_context("mx.example.test"))
    relay = relay_factory(route(zone, up, "verify", f'ca_file = "{pki.ca_file}"\n'))
    relay.start_worker()
    send(relay, "a@example.org", ["b@example.com"])
    [t] = up.wait_for(1)
    assert t["tls"] in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("host,expired,reason", [
    ("wrong.example.test", False, "hostname mismatch"),
    ("mx.example.test", True, "certificate has expired"),
])
def test_verify_defers_with_the_reason(relay_factory, pki, zone, upstreams, host, expired, reason):
    up = upstreams(tls=pki.server_context(host, expired=expired))
    relay = relay_factory(route(zone, up, "verify", f'ca_file = "{pki.ca_file}"\n'))
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.com"])
    row = attempted(relay, qid)
    assert row["state"] == "deferred" and reason in row["last_reply"], row["last_reply"]
    assert up.transactions == []


def test_verify_without_the_ca_defers(relay_factory, pki, zone, upstreams):
    up = upstreams(tls=pki.server_context("mx.example.test"))
    relay = relay_factory(route(zone, up, "verify"))
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.com"])
    row = attempted(relay, qid)
    assert row["state"] == "deferred" and "unable to get local issuer certificate" in row["last_reply"]


def test_implicit_tls_route(relay_factory, pki, zone, upstreams):
    up = upstreams(tls=pki.server_context("mx.example.test"), implicit_tls=True)
    relay = relay_factory(route(zone, up, "verify", f'ca_file = "{pki.ca_file}"\nimplicit_tls = true\n'))
    relay.start_worker()
    send(relay, "a@example.org", ["b@example.com"])
    [t] = up.wait_for(1)
    assert t["tls"] in ("TLSv1.2", "TLSv1.3")


def test_auth_goes_over_tls_only(relay_factory, pki, zone, upstreams, workdir):
    secret = workdir / "secret"
    secret.write_text("pw\n")
    up = upstreams(tls=pki.server_context("mx.example.test"), extensions=("PIPELINING", "AUTH PLAIN"))
    relay = relay_factory(route(zone, up, "required", f'username = "relay"\npassword_file = "{secret}"\n'))
    relay.start_worker()
    send(relay, "a@example.org", ["b@example.com"])
    [t] = up.wait_for(1)
    assert t["tls"] and up.auth_lines[0].startswith("AUTH PLAIN")


def test_a_reply_injected_before_the_handshake_is_dropped(relay_factory, pki, zone, upstreams):
    """RFC 3207 §4.2: what the server sent before the handshake is plaintext anyone could have
    injected. The client drops it, so the EHLO after the handshake reads the real reply; taking
    the injected one would leave the real one unread and fail the transaction."""
    up = upstreams(tls=pki.server_context("mx.example.test"), script={"starttls": "inject"})
    relay = relay_factory(route(zone, up, "required"))
    relay.start_worker()
    send(relay, "a@example.org", ["b@example.com"])
    [t] = up.wait_for(1)
    assert t["tls"] in ("TLSv1.2", "TLSv1.3")
    assert "event=deferred" not in relay.worker_log_text()


def test_a_handshake_that_never_finishes_times_out_and_defers(relay_factory, pki, zone, upstreams):
    up = upstreams(tls=pki.server_context("mx.example.test"), script={"starttls": "stall"})
    relay = relay_factory(route(zone, up, "required").replace(
        '[delivery]\n', '[delivery]\ncommand_timeout = "1s"\n'))
    relay.start_worker()
    qid = send(relay, "a@example.org", ["b@example.com"])
    row = attempted(relay, qid)
    assert row["state"] == "deferred" and row["last_dsn"].startswith("4.")
    assert "timeout in the TLS handshake" in row["last_reply"], row["last_reply"]
    assert relay.worker.poll() is None


def test_a_server_closing_without_close_notify_costs_only_its_connection(relay_factory, pki, zone, upstreams):
    """The server drops the TCP connection after each message without a TLS close_notify: the
    cached connection is found dead, and the next message goes on a new one, undeferred."""
    up = upstreams(tls=pki.server_context("mx.example.test"), script={"close_after_dot": True})
    relay = relay_factory(route(zone, up, "required"))
    relay.start_worker()
    send(relay, "a@example.org", ["one@example.com"])
    up.wait_for(1)
    send(relay, "a@example.org", ["two@example.com"])
    transactions = up.wait_for(2)
    assert all(t["tls"] in ("TLSv1.2", "TLSv1.3") for t in transactions)
    relay.wait_until(lambda: relay.messages() == [], what="an empty queue")
    assert up.connections == 2 and "event=deferred" not in relay.worker_log_text()
