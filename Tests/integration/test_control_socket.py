"""The worker's control socket: versioned JSON lines, strict parsing, peer credentials."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys

import pytest
from conftest import RELAY_UID


def request(path, payload: bytes, read=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(str(path))
    s.sendall(payload)
    if not read:
        s.close()
        return None
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data) if data else None


@pytest.fixture
def worker(relay_factory):
    relay = relay_factory()
    relay.start_worker()
    return relay


def test_kick_and_status(worker):
    path = worker.workdir / "control.sock"
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o660
    assert request(path, b'{"version":1,"command":"kick","arguments":{}}\n') == {"ok": True, "result": {}, "version": 1}
    status = request(path, b'{"version":1,"command":"status","arguments":{}}\n')
    assert status["ok"] and status["result"]["pid"] == str(worker.worker.pid)
    assert status["result"]["deliveries_in_flight"] == "0"


@pytest.mark.parametrize("payload,code", [
    (b"garbage\n", "bad_request"),
    (b'{"version":2,"command":"kick","arguments":{}}\n', "version"),
    (b'{"version":1,"command":"explode","arguments":{}}\n', "unknown_command"),
    (b"x" * (10 * 1024 * 1024) + b"\n", "bad_request"),
], ids=["garbage", "version", "unknown-command", "10MB-line"])
def test_malformed_frames_get_errors_and_the_worker_keeps_serving(worker, payload, code):
    path = worker.workdir / "control.sock"
    try:
        response = request(path, payload)
        assert response["ok"] is False and response["error"]["code"] == code
    except (BrokenPipeError, ConnectionResetError):
        assert code == "bad_request"  # the server may close before reading all of a huge line
    request(path, b'{"version":1,"command":"ki', read=False)  # half a line, then close
    assert request(path, b'{"version":1,"command":"status","arguments":{}}\n')["ok"]
    assert worker.worker.poll() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_other_users_are_refused(worker):
    path = worker.workdir / "control.sock"
    os.chmod(path, 0o666)  # let the connection through so the credential check itself is tested
    os.chmod(worker.workdir, 0o755)
    os.chmod(worker.workdir.parent, 0o755)  # the temporary folder is 0700
    # The refusal comes as soon as the connection is accepted; the client only reads.
    # Neither root nor the relay's own user (the tests run relayd as one).
    stranger = RELAY_UID + 1000
    code = ("import socket,os,json; os.setuid(%d); s=socket.socket(socket.AF_UNIX); s.connect(%r); "
            "print(s.recv(4096).decode())" % (stranger, str(path)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=20)
    assert out.stdout, out.stderr
    response = json.loads(out.stdout)
    assert response["ok"] is False and response["error"]["code"] == "forbidden"


def test_a_client_that_leaves_before_its_answer_does_not_kill_the_worker(worker):
    """The answer is written to a closed socket: EPIPE for the worker to ignore, not SIGPIPE."""
    path = worker.workdir / "control.sock"
    os.kill(worker.worker.pid, signal.SIGSTOP)  # so the request is read only after the client left
    try:
        for _ in range(3):
            request(path, b'{"version":1,"command":"status","arguments":{}}\n', read=False)
    finally:
        os.kill(worker.worker.pid, signal.SIGCONT)
    assert request(path, b'{"version":1,"command":"status","arguments":{}}\n')["ok"]
    assert worker.worker.poll() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_relayctl_as_another_user_is_told_it_may_not_ask_not_that_the_worker_is_down(worker):
    """A monitoring user running `relayctl status` or `pause`: exit 77 (EX_NOPERM) with the
    reason, not 69 and "down"; the roles' uid checks stay as they are."""
    from conftest import RELAYCTL
    os.chmod(worker.workdir, 0o755)
    os.chmod(worker.workdir.parent, 0o755)
    stranger = str(RELAY_UID + 1000)
    for argv in (["status"], ["pause"]):
        out = subprocess.run(["setpriv", f"--reuid={stranger}", f"--regid={stranger}", "--clear-groups", "--",
                              str(RELAYCTL), *argv, "-c", str(worker.config)], capture_output=True, text=True, timeout=30)
        assert out.returncode == 77, (argv, out.returncode, out.stdout, out.stderr)
        assert "may" in out.stderr and "use" in out.stderr, out.stderr
