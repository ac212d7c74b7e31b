"""SMTP (port 25 role), submission (587, STARTTLS) and submissions (465, implicit TLS) against the
real server with Python's smtplib, raw sockets and Debian's swaks (RFC 5321, 3207, 4954, 1870,
2920, 3030, 6531, 6409, 8314).

Every delivered message is read back over POP3 and compared byte for byte: what the client sent
(dot-unstuffed) after the Return-Path and Received fields the server prepends. Connections land
on either shard and the two accounts usually live on different ones, so delivery goes both to
the local log and over the mesh.
"""

import base64
import poplib
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import DOMAIN, USERS, Server

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@remote.example"
MESSAGE = (
    b"From: Sender <sender@remote.example>\r\n"
    b"To: Alice <alice@example.test>\r\n"
    b"Subject: hello\r\n"
    b"Date: Tue, 24 Nov 2026 10:11:12 +0000\r\n"
    b"Message-ID: <hello-1@remote.example>\r\n"
    b"\r\n"
    b"A first line.\r\n"
    b".a line that starts with a dot\r\n"
    b"..two dots\r\n"
    b"\r\n"
    b"The end.\r\n"
)
SIZE_MAX_OCTETS = 50 * 1024 * 1024
TIMEOUT_SECS = 20


# ---- helpers shared with test_lmtp.py ----


def fetch_messages(server, user):
    """Every message in `user`'s INBOX, as stored (CRLF lines), over POP3."""
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=TIMEOUT_SECS)
    client.user(user)
    client.pass_(USERS[user])
    count, _ = client.stat()
    messages = []
    for number in range(1, count + 1):
        _, lines, _ = client.retr(number)
        messages.append(b"\r\n".join(lines) + b"\r\n")
    client.quit()
    return messages


def split_trace(message):
    """(Return-Path line, Received field, the rest): RFC 5321 §4.4 trace fields come first."""
    lines = message.split(b"\r\n")
    assert lines[0].startswith(b"Return-Path: <"), message[:200]
    assert lines[1].startswith(b"Received: from "), message[:200]
    end = 2
    while lines[end].startswith((b"\t", b" ")):
        end += 1
    received = b"\r\n".join(lines[1:end])
    return lines[0], received, b"\r\n".join(lines[end:])


def assert_delivered(server, user, content, reverse_path=SENDER, count=1):
    """`user` holds exactly `count` messages, the last of which is `content` after the trace."""
    messages = fetch_messages(server, user)
    assert len(messages) == count, messages
    return_path, received, rest = split_trace(messages[-1])
    assert return_path == f"Return-Path: <{reverse_path}>".encode()
    assert rest == content
    assert b"by " in received and b"(Postern)" in received
    return received


class Raw:
    """A line-level client for what smtplib can't do (BDAT, pipelining, hostile input)."""

    def __init__(self, server, protocol="smtp"):
        self.socket = socket.create_connection(
            ("127.0.0.1", server.port(protocol)), timeout=TIMEOUT_SECS
        )
        self.reader = self.socket.makefile("rb")
        greeting = self.reply()
        assert greeting[0].startswith(b"220 "), greeting

    def send(self, data):
        self.socket.sendall(data)

    def reply(self):
        """One reply, all its lines."""
        lines = []
        while True:
            line = self.reader.readline()
            assert line, f"connection closed after {lines}"
            lines.append(line)
            if line[3:4] != b"-":
                return lines

    def code(self):
        return self.reply()[-1][:9]

    def close(self):
        self.reader.close()
        self.socket.close()


