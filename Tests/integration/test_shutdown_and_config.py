"""Graceful shutdown on SIGTERM, and configuration errors with file, line, key and reason."""
import signal
import subprocess
import time

from conftest import RELAYD, RawClient, unprivileged


def test_sigterm_closes_idle_sessions_and_lets_transactions_finish(relay, raw):
    idle = raw(relay.port)
    idle.cmd("EHLO idle")
    busy = raw(relay.port)
    busy.cmd("EHLO busy")
    busy.cmd("MAIL FROM:<a@example.org>")
    busy.cmd("RCPT TO:<b@example.com>")
    assert busy.cmd("DATA")[0] == 354
    busy.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
    relay.proc.send_signal(signal.SIGTERM)
    code, lines = idle.reply()
    assert code == 421 and lines[0].startswith("421 4.3.2")
    assert idle.closed()
    time.sleep(0.3)
    try:  # no new sessions once shutting down
        RawClient(relay.port, timeout=2).reply()
        assert False, "a new session was accepted during shutdown"
    except (ConnectionError, OSError):
        pass
    busy.send(b"second half\r\n.\r\n")
    code, lines = busy.reply()
    assert code == 250, lines
    code, lines = busy.reply()
    assert code == 421 and lines[0].startswith("421 4.3.2")
    assert relay.proc.wait(timeout=30) == 0
    assert len(relay.messages()) == 1


def test_shutdown_timeout_closes_stuck_transactions(relay_factory, raw):
    relay = relay_factory('[limits]\nshutdown_timeout = "1s"\n')
    busy = raw(relay.port)
    busy.cmd("EHLO busy")
    busy.cmd("MAIL FROM:<a@example.org>")
    relay.proc.send_signal(signal.SIGTERM)
    code, lines = busy.reply()
    assert code == 421 and lines[0].startswith("421 4.3.2")
    assert relay.proc.wait(timeout=30) == 0


def run(*args, config=None):
    cmd = unprivileged([RELAYD, *args] + (["-c", config] if config else []))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_check_config_prints_effective_configuration(workdir):
    conf = workdir / "ok.conf"
    conf.write_text('hostname = "h.example"\nspool_dir = "/tmp/s"\n[limits]\nmax_message_size = "10MB"\n')
    out = run("check-config", config=conf)
    assert out.returncode == 0, out.stderr
    assert 'max_message_size       = "10MB"' in out.stdout or "max_message_size" in out.stdout
    assert 'address        = "127.0.0.1:25"' in out.stdout  # the default listener


def test_bad_config_names_file_line_key_and_reason(workdir):
    conf = workdir / "bad.conf"
    conf.write_text('hostname = "h.example"\n\n[limits]\nmax_recipients = 10\ncommand_timeout = "soon"\n')
    for args in (("check-config",), ("listener",)):
        out = run(*args, config=conf)
        assert out.returncode == 78
        assert f"{conf}:5: limits.command_timeout:" in out.stderr, out.stderr


def test_unknown_key_and_open_relay_domain_refused(workdir):
    conf = workdir / "bad.conf"
    conf.write_text('[relay]\naccept_domains = ["*"]\n')
    out = run("check-config", config=conf)
    assert out.returncode == 78 and ":2: relay.accept_domains" in out.stderr, out.stderr
    conf.write_text('[limits]\nmax_mesage_size = 5\n')
    out = run("check-config", config=conf)
    assert out.returncode == 78 and ":2: limits.max_mesage_size: unknown key" in out.stderr, out.stderr


def test_missing_config_file(workdir):
    out = run("check-config", config=workdir / "nope.conf")
    assert out.returncode == 78 and "nope.conf" in out.stderr


def test_usage_error_exits_64():
    out = run("listener", "--bogus")
    assert out.returncode == 64
