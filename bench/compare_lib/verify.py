"""Before measuring, prove each server works: deliver one message, read it back over POP3 (and
over IMAP where the IMAP legs run).

Python's own smtplib, poplib and imaplib are the clients; each check uses STARTTLS/STLS with the
shared certificate, so TLS is verified too.
"""

import functools
import imaplib
import poplib
import smtplib
import ssl
import uuid

from .accounts import PROBE_ADDRESS

HOST = "127.0.0.1"
CLIENT_TIMEOUT_SECS = 30
POSTFIX_DELIVERY_WAIT_SECS = 30
MESSAGES_SCANNED_MAX = 5


class VerificationFailed(RuntimeError):
    pass


def tls_context(certificate):
    return ssl.create_default_context(cafile=str(certificate))


def probe_message(token):
    return (
        f"From: bench@{PROBE_ADDRESS.split('@')[1]}\r\nTo: {PROBE_ADDRESS}\r\n"
        f"Subject: bench/compare probe {token}\r\n\r\nprobe {token}\r\n"
    )


def deliver_lmtp(port, token):
    with smtplib.LMTP(HOST, port, timeout=CLIENT_TIMEOUT_SECS) as client:
        refused = client.sendmail("bench@bench.test", [PROBE_ADDRESS], probe_message(token))
    if refused:
        raise VerificationFailed(f"LMTP on {port} refused {refused}")


def deliver_smtp(port, token, context):
    with smtplib.SMTP(HOST, port, timeout=CLIENT_TIMEOUT_SECS) as client:
        client.starttls(context=context)
        refused = client.sendmail("bench@bench.test", [PROBE_ADDRESS], probe_message(token))
    if refused:
        raise VerificationFailed(f"SMTP on {port} refused {refused}")


def pop3_has(port, token, password, context):
    """Whether one of the newest messages of the probe mailbox carries the token."""
    client = poplib.POP3(HOST, port, timeout=CLIENT_TIMEOUT_SECS)
    try:
        client.stls(context=context)
        client.user(PROBE_ADDRESS)
        client.pass_(password)
        count, _ = client.stat()
        for number in range(count, max(0, count - MESSAGES_SCANNED_MAX), -1):
            if token.encode() in b"\n".join(client.retr(number)[1]):
                return True
        return False
    finally:
        client.quit()


def imap_has(port, token, password, context):
    """Whether one of the newest messages of the probe's INBOX carries the token (over IMAP)."""
    client = imaplib.IMAP4(HOST, port, timeout=CLIENT_TIMEOUT_SECS)
    try:
        client.starttls(ssl_context=context)
        client.login(PROBE_ADDRESS, password)
        status, data = client.select("INBOX", readonly=True)
        if status != "OK":
            raise VerificationFailed(f"IMAP SELECT on {port}: {data}")
        count = int(data[0])
        for number in range(count, max(0, count - MESSAGES_SCANNED_MAX), -1):
            status, data = client.fetch(str(number), "(BODY.PEEK[])")
            if status == "OK" and any(token.encode() in part[1] for part in data if isinstance(part, tuple)):
                return True
        return False
    finally:
        client.logout()


def verify_imap(server, password, context):
    """An LMTP delivery read back over IMAP with STARTTLS."""
    read_back = functools.partial(imap_has, server.ports["imap"], password=password, context=context)
    check_delivery(f"{server.label} LMTP → IMAP", functools.partial(deliver_lmtp, server.ports["lmtp"]), read_back)


def check_delivery(what, deliver, read_back):
    token = uuid.uuid4().hex
    deliver(token)
    if not read_back(token):
        raise VerificationFailed(f"{what}: the message delivered was not found")


def verify_postern(postern, password, context):
    read_back = functools.partial(pop3_has, postern.ports["pop3"], password=password, context=context)
    check_delivery("Postern LMTP", functools.partial(deliver_lmtp, postern.ports["lmtp"]), read_back)
    check_delivery("Postern SMTP", functools.partial(deliver_smtp, postern.ports["smtp"], context=context), read_back)


def verify_dovecot(dovecot, password, context):
    read_back = functools.partial(pop3_has, dovecot.ports["pop3"], password=password, context=context)
    check_delivery(f"{dovecot.label} LMTP", functools.partial(deliver_lmtp, dovecot.ports["lmtp"]), read_back)


def verify_postfix(postfix, dovecot, password, context):
    def read_back(token):
        if postfix.wait_for_empty_queue(POSTFIX_DELIVERY_WAIT_SECS) is None:
            raise VerificationFailed("Postfix did not hand the message to Dovecot LMTP")
        return pop3_has(dovecot.ports["pop3"], token, password, context)

    deliver = functools.partial(deliver_smtp, postfix.ports["smtp"], context=context)
    check_delivery("Postfix SMTP → Dovecot", deliver, read_back)