def swaks(*args):
    """Runs Debian's swaks; missing swaks is a failure (tests/run installs it)."""
    binary = shutil.which("swaks")
    assert binary, "swaks is not installed: run tests/run, or apt-get install swaks"
    result = subprocess.run(
        [binary, "--server", "127.0.0.1", "--timeout", str(TIMEOUT_SECS), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result


# ---- SMTP (the MX role) ----


def test_ehlo_advertises_the_extensions(server):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        code, _ = client.ehlo("client.example")
        assert code == 250
        for name in (
            "pipelining",
            "8bitmime",
            "smtputf8",
            "chunking",
            "binarymime",
            "enhancedstatuscodes",
            "dsn",
            "starttls",
        ):
            assert client.has_extn(name), name
        assert client.esmtp_features["size"] == str(SIZE_MAX_OCTETS)
        # No AUTH on the MX role.
        assert not client.has_extn("auth")
        assert client.noop()[0] == 250


def test_mail_is_delivered_and_read_back_byte_for_byte(server):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        refused = client.sendmail(SENDER, [ALICE], MESSAGE)
        assert refused == {}
    received = assert_delivered(server, ALICE, MESSAGE)
    assert received.startswith(b"Received: from client.example ([127.0.0.1])")
    assert b"with ESMTP id " in received
    assert f"for <{ALICE}>".encode() in received
    # Nothing went to bob.
    assert fetch_messages(server, BOB) == []


def test_null_sender_and_8bit_body(server):
    body = "From: s@remote.example\r\nSubject: café\r\n\r\nGrüße, naïve ☃\r\n".encode()
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        client.sendmail("", [BOB], body, mail_options=["BODY=8BITMIME"])
    assert_delivered(server, BOB, body, reverse_path="")


def test_recipients_on_both_shards_each_get_one_copy(server):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        # alice twice: one copy per account.
        assert client.sendmail(SENDER, [ALICE, BOB, ALICE.upper()], MESSAGE) == {}
    for user in (ALICE, BOB):
        received = assert_delivered(server, user, MESSAGE)
        # RFC 5321 §4.4: with several recipients, none is named.
        assert b"for <" not in received


def test_alias_expands_and_each_account_is_stored_once(server):
    server.cli("alias", "add", f"team@{DOMAIN}", ALICE, BOB)
    # The shards pick the new directory up within a second or so.
    deadline = time.monotonic() + 10
    while True:
        with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
            client.ehlo("client.example")
            client.mail(SENDER)
            code, _ = client.rcpt(f"team@{DOMAIN}")
            if code == 250 or time.monotonic() > deadline:
                assert code == 250
                assert client.rcpt(ALICE)[0] == 250
                assert client.data(MESSAGE)[0] == 250
                break
        time.sleep(0.2)
    assert_delivered(server, ALICE, MESSAGE)
    assert_delivered(server, BOB, MESSAGE)


def test_unknown_user_is_550_5_1_1(server):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        client.mail(SENDER)
        code, text = client.rcpt(f"nobody@{DOMAIN}")
        assert (code, text[:5]) == (550, b"5.1.1"), text
        # The transaction goes on with the good recipient.
        assert client.rcpt(ALICE)[0] == 250
        assert client.data(MESSAGE)[0] == 250
    assert_delivered(server, ALICE, MESSAGE)


def test_relay_is_denied_550_5_7_1(server):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        client.mail(SENDER)
        code, text = client.rcpt("someone@elsewhere.example")
        assert (code, text) == (550, b"5.7.1 Relay access denied")
        client.rset()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(SENDER, ["someone@elsewhere.example"], MESSAGE)


def test_declared_size_over_the_limit_is_refused_at_mail(server):
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        code, text = client.mail(SENDER, options=[f"SIZE={SIZE_MAX_OCTETS + 1}"])
        assert (code, text[:5]) == (552, b"5.3.4"), text
        code, _ = client.mail(SENDER, options=[f"SIZE={SIZE_MAX_OCTETS}"])
        assert code == 250


def test_message_over_the_limit_is_refused_while_streaming(server):
    chunk = b"x" * 998 + b"\r\n"
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n")
    raw.reply()
    raw.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n".encode())
    assert raw.code() == b"250 2.1.0"
    assert raw.code() == b"250 2.1.5"
    assert raw.code().startswith(b"354")
    block = chunk * 1024
    for _ in range(SIZE_MAX_OCTETS // len(block) + 2):
        raw.send(block)
    raw.send(b".\r\n")
    assert raw.code() == b"552 5.3.4"
    raw.send(b"QUIT\r\n")
    assert raw.code() == b"221 2.0.0"
    raw.close()
    assert fetch_messages(server, ALICE) == []


def test_starttls_then_mail(server):
    with smtplib.SMTP("localhost", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        client.starttls(context=server.tls_context())
        client.ehlo("client.example")
        assert not client.has_extn("starttls")
        assert client.sendmail(SENDER, [BOB], MESSAGE) == {}
    received = assert_delivered(server, BOB, MESSAGE)
    assert b"with ESMTPS id " in received


def test_smtputf8_addresses(server):
    sender = "jörg@bücher.example"
    body = "From: Jörg <jörg@bücher.example>\r\nSubject: 日本\r\n\r\nUTF-8 everywhere\r\n".encode()
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("client.example")
        assert client.has_extn("smtputf8")
        refused = client.sendmail(sender, [ALICE], body, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        assert refused == {}
    received = assert_delivered(server, ALICE, body, reverse_path=sender)
    assert b"with UTF8SMTP id " in received


def test_non_ascii_sender_needs_smtputf8(server):
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n")
    raw.reply()
    raw.send("MAIL FROM:<jörg@bücher.example>\r\n".encode())
    assert raw.code() == b"550 5.6.7"
    raw.close()


def test_bdat_chunks(server):
    first = b"From: s@remote.example\r\nSubject: chunks\r\n\r\n"
    second = b"binary-ish \x00\x01\r\n.a line that starts with a dot\r\n.\r\n"
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n")
    assert b"CHUNKING" in b"".join(raw.reply())
    raw.send(f"MAIL FROM:<{SENDER}> BODY=BINARYMIME\r\nRCPT TO:<{ALICE}>\r\n".encode())
    assert raw.code() == b"250 2.1.0"
    assert raw.code() == b"250 2.1.5"
    raw.send(f"BDAT {len(first)}\r\n".encode() + first)
    assert raw.code() == b"250 2.0.0"
    raw.send(f"BDAT {len(second)} LAST\r\n".encode() + second)
    assert raw.code() == b"250 2.0.0"
    # BDAT 0 LAST with no transaction is out of sequence.
    raw.send(b"BDAT 0 LAST\r\n")
    assert raw.code()[:1] == b"5"
    raw.send(b"QUIT\r\n")
    assert raw.code() == b"221 2.0.0"
    raw.close()
    # BDAT octets are not dot-unstuffed: stored exactly as sent.
    assert_delivered(server, ALICE, first + second)


def test_pipelined_transaction(server):
    raw = Raw(server)
    raw.send(
        b"EHLO client.example\r\n"
        + f"MAIL FROM:<{SENDER}>\r\n".encode()
        + f"RCPT TO:<{ALICE}>\r\n".encode()
        + f"RCPT TO:<nobody@{DOMAIN}>\r\n".encode()
        + f"RCPT TO:<{BOB}>\r\n".encode()
        + b"DATA\r\n"
    )
    assert raw.reply()[-1].startswith(b"250 ")
    assert raw.code() == b"250 2.1.0"
    assert raw.code() == b"250 2.1.5"
    assert raw.code() == b"550 5.1.1"
    assert raw.code() == b"250 2.1.5"
    assert raw.code().startswith(b"354")
    raw.send(MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\nRSET\r\nNOOP\r\nQUIT\r\n")
    assert raw.code() == b"250 2.0.0"
    assert raw.code() == b"250 2.0.0"
    assert raw.code() == b"250 2.0.0"
    assert raw.code() == b"221 2.0.0"
    raw.close()
    assert_delivered(server, ALICE, MESSAGE)
    assert_delivered(server, BOB, MESSAGE)


def test_many_pipelined_commands(server):
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n" + b"NOOP\r\n" * 10_000 + b"QUIT\r\n")
    raw.reply()
    for _ in range(10_000):
        assert raw.code() == b"250 2.0.0"
    assert raw.code() == b"221 2.0.0"
    raw.close()


@pytest.mark.parametrize(
    "smuggled",
    [b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\n", b"\r\n.\r"],
    ids=["lf-dot-lf", "lf-dot-crlf", "cr-dot-cr", "crlf-dot-lf", "crlf-dot-cr"],
)
def test_smuggling_does_not_end_the_data(server, smuggled):
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n")
    raw.reply()
    raw.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n".encode())
    assert raw.code() == b"250 2.1.0"
    assert raw.code() == b"250 2.1.5"
    assert raw.code().startswith(b"354")
    raw.send(
        b"Subject: smuggle\r\n\r\nbody"
        + smuggled
        + f"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<{BOB}>\r\nDATA\r\n".encode()
        + b"smuggled\r\n.\r\n"
    )
    # One reply for the whole thing: the bare line ending refuses the message.
    assert raw.code() == b"554 5.6.0"
    raw.send(b"NOOP\r\n")
    assert raw.code() == b"250 2.0.0"
    raw.close()
    assert fetch_messages(server, ALICE) == []
    assert fetch_messages(server, BOB) == []


def test_starttls_discards_pipelined_plaintext(server):
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n")
    raw.reply()
    raw.send(f"STARTTLS\r\nMAIL FROM:<{SENDER}>\r\n".encode())
    assert raw.code() == b"220 2.0.0"
    tls = server.tls_context().wrap_socket(raw.socket, server_hostname="localhost")
    reader = tls.makefile("rb")
    # The injected MAIL was dropped: a MAIL now needs EHLO first (the session was reset).
    tls.sendall(f"MAIL FROM:<{SENDER}>\r\n".encode())
    assert reader.readline()[:9] == b"503 5.5.1"
    tls.sendall(b"EHLO client.example\r\n")
    line = reader.readline()
    while line[3:4] == b"-":
        line = reader.readline()
    tls.sendall(b"QUIT\r\n")
    assert reader.readline()[:9] == b"221 2.0.0"
    tls.close()


def test_hostile_command_lines(server):
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n")
    raw.reply()
    raw.send(b"NOOP " + b"x" * (1024 * 1024) + b"\r\n")
    assert raw.code() == b"500 5.5.2"
    raw.send(b"NO\x00OP\r\n")
    assert raw.code() == b"500 5.5.2"
    raw.send(b"NOOP \xff\xfe\r\n")
    assert raw.code() == b"500 5.5.2"
    raw.send(b"NOOP\n")
    assert raw.code() == b"500 5.5.2"
    raw.send(b"NOOP\r\n")
    assert raw.code() == b"250 2.0.0"
    raw.close()
    # Other connections were never affected.
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        assert client.noop()[0] == 250


def test_errors_slow_the_client_down_then_close(server):
    raw = Raw(server)
    started = time.monotonic()
    raw.send(b"BOGUS\r\n" * 10)
    for _ in range(10):
        assert raw.code()[:3] == b"500"
    # The tenth error closes the connection; its replies waited 3.5 s (7 errors past 3).
    assert raw.code() == b"421 4.7.0"
    assert raw.reader.readline() == b""
    assert time.monotonic() - started >= 3.4
    raw.close()


def test_shutdown_answers_421_between_commands(server):
    raw = Raw(server)
    raw.send(b"EHLO client.example\r\n")
    raw.reply()
    assert server.stop() == 0
    assert raw.code() == b"421 4.3.2"
    assert raw.reader.readline() == b""
    raw.close()


# ---- submission ----


def test_submission_requires_auth_and_adds_date_and_message_id(server):
    content = b"From: alice@example.test\r\nTo: bob@example.test\r\nSubject: no date\r\n\r\nhi\r\n"
    with smtplib.SMTP("localhost", server.port("submission"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("laptop.example")
        assert client.has_extn("starttls")
        code, text = client.mail(ALICE)
        assert (code, text[:5]) == (530, b"5.7.0"), text
        client.starttls(context=server.tls_context())
        client.ehlo("laptop.example")
        assert "PLAIN" in client.esmtp_features["auth"]
        client.login(ALICE, USERS[ALICE])
        assert client.sendmail(ALICE, [BOB], content) == {}
    messages = fetch_messages(server, BOB)
    assert len(messages) == 1
    _, received, rest = split_trace(messages[0])
    assert b"with ESMTPSA id " in received
    # RFC 6409 §8: the missing fields come first, then the client's header unchanged.
    date, message_id, original = rest.split(b"\r\n", 2)
    assert date.startswith(b"Date: ") and date.endswith(b" +0000"), date
    assert message_id.startswith(b"Message-ID: <") and message_id.endswith(b">"), message_id
    assert original == content


def test_submission_keeps_existing_date_and_message_id(server):
    with smtplib.SMTP("localhost", server.port("submission"), timeout=TIMEOUT_SECS) as client:
        client.starttls(context=server.tls_context())
        client.login(BOB, USERS[BOB])
        assert client.sendmail(BOB, [ALICE], MESSAGE) == {}
    assert_delivered(server, ALICE, MESSAGE, reverse_path=BOB)


def test_submissions_implicit_tls_with_auth_login(server):
    with smtplib.SMTP_SSL(
        "localhost", server.port("submissions"), context=server.tls_context(), timeout=TIMEOUT_SECS
    ) as client:
        client.ehlo("laptop.example")
        assert not client.has_extn("starttls")
        client.user, client.password = BOB, USERS[BOB]
        code, text = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        assert (code, text[:5]) == (235, b"2.7.0")
        assert client.sendmail(BOB, [ALICE], MESSAGE) == {}
    assert_delivered(server, ALICE, MESSAGE, reverse_path=BOB)


def test_authenticated_relay_says_it_is_not_enabled(server):
    with smtplib.SMTP_SSL(
        "localhost", server.port("submissions"), context=server.tls_context(), timeout=TIMEOUT_SECS
    ) as client:
        client.login(ALICE, USERS[ALICE])
        client.mail(ALICE)
        code, text = client.rcpt("friend@elsewhere.example")
        assert (code, text) == (550, b"5.7.1 Outbound relay is not enabled on this server")


def test_wrong_password_is_535(server):
    with smtplib.SMTP_SSL(
        "localhost", server.port("submissions"), context=server.tls_context(), timeout=TIMEOUT_SECS
    ) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login(ALICE, "wrong")
        assert refused.value.smtp_code == 535
        assert refused.value.smtp_error.startswith(b"5.7.8")
        # The connection stays usable.
        client.login(ALICE, USERS[ALICE])


def test_auth_plain_on_loopback_without_tls_by_default(server):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("laptop.example")
        assert "PLAIN" in client.esmtp_features["auth"]
        client.login(ALICE, USERS[ALICE])
        assert client.sendmail(ALICE, [ALICE], MESSAGE) == {}
    assert_delivered(server, ALICE, MESSAGE, reverse_path=ALICE)


def test_scram_is_offered(server):
    with smtplib.SMTP("127.0.0.1", server.port("submission"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("laptop.example")
        assert "SCRAM-SHA-256" in client.esmtp_features["auth"]


@pytest.fixture
def strict_server(tmp_path):
    instance = Server(tmp_path, extra_config="[auth]\nplaintext_on_loopback = false\n")
    instance.cli("domain", "add", DOMAIN)
    for address, password in USERS.items():
        instance.add_user(address, password)
    instance.start()
    yield instance
    assert instance.stop() in (0, None)


def test_plaintext_auth_needs_tls_when_loopback_is_not_trusted(strict_server):
    with smtplib.SMTP("localhost", strict_server.port("submission"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("laptop.example")
        # Only mechanisms that don't reveal the password are offered in plaintext.
        offered = client.esmtp_features.get("auth", "").split()
        assert "PLAIN" not in offered and "LOGIN" not in offered
        token = base64.b64encode(f"\0{ALICE}\0{USERS[ALICE]}".encode()).decode()
        code, text = client.docmd("AUTH", f"PLAIN {token}")
        assert (code, text[:6]) == (538, b"5.7.11"), text
        client.starttls(context=strict_server.tls_context())
        client.ehlo("laptop.example")
        assert "PLAIN" in client.esmtp_features["auth"]
        client.login(ALICE, USERS[ALICE])


# ---- swaks ----


def test_swaks_plain_mx(server):
    result = swaks("--port", str(server.port("smtp")), "--to", ALICE, "--from", SENDER)
    assert result.returncode == 0, result.stdout + result.stderr
    messages = fetch_messages(server, ALICE)
    assert len(messages) == 1
    assert b"This is a test mailing" in messages[0]


def test_swaks_starttls_auth_and_pipelining(server):
    result = swaks(
        "--port",
        str(server.port("submission")),
        "--to",
        BOB,
        "--from",
        ALICE,
        "--tls",
        "--tls-verify",
        "--tls-ca-path",
        str(server.data_dir / "tls" / "self-signed.crt"),
        "--tls-sni",
        "localhost",
        "--auth",
        "PLAIN",
        "--auth-user",
        ALICE,
        "--auth-password",
        USERS[ALICE],
        "--pipeline",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "250 2.0.0" in result.stdout
    messages = fetch_messages(server, BOB)
    assert len(messages) == 1
    _, received, _ = split_trace(messages[0])
    assert b"with ESMTPSA id " in received


def test_swaks_implicit_tls_auth_login(server):
    result = swaks(
        "--port",
        str(server.port("submissions")),
        "--to",
        ALICE,
        "--from",
        BOB,
        "--tls-on-connect",
        "--auth",
        "LOGIN",
        "--auth-user",
        BOB,
        "--auth-password",
        USERS[BOB],
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(fetch_messages(server, ALICE)) == 1


def test_swaks_large_message_read_back_exactly(server, tmp_path):
    # 5 MiB of lines, some that need dot-stuffing.
    line = b".dotted " + b"0123456789abcdef" * 4 + b"\r\n"
    lines = (5 * 1024 * 1024) // len(line) + 1
    content = b"From: big@remote.example\r\nSubject: big\r\n\r\n" + line * lines
    path = tmp_path / "big.eml"
    # swaks adds CRLF "." itself: the file ends without the last CRLF.
    path.write_bytes(content[:-2])
    result = swaks(
        "--port",
        str(server.port("smtp")),
        "--to",
        f"{ALICE},{BOB}",
        "--from",
        SENDER,
        "--data",
        f"@{path}",
        "--pipeline",
        "--suppress-data",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for user in (ALICE, BOB):
        assert_delivered(server, user, content)


def test_dsn_parameters_are_stored_with_each_copy(server):
    """RFC 3461: RET and ENVID of MAIL, NOTIFY and ORCPT of each RCPT are kept with the
    message (for the DSNs the outbound work will send): they are in the log once the 250 is
    given, with the copy of each account, in the parameters' own syntax."""
    bob = f"bob@{DOMAIN}"
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=10) as client:
        client.ehlo("mta.example")
        assert client.has_extn("dsn")
        refused = client.sendmail(
            SENDER,
            [ALICE, bob],
            b"Subject: dsn\r\n\r\nbody\r\n",
            mail_options=["RET=HDRS", "ENVID=QQ314159"],
            rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Alice+40example.test"],
        )
        assert refused == {}
    logs = b"".join(path.read_bytes() for path in server.data_dir.glob("shard-*/seg-*.log"))
    for recipient in (ALICE, bob):
        envelope = (
            f"MAIL FROM:<{SENDER}> RET=HDRS ENVID=QQ314159\r\n"
            f"RCPT TO:<{recipient}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice+40example.test\r\n"
        ).encode()
        assert envelope in logs, recipient
