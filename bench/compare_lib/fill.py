"""Fill accounts of a server with the same messages, over its LMTP: the POP3 accounts before
they are read, one message to each ingest account so no measured leg pays for creating
mailboxes, and the large IMAP mailboxes (10k, 100k messages) that the IMAP legs read."""

import concurrent.futures
import smtplib
import textwrap

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


# IMAP mailboxes: a mix a real mailbox has, the same on every server. Searched words and how
# often they occur, so the report can say how selective each SEARCH is.
IMAP_TOPICS = ("invoice", "meeting", "report", "lunch", "status", "release", "review", "holiday")
IMAP_SENDERS = 50
IMAP_TEXT_WORD = "needle"
IMAP_TEXT_EVERY = 100  # one message in 100 has IMAP_TEXT_WORD in its body
IMAP_MESSAGE_OCTETS = 4 * 1024
IMAP_FILL_CONNECTIONS = 8
WORDS = (
    "the mail server load test message of and a queue disk log shard core delivery mailbox "
    "account latency throughput reply to is in for with on that this it from by be"
).split()


def imap_message(recipient, number):
    """Message `number` of an IMAP mailbox, about 4 KiB: 75% text/plain, 20% multipart/alternative
    (text and HTML), 5% multipart/mixed with a small base64 attachment; 50 senders, 8 subjects."""
    sender = number % IMAP_SENDERS
    topic = IMAP_TOPICS[number % len(IMAP_TOPICS)]
    body_words = [WORDS[(number * 7 + index * 13) % len(WORDS)] for index in range(560)]
    if number % IMAP_TEXT_EVERY == 0:
        body_words[len(body_words) // 2] = IMAP_TEXT_WORD
    text = "\r\n".join(textwrap.wrap(" ".join(body_words), 76)) + "\r\n"
    headers = (
        f"From: Sender {sender} <sender{sender}@example{sender % 7}.test>\r\n"
        f"To: {recipient}\r\nSubject: fill {number} {topic}\r\n"
        f"Date: Thu, 01 Jan 2026 {number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d} +0000\r\n"
        f"Message-ID: <imap-{number}-{recipient}>\r\nMIME-Version: 1.0\r\n"
    )
    kind = number % 20
    if kind < 15:
        return headers + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text
    boundary = f"=_fill_{number}"
    if kind < 19:
        html = "<html><body><p>" + text.replace("\r\n", " ")[:1500] + "</p></body></html>\r\n"
        parts = [("text/plain; charset=us-ascii", text[:2000]), ("text/html; charset=us-ascii", html)]
        subtype = "alternative"
    else:
        attachment = "\r\n".join(textwrap.wrap(("QUJD" * 400), 76)) + "\r\n"
        parts = [("text/plain; charset=us-ascii", text[:1500]),
                 ("application/octet-stream; name=data.bin\r\nContent-Transfer-Encoding: base64\r\n"
                  "Content-Disposition: attachment; filename=data.bin", attachment)]
        subtype = "mixed"
    body = "".join(f"--{boundary}\r\nContent-Type: {kind_}\r\n\r\n{content}" for kind_, content in parts)
    return (headers + f'Content-Type: multipart/{subtype}; boundary="{boundary}"\r\n\r\n'
            + body + f"--{boundary}--\r\n")


def fill_imap_numbers(port, recipient, numbers):
    with smtplib.LMTP(HOST, port, timeout=CLIENT_TIMEOUT_SECS) as client:
        for number in numbers:
            refused = client.sendmail(f"fill@{DOMAIN}", [recipient], imap_message(recipient, number))
            if refused:
                raise RuntimeError(f"LMTP fill on {port} refused {refused}")


def fill_imap(lmtp_port, recipient, messages):
    """One mailbox of `messages` messages, over several LMTP connections (each a share of the
    numbers: the mailbox holds the same messages everywhere, their order may differ a little)."""
    numbers = list(range(1, messages + 1))
    shares = [numbers[index::IMAP_FILL_CONNECTIONS] for index in range(IMAP_FILL_CONNECTIONS)]
    with concurrent.futures.ThreadPoolExecutor(IMAP_FILL_CONNECTIONS) as pool:
        jobs = [pool.submit(fill_imap_numbers, lmtp_port, recipient, share) for share in shares if share]
        for job in jobs:
            job.result()
    return messages
