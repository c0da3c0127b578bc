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
