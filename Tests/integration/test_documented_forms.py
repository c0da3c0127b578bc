"""Every command form the manual pages' SYNOPSIS writes, run verbatim against a running relay.

The forms are read from man/relayctl.8 and man/relayd.8 as mandoc renders them, so the
documentation and the argument parser cannot drift apart: a form the page shows and the parser
refuses (exit 64, a usage message) fails here. Global options are tried where SPEC.md writes
them (before the command) and after the command words, which relayctl accepts too.
"""
import itertools
import json
import os
import re
import smtplib
import subprocess

import pytest

from conftest import RELAYCTL, RELAYD, ROOT, unprivileged, wait_until
from test_relayctl_commands import served  # noqa: F401  (fixture)

USAGE_ERRORS = ("Usage:", "Unknown option", "Missing expected argument", "Unexpected argument", "Error:")


def synopsis(page: str) -> list[str]:
    """The SYNOPSIS lines of a manual page, one per form, continuation lines joined."""
    text = subprocess.run(["mandoc", "-T", "ascii", "-O", "width=400", str(ROOT / "man" / page)],
                          capture_output=True, text=True, check=True).stdout
    text = re.sub(r".\x08", "", text)
    section = text.split("SYNOPSIS\n", 1)[1].split("\nDESCRIPTION", 1)[0]
    return [line.strip() for line in section.splitlines() if line.strip() and not line.strip().startswith("where")]


def units(form: str) -> list[list[list[str]]]:
    """A form as a sequence of units; each unit is a list of alternatives; each alternative a
    list of tokens. `[...]` groups are optional (an empty alternative is added)."""
    tokens = re.findall(r"\[[^\]]*\]|\||\S+", form)
    result: list[list[list[str]]] = []
    join = False
    for token in tokens:
        if token == "|":
            join = True
            continue
        if token == "...":
            continue
        if token.startswith("["):
            inner = token[1:-1].split(" | ")
            alternatives = [[t for t in part.split() if t != "..."] for part in inner] + [[]]
        elif result and not join and not token.startswith("-") and is_metavariable(token) \
                and result[-1][-1] and result[-1][-1][-1].startswith("-") and len(result[-1][-1]) == 1:
            result[-1][-1].append(token)  # `--domain domain`: the option's value
            continue
        else:
            alternatives = [[token]]
        if join:
            result[-1].extend(alternatives)
            join = False
        else:
            result.append(alternatives)
    return result


METAVARIABLES = {"options", "file", "socket", "id", "state", "domain", "sender", "n", "recipient", "name"}


def is_metavariable(token: str) -> bool:
    return token in METAVARIABLES


def expansions(form: str) -> list[list[str]]:
    """Concrete token lists covering every alternative of every unit at least once: the first
    form takes every optional group, the next ones vary one unit each."""
    parsed = units(form)
    first = [alternatives[0] for alternatives in parsed]
    forms = [first]
    for index, alternatives in enumerate(parsed):
        for alternative in alternatives[1:]:
            forms.append(first[:index] + [alternative] + first[index + 1:])
    return [list(itertools.chain.from_iterable(f)) for f in forms]


def queue_message(relay) -> str:
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as smtp:
        smtp.sendmail("a@example.org", ["b@example.test"], b"Subject: form\r\n\r\nx\r\n")
    return relay.messages()[-1]["queue_id"]


def concrete(tokens: list[str], relay, options: list[str]) -> tuple[list[str], bytes]:
    """Fills the metavariables; returns the arguments and what goes on stdin."""
    values = {"file": str(relay.config), "socket": str(relay.workdir / "control.sock"), "state": "deferred",
              "domain": "example.test", "sender": "a@example.org", "n": "3", "recipient": "b@example.test",
              "name": "Cron Daemon"}
    stdin = b"To: b@example.test\nSubject: documented form\n\nbody\n"
    out: list[str] = []
    for token in tokens:
        if token == "options":
            out += options
        elif token == "id":
            out.append(queue_message(relay))
        elif token == "-" and out and out[0] != "sendmail":
            out.append("-")
            stdin = (queue_message(relay) + "\n").encode()
        elif token in values:
            out.append(values[token])
        else:
            out.append(token)
    return out, stdin


def run_form(argv: list[str], stdin: bytes, workdir, conf: str) -> subprocess.CompletedProcess:
    program = argv[0]
    if program == "relayctl":
        executable = str(RELAYCTL)
    else:  # sendmail, mailq: relayctl under those names
        link = workdir / program
        if not link.exists():
            os.symlink(RELAYCTL, link)
        executable = str(link)
    # A form without -c uses $RELAYD_CONFIG (SPEC: Programs).
    return subprocess.run([executable, *argv[1:]], input=stdin, capture_output=True, timeout=60,
                          env={**os.environ, "RELAYCTL_QUIET": "1", "RELAYD_CONFIG": conf})


def worker_up(workdir, conf: str) -> bool:
    out = run_form(["relayctl", "status", "--json"], b"", workdir, conf)
    return out.returncode == 0 and json.loads(out.stdout)["worker"]["pid"] is not None


def relayctl_forms() -> list[str]:
    return synopsis("relayctl.8")


def test_the_synopsis_was_read():
    forms = relayctl_forms()
    assert len(forms) >= 14 and forms[0].startswith("relayctl [options] queue"), forms


@pytest.mark.parametrize("form", relayctl_forms())
def test_every_relayctl_form_is_accepted(served, workdir, form):  # noqa: F811
    relay, _ = served
    conf, sock = str(relay.config), str(relay.workdir / "control.sock")
    placements = [["-c", conf], ["--config", conf], ["-c", conf, "-s", sock]]
    tried = 0
    for tokens in expansions(form):
        for options in placements:
            # SPEC.md's place, before the command; and the same options after the command words.
            variants = [concrete(tokens, relay, options)]
            if "options" in tokens:
                moved = [t for t in tokens if t != "options"]
                argv, stdin = concrete(moved, relay, [])
                variants.append((argv + options, stdin))
            for argv, stdin in variants:
                if argv[0] in ("sendmail", "mailq") and "-C" not in argv:
                    argv = argv + ["-C", conf]
                out = run_form(argv, stdin, workdir, conf)
                tried += 1
                err = out.stderr.decode(errors="replace")
                assert out.returncode != 64 and not any(e in err for e in USAGE_ERRORS), (argv, out.returncode, err)
                # `queue delete --all` without --yes asks first and refuses without a terminal.
                asks = "delete" in argv and "--all" in argv and "--yes" not in argv
                assert out.returncode == 0 or asks, (argv, out.returncode, err)
                if "reload" in argv:
                    # The worker restarts in place to apply the file: wait for its socket again.
                    wait_until(lambda: worker_up(workdir, conf), what="the worker back after reload")
    assert tried > 0


def test_every_relayd_form_is_accepted(workdir):
    forms = synopsis("relayd.8")
    assert "relayd check-config [-q] [-c file]" in forms, forms
    conf = workdir / "relayd.conf"
    conf.write_text(f'spool_dir = "{workdir}/spool"\nrun_dir = "{workdir}"\n')
    for form in forms:
        for tokens in expansions(form):
            if tokens[1:2] in (["serve"], ["listener"], ["worker"]):
                continue  # long-running: started in this form by every other test
            argv = [str(conf) if t == "file" else t for t in tokens]
            out = subprocess.run(unprivileged(["env", f"RELAYD_CONFIG={conf}", RELAYD, *argv[1:]]),
                                 capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, (argv, out.returncode, out.stderr)
