"""Hostile SMTP clients against the real server (issue 4, "Hostile input"): a client that never
reads, slowloris, data before 354, 10k recipients, BDAT with huge and zero sizes mixed with DATA,
connection churn and the per-IP limit, garbage instead of a TLS handshake.

Each case checks the exact replies, then that the server is still healthy: another client on its
own connection delivers a message with smtplib, it is read back over POP3, and the server stops
with exit code 0. What test_smtp.py already covers (1 MiB command line, NUL bytes, invalid UTF-8,
10k pipelined NOOPs, smuggling, STARTTLS injection) is not repeated here.
"""

import os
import poplib
import smtplib
import socket
import threading
import time
import uuid

import pytest

from conftest import DOMAIN, USERS, Server
from test_smtp import ALICE, BOB, SENDER, TIMEOUT_SECS, Raw, fetch_messages, split_trace

# A well-behaved client next to a hostile one is served within this (loaded CI machines).
PROMPT_SECS = 5


# ---- helpers ----


def start_server(tmp_path, shards=2, extra_config=""):
    instance = Server(tmp_path, shards=shards, extra_config=extra_config)
    instance.cli("domain", "add", DOMAIN)
    for address, password in USERS.items():
        instance.add_user(address, password)
    instance.start()
    return instance


@pytest.fixture
def make_server(tmp_path):
    """A server with extra configuration; stopped (exit 0 checked) after the test if still up."""
    started = []

    def make(shards=2, extra_config=""):
        instance = start_server(tmp_path, shards=shards, extra_config=extra_config)
        started.append(instance)
        return instance

    yield make
    for instance in started:
        code = instance.stop()
        assert code in (0, None), f"server exit code {code}"


def deliver_and_read_back(server, user=BOB):
    """A well-behaved client delivers a fresh message to `user` over its own connection, and it
    is read back over POP3 byte for byte. Returns the seconds the SMTP side took."""
    tag = uuid.uuid4().hex
    content = (
        f"From: Healthy <{SENDER}>\r\nTo: <{user}>\r\nSubject: health {tag}\r\n"
        f"Message-ID: <{tag}@remote.example>\r\n\r\nStill serving.\r\n"
    ).encode()
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("healthy.example")
        assert client.sendmail(SENDER, [user], content) == {}
    elapsed = time.monotonic() - started
    stored = [split_trace(message)[2] for message in fetch_messages(server, user)]
    assert stored.count(content) == 1, stored
    return elapsed


def ehlo(raw):
    raw.send(b"EHLO client.example\r\n")
    lines = raw.reply()
    assert lines[-1].startswith(b"250 "), lines
    return lines


def codes(raw, count):
    return [raw.code() for _ in range(count)]


def assert_closed(raw):
    """The server closed the connection: EOF (or a reset) on read."""
    try:
        assert raw.reader.readline() == b""
    except ConnectionResetError:
        pass


def stop(server):
    assert server.stop() == 0


# ---- a client that never reads ----


