"""What an admin reads in the log (issue 12): one line per refusal, with Postfix's
`NOQUEUE: reject:` facts: stage, client, helo, from, to and the reply."""
import re


def reject_lines(relay) -> list[str]:
    return [line for line in relay.log_text().splitlines() if "event=reject " in line]


def test_every_refusal_has_one_log_line_with_postfixs_facts(relay_factory, raw):
    relay = relay_factory('[relay]\nallow_networks = ["192.0.2.0/24"]\naccept_domains = ["relay.test"]\n'
                          '[limits]\nmax_message_size = "1KB"\n')
    c = raw(relay.port)
    c.cmd("EHLO client.example")
    assert c.cmd("MAIL FROM:<a@example.org> SIZE=5000")[0] == 552
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    code, lines = c.cmd("RCPT TO:<x@elsewhere.example>")
    assert code == 554
    assert c.cmd("RCPT TO:<user@relay.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + b"y" * 70 * 30 + b"\r\n.\r\n")
    assert c.reply()[0] == 552
    logged = reject_lines(relay)
    assert len(logged) == 3, logged
    mail, rcpt, message = logged
    assert "stage=MAIL" in mail and "from=<a@example.org>" in mail and 'reply="552 5.3.4' in mail
    assert "stage=RCPT" in rcpt and "client=unknown[127.0.0.1]" in rcpt and "helo=client.example" in rcpt
    assert "from=<a@example.org>" in rcpt and "to=<x@elsewhere.example>" in rcpt
    assert re.search(r'reply="554 5\.7\.1 [^"]*[Rr]elay access denied', rcpt), rcpt
    assert "stage=END-OF-MESSAGE" in message and 'reply="552 5.3.4' in message
    # Accepted commands leave no reject line.
    assert c.cmd("NOOP")[0] == 250
    assert len(reject_lines(relay)) == 3
