"""LMTP (RFC 2033) against the real server with Python's smtplib.LMTP, raw sockets and swaks:
LHLO, one reply per accepted recipient after the data, each reflecting that recipient's own
delivery. Delivered messages are read back over POP3 byte for byte.
"""

import smtplib

from conftest import DOMAIN
from test_smtp import ALICE, BOB, MESSAGE, SENDER, TIMEOUT_SECS, Raw, assert_delivered
from test_smtp import fetch_messages, split_trace, swaks


def lhlo(raw):
    raw.send(b"LHLO mta.example\r\n")
    return b"".join(raw.reply())


def test_smtplib_lmtp_one_good_one_unknown(server):
    with smtplib.LMTP("127.0.0.1", server.port("lmtp"), timeout=TIMEOUT_SECS) as client:
        code, _ = client.ehlo("mta.example")
        assert code == 250
        assert client.has_extn("pipelining") and client.has_extn("chunking")
        # A trusted-tier protocol: no STARTTLS on a plaintext LMTP listener, no AUTH.
        assert not client.has_extn("starttls") and not client.has_extn("auth")
        refused = client.sendmail(SENDER, [ALICE, f"nobody@{DOMAIN}"], MESSAGE)
        assert list(refused) == [f"nobody@{DOMAIN}"]
        code, text = refused[f"nobody@{DOMAIN}"]
        assert (code, text[:5]) == (550, b"5.1.1")
    received = assert_delivered(server, ALICE, MESSAGE)
    assert b"with LMTP id " in received


def test_one_reply_per_recipient_after_data(server):
    raw = Raw(server, "lmtp")
    assert b"250 " in lhlo(raw)
    raw.send(
        f"MAIL FROM:<{SENDER}>\r\n"
        f"RCPT TO:<{ALICE}>\r\n"
        f"RCPT TO:<{BOB}>\r\n"
        f"RCPT TO:<nobody@{DOMAIN}>\r\n"
        f"RCPT TO:<{ALICE}>\r\n"
        "DATA\r\n".encode()
    )
    assert raw.code() == b"250 2.1.0"
    assert raw.code() == b"250 2.1.5"
    assert raw.code() == b"250 2.1.5"
    assert raw.code() == b"550 5.1.1"
    assert raw.code() == b"250 2.1.5"
    assert raw.code().startswith(b"354")
    raw.send(MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    # RFC 2033 §4.2: one reply per accepted RCPT, in order; alice named twice is stored once
    # and both replies report that copy.
    replies = [raw.reply()[-1] for _ in range(3)]
    assert replies == [
        f"250 2.0.0 <{ALICE}> Message accepted for delivery\r\n".encode(),
        f"250 2.0.0 <{BOB}> Message accepted for delivery\r\n".encode(),
        f"250 2.0.0 <{ALICE}> Message accepted for delivery\r\n".encode(),
    ]
    raw.send(b"QUIT\r\n")
    assert raw.code() == b"221 2.0.0"
    raw.close()
    assert_delivered(server, ALICE, MESSAGE)
    assert_delivered(server, BOB, MESSAGE)


def test_bdat_gets_one_reply_per_recipient(server):
    content = b"Subject: chunked\r\n\r\nfirst part, " + b"second part\r\n"
    raw = Raw(server, "lmtp")
    lhlo(raw)
    raw.send(f"MAIL FROM:<>\r\nRCPT TO:<{ALICE}>\r\nRCPT TO:<{BOB}>\r\n".encode())
    assert [raw.code() for _ in range(3)] == [b"250 2.1.0", b"250 2.1.5", b"250 2.1.5"]
    raw.send(b"BDAT 32\r\n" + content[:32])
    assert raw.code() == b"250 2.0.0"
    rest = content[32:]
    raw.send(f"BDAT {len(rest)} LAST\r\n".encode() + rest)
    assert raw.reply()[-1].startswith(f"250 2.0.0 <{ALICE}>".encode())
    assert raw.reply()[-1].startswith(f"250 2.0.0 <{BOB}>".encode())
    raw.close()
    for user in (ALICE, BOB):
        assert_delivered(server, user, content, reverse_path="")


def test_refused_message_is_answered_per_recipient(server):
    raw = Raw(server, "lmtp")
    lhlo(raw)
    raw.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n".encode())
    for _ in range(4):
        raw.reply()
    # A bare LF: smuggling defence refuses the message, once per recipient.
    raw.send(b"Subject: x\r\n\r\nbad\n.\nline\r\n.\r\n")
    assert [raw.code() for _ in range(2)] == [b"554 5.6.0", b"554 5.6.0"]
    raw.send(b"NOOP\r\n")
    assert raw.code() == b"250 2.0.0"
    raw.close()
    assert fetch_messages(server, ALICE) == []
    assert fetch_messages(server, BOB) == []


def test_mail_before_lhlo_is_refused(server):
    raw = Raw(server, "lmtp")
    raw.send(f"MAIL FROM:<{SENDER}>\r\n".encode())
    assert raw.code() == b"503 5.5.1"
    raw.close()


def test_swaks_lmtp(server):
    result = swaks(
        "--port",
        str(server.port("lmtp")),
        "--protocol",
        "LMTP",
        "--to",
        f"{ALICE},{BOB}",
        "--from",
        SENDER,
        "--pipeline",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("250 2.0.0 <") == 2, result.stdout
    for user in (ALICE, BOB):
        messages = fetch_messages(server, user)
        assert len(messages) == 1
        _, received, rest = split_trace(messages[0])
        assert b"with LMTP id " in received
        assert b"This is a test mailing" in rest