def read_reply(sock):
    """One reply read octet by octet, so nothing past it is consumed (STARTTLS follows)."""
    lines = []
    line = b""
    while True:
        octet = sock.recv(1)
        assert octet, f"connection closed after {lines} {line}"
        line += octet
        if line.endswith(b"\r\n"):
            lines.append(line)
            if line[3:4] != b"-":
                return lines
            line = b""


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls"])
def test_client_that_never_reads_is_disconnected(make_server, tls):
    # One shard: the stuck connection and the well-behaved client share it.
    server = make_server(shards=1, extra_config="[limits]\nwrite_timeout_secs = 2\n")
    hog = socket.socket()
    # Small buffers on our side so that both directions fill up quickly.
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    hog.settimeout(TIMEOUT_SECS)
    hog.connect(("127.0.0.1", server.port("smtp")))
    assert read_reply(hog)[0].startswith(b"220 ")
    if tls:
        hog.sendall(b"EHLO client.example\r\n")
        assert read_reply(hog)[-1].startswith(b"250 ")
        hog.sendall(b"STARTTLS\r\n")
        assert read_reply(hog) == [b"220 2.0.0 Ready to start TLS\r\n"]
        hog = server.tls_context().wrap_socket(hog, server_hostname="localhost")
    hog.settimeout(0.25)
    block = b"NOOP\r\n" * 10_000
    sent = 0
    full_at = None
    closed_at = None
    deadline = time.monotonic() + 30
    # Pipeline NOOPs without ever reading until a send makes no progress for a while: the
    # server's replies have filled our receive buffer and its send buffer, so it stopped
    # reading, and our commands have filled its receive buffer and our send buffer.
    while time.monotonic() < deadline:
        try:
            sent += hog.send(block)
        except socket.timeout:
            full_at = time.monotonic()
            break
        except OSError:
            closed_at = time.monotonic()
            break
    assert full_at is not None and closed_at is None, f"sent {sent} octets, never blocked"
    assert sent > 1_000_000

    # Meanwhile another client is served normally.
    assert deliver_and_read_back(server) < PROMPT_SECS

    # The stuck write times out (2 s without progress) and the connection is ended: our sends
    # fail (a reset: the server closed with our NOOPs unread).
    deadline = full_at + 15
    while time.monotonic() < deadline:
        try:
            sent += hog.send(block)
        except socket.timeout:
            continue
        except OSError:
            closed_at = time.monotonic()
            break
    hog.close()
    assert closed_at is not None, "the non-reading connection was never closed"
    # Our send blocked a little after the server's write did.
    assert 0.5 <= closed_at - full_at <= 10, closed_at - full_at

    assert deliver_and_read_back(server) < PROMPT_SECS
    stop(server)


# ---- slowloris ----


def test_slowloris_does_not_stall_the_server(server):
    command = b"EHLO x\r\n"
    slow = [Raw(server) for _ in range(20)]
    for raw in slow:
        raw.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    healthy = {}

    def well_behaved():
        healthy["seconds"] = deliver_and_read_back(server)

    worker = None
    for index in range(len(command)):
        for raw in slow:
            raw.send(command[index : index + 1])
        if index == 1:
            # Every slow connection is mid-command: a normal client is served promptly.
            worker = threading.Thread(target=well_behaved)
            worker.start()
        time.sleep(0.5)
    worker.join(TIMEOUT_SECS)
    assert healthy.get("seconds", 99) < PROMPT_SECS, healthy
    # Every slow client gets its proper reply once its line is complete.
    for raw in slow:
        lines = raw.reply()
        assert lines[0].startswith(b"250-"), lines
        assert lines[-1][:4] == b"250 ", lines
        raw.send(b"QUIT\r\n")
        assert raw.code() == b"221 2.0.0"
        assert_closed(raw)
        raw.close()
    deliver_and_read_back(server, ALICE)
    stop(server)


# ---- data before 354 ----


def test_data_before_354_without_valid_recipient_is_read_as_commands(server):
    raw = Raw(server)
    ehlo(raw)
    raw.send(
        b"MAIL FROM:<a@example.test>\r\n"
        b"RCPT TO:<nobody@example.test>\r\n"
        b"DATA\r\n"
        b"Subject: x\r\n"
        b"\r\n"
        b"body\r\n"
        b".\r\n"
        b"QUIT\r\n"
    )
    assert codes(raw, 3) == [b"250 2.1.0", b"550 5.1.1", b"554 5.5.1"]
    # No 354: the would-be content is read as commands, each one an error.
    assert codes(raw, 4) == [b"500 5.5.1"] * 4
    assert raw.code() == b"221 2.0.0"
    assert_closed(raw)
    raw.close()
    assert fetch_messages(server, ALICE) == []
    assert fetch_messages(server, BOB) == []
    deliver_and_read_back(server)
    stop(server)


def test_data_before_354_with_a_valid_recipient_is_delivered_exactly(server):
    raw = Raw(server)
    ehlo(raw)
    raw.send(
        f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\nDATA\r\n".encode()
        + b"Subject: x\r\n\r\nbody\r\n..dot\r\n.\r\nQUIT\r\n"
    )
    assert codes(raw, 2) == [b"250 2.1.0", b"250 2.1.5"]
    assert raw.code()[:3] == b"354"
    assert raw.code() == b"250 2.0.0"
    assert raw.code() == b"221 2.0.0"
    assert_closed(raw)
    raw.close()
    messages = fetch_messages(server, ALICE)
    assert len(messages) == 1
    assert split_trace(messages[0])[2] == b"Subject: x\r\n\r\nbody\r\n.dot\r\n"
    assert fetch_messages(server, BOB) == []
    deliver_and_read_back(server)
    stop(server)


