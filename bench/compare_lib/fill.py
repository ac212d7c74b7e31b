"""Fill accounts of a server with the same messages, over its LMTP: the POP3 accounts before
they are read, and one message to each ingest account so no measured leg pays for creating
mailboxes."""

import concurrent.futures
import smtplib

from .accounts import DOMAIN

HOST = "127.0.0.1"
FILL_CONNECTIONS = 4
CLIENT_TIMEOUT_SECS = 60
SIZE_OCTETS = {"4k": 4 * 1024, "64k": 64 * 1024, "1m": 1024 * 1024}
LINE_OCTETS = 78  # 76 characters and CRLF


def message(size, recipient, number):
    """A deterministic message of exactly the size's octets: headers, then 76-character lines."""
    headers = (
        f"From: fill@{DOMAIN}\r\nTo: {recipient}\r\nSubject: fill {number}\r\n"
        f"Message-ID: <fill-{size}-{number}-{recipient}>\r\n\r\n"
    )
    remaining = SIZE_OCTETS[size] - len(headers)
    line = ("x" * (LINE_OCTETS - 2) + "\r\n")
    body = line * (remaining // LINE_OCTETS)
    tail = remaining - len(body)
    if tail >= 2:
        body += "y" * (tail - 2) + "\r\n"
    return headers + body


def fill_recipients(port, size, recipients, messages_per_user):
    with smtplib.LMTP(HOST, port, timeout=CLIENT_TIMEOUT_SECS) as client:
        for recipient in recipients:
            for number in range(1, messages_per_user + 1):
                refused = client.sendmail(f"fill@{DOMAIN}", [recipient], message(size, recipient, number))
                if refused:
                    raise RuntimeError(f"LMTP fill on {port} refused {refused}")


def fill(lmtp_port, recipients, size, messages_per_user):
    shares = [recipients[index::FILL_CONNECTIONS] for index in range(FILL_CONNECTIONS)]
    with concurrent.futures.ThreadPoolExecutor(FILL_CONNECTIONS) as pool:
        jobs = [pool.submit(fill_recipients, lmtp_port, size, share, messages_per_user) for share in shares if share]
        for job in jobs:
            job.result()
    return len(recipients) * messages_per_user