# ---- 10k recipients ----


def test_ten_thousand_recipients_in_one_transaction(server):
    raw = Raw(server)
    ehlo(raw)
    burst = (
        f"MAIL FROM:<{SENDER}>\r\n".encode()
        + f"RCPT TO:<{ALICE}>\r\n".encode() * 10_000
        + b"DATA\r\n"
    )
    # Write from another thread while reading here: neither side's buffers can deadlock.
    writer = threading.Thread(target=raw.send, args=(burst,))
    writer.start()
    assert raw.code() == b"250 2.1.0"
    replies = codes(raw, 10_000)
    writer.join(TIMEOUT_SECS)
    assert replies[:100] == [b"250 2.1.5"] * 100
    assert replies[100:] == [b"452 4.5.3"] * 9_900, sorted(set(replies[100:]))
    assert raw.code()[:3] == b"354"
    content = b"Subject: many\r\n\r\none copy\r\n"
    raw.send(content + b".\r\nQUIT\r\n")
    assert raw.code() == b"250 2.0.0"
    assert raw.code() == b"221 2.0.0"
    raw.close()
    messages = fetch_messages(server, ALICE)
    assert len(messages) == 1
    assert split_trace(messages[0])[2] == content
    deliver_and_read_back(server)
    stop(server)


# ---- BDAT with huge and zero sizes, mixed with DATA ----


def test_bdat_zero_and_unframeable_sizes(server):
    raw = Raw(server)
    ehlo(raw)
    # No transaction at all.
    raw.send(b"BDAT 0 LAST\r\n")
    assert raw.code() == b"503 5.5.1"
    # A transaction without an accepted recipient: as for DATA, 554 "no valid recipients"
    # (RFC 5321 §3.3), and the transaction is over.
    raw.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<nobody@{DOMAIN}>\r\nBDAT 0 LAST\r\n".encode())
    assert codes(raw, 3) == [b"250 2.1.0", b"550 5.1.1", b"554 5.5.1"]
    raw.send(b"RCPT TO:<alice@example.test>\r\n")
    assert raw.code() == b"503 5.5.1"
    # A size that does not fit any integer cannot frame the chunk: 421, then the close.
    raw.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\n".encode())
    assert codes(raw, 2) == [b"250 2.1.0", b"250 2.1.5"]
    raw.send(b"BDAT 99999999999999999999\r\nhello")
    assert raw.code() == b"421 4.5.2"
    assert_closed(raw)
    raw.close()
    assert fetch_messages(server, ALICE) == []
    deliver_and_read_back(server)
    stop(server)


def test_bdat_over_the_size_limit_then_bdat_mixed_with_data(server):
    raw = Raw(server)
    ehlo(raw)
    raw.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\n".encode())
    assert codes(raw, 2) == [b"250 2.1.0", b"250 2.1.5"]
    # Over the 50 MiB limit: the chunk is drained, then refused.
    size = 53_000_000
    raw.send(f"BDAT {size} LAST\r\n".encode())
    block = b"x" * (1024 * 1024)
    remaining = size
    while remaining:
        piece = block[: min(remaining, len(block))]
        raw.send(piece)
        remaining -= len(piece)
    assert raw.code() == b"552 5.3.4"
    # The transaction is over; the connection goes on.
    raw.send(b"NOOP\r\n")
    assert raw.code() == b"250 2.0.0"
    raw.send(f"RCPT TO:<{ALICE}>\r\n".encode())
    assert raw.code() == b"503 5.5.1"

    # A fresh transaction: BDAT, then DATA (RFC 3030 §4.2: they don't mix), then BDAT LAST.
    raw.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{ALICE}>\r\n".encode())
    assert codes(raw, 2) == [b"250 2.1.0", b"250 2.1.5"]
    raw.send(b"BDAT 5\r\nhello")
    assert raw.code() == b"250 2.0.0"
    raw.send(b"DATA\r\n")
    assert raw.code() == b"503 5.5.1"
    rest = b": there\r\nSubject: bdat\r\n\r\nbody\r\n.\r\n"
    raw.send(f"BDAT {len(rest)} LAST\r\n".encode() + rest)
    assert raw.code() == b"250 2.0.0"
    raw.send(b"QUIT\r\n")
    assert raw.code() == b"221 2.0.0"
    raw.close()
    messages = fetch_messages(server, ALICE)
    assert len(messages) == 1
    assert split_trace(messages[0])[2] == b"hello" + rest
    deliver_and_read_back(server)
    stop(server)


# ---- connection churn and the per-IP limit ----


def test_connection_churn_then_the_per_ip_limit(make_server):
    # One shard: the per-IP limit is per shard, so the whole server's ceiling is exactly 50.
    server = make_server(shards=1, extra_config="[limits]\nconnections_per_ip_max = 50\n")
    port = server.port("smtp")
    failures = []

    def churn(count):
        try:
            for _ in range(count):
                with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_SECS) as sock:
                    reader = sock.makefile("rb")
                    greeting = reader.readline()
                    if not greeting.startswith(b"220 "):
                        failures.append(greeting)
                        continue
                    sock.sendall(b"QUIT\r\n")
                    reply = reader.readline()
                    if reply[:9] != b"221 2.0.0":
                        failures.append(reply)
                    reader.close()
        except OSError as error:
            failures.append(error)

    threads = [threading.Thread(target=churn, args=(250,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
        assert not thread.is_alive()
    assert failures == []
    assert deliver_and_read_back(server) < PROMPT_SECS

    # 60 idle connections at once: the first 50 are served, the rest turned away.
    sockets = []
    greetings = []
    for _ in range(60):
        sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_SECS)
        reader = sock.makefile("rb")
        greetings.append(reader.readline())
        sockets.append((sock, reader))
    assert all(greeting.startswith(b"220 ") for greeting in greetings[:50]), greetings[:50]
    assert greetings[50:] == [
        b"421 4.7.0 Too many connections from your address, try again later\r\n"
    ] * 10
    for sock, reader in sockets[50:]:
        assert reader.readline() == b""
        reader.close()
        sock.close()
    for sock, reader in sockets[:50]:
        sock.sendall(b"NOOP\r\n")
        assert reader.readline()[:9] == b"250 2.0.0"
    # A freed place is available again.
    sock, reader = sockets.pop(0)
    sock.sendall(b"QUIT\r\n")
    assert reader.readline()[:9] == b"221 2.0.0"
    assert reader.readline() == b""
    reader.close()
    sock.close()
    deadline = time.monotonic() + 5
    while True:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_SECS) as extra:
            line = extra.makefile("rb").readline()
        if line.startswith(b"220 ") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert line.startswith(b"220 "), line
    for sock, reader in sockets:
        reader.close()
        sock.close()
    # The places are given back once the connections are gone.
    deadline = time.monotonic() + 5
    while True:
        try:
            elapsed = deliver_and_read_back(server)
            break
        except (smtplib.SMTPException, poplib.error_proto, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert elapsed < PROMPT_SECS
    stop(server)


# ---- STARTTLS, then garbage instead of a ClientHello ----


@pytest.mark.parametrize(
    "garbage",
    [
        os.urandom(4096),
        # A handshake record header with a nonsense version and a maximal length, then junk.
        b"\x16\x03\x09\xff\xff" + os.urandom(1024),
        b"EHLO client.example\r\nMAIL FROM:<a@example.test>\r\n",
    ],
    ids=["random", "bad-record", "plaintext"],
)
def test_starttls_then_garbage(server, garbage):
    raw = Raw(server)
    ehlo(raw)
    raw.send(b"STARTTLS\r\n")
    assert raw.reply() == [b"220 2.0.0 Ready to start TLS\r\n"]
    raw.socket.sendall(garbage)
    started = time.monotonic()
    # The server may answer with a TLS alert before closing; then the connection ends.
    raw.socket.settimeout(10)
    received = b""
    try:
        while True:
            chunk = raw.socket.recv(4096)
            if not chunk:
                break
            received += chunk
    except ConnectionResetError:
        pass
    assert time.monotonic() - started < 5
    assert b"250" not in received and b"220" not in received, received
    raw.close()
    deliver_and_read_back(server)
    stop(server)
