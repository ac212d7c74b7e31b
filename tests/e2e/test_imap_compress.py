"""IMAP COMPRESS=DEFLATE (RFC 4978) against the real server over raw sockets, with Python's zlib
speaking raw DEFLATE (wbits -15): SELECT, FETCH, APPEND and IDLE through the compressed stream,
byte for byte, over imap and imaps; the command's errors; a compressed bomb that inflates to a
1 GB line; a corrupt stream.
"""

import re
import socket
import time
import zlib

import pytest

from test_imap import ALICE, MESSAGE, TIMEOUT_SECS, USERS, deliver

DEFLATE_WBITS = -15
BOMB_LINE_OCTETS = 1 << 30
BOMB_PIECE_OCTETS = 1 << 20


class Client:
    """An IMAP client on a raw socket (TLS for imaps) that reads and writes plaintext until
    `compress()`, and raw DEFLATE from then on, sync-flushing every write."""

    def __init__(self, server, protocol="imap"):
        sock = socket.create_connection(("127.0.0.1", server.port(protocol)), TIMEOUT_SECS)
        if protocol == "imaps":
            sock = server.tls_context().wrap_socket(sock, server_hostname="localhost")
        self.socket = sock
        self.raw = b""  # received, not yet inflated (or not yet read, before compression)
        self.plain = b""  # inflated, not yet read
        self.deflater = None
        self.inflater = None
        self.closed = False

    def send(self, data):
        if self.deflater:
            data = self.deflater.compress(data) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.socket.sendall(data)

    def send_raw(self, data):
        self.socket.sendall(data)

    def _receive(self):
        chunk = self.socket.recv(65536)
        if not chunk:
            self.closed = True
            return False
        self.raw += chunk
        self._inflate()
        return True

    def _inflate(self):
        if self.inflater:
            self.plain += self.inflater.decompress(self.raw)
            self.raw = b""
        else:
            self.plain += self.raw
            self.raw = b""

    def read(self, octets):
        while len(self.plain) < octets:
            assert self._receive(), "connection closed"
        data, self.plain = self.plain[:octets], self.plain[octets:]
        return data

    def line(self):
        """One line with its CRLF; b"" at the end of the stream."""
        while b"\n" not in self.plain:
            if not self._receive():
                data, self.plain = self.plain, b""
                return data
        end = self.plain.index(b"\n") + 1
        data, self.plain = self.plain[:end], self.plain[end:]
        return data

    def until_tagged(self, tag):
        """The exact bytes up to and including the tagged response of `tag`, literals inline."""
        data = b""
        while True:
            line = self.line()
            assert line, f"connection closed after {data[-200:]!r}"
            data += line
            literal = re.search(rb"\{(\d+)\}\r\n$", line)
            if literal:
                data += self.read(int(literal.group(1)))
                continue
            if line.startswith(tag.encode() + b" "):
                return data

    def command(self, tag, text):
        self.send(f"{tag} {text}\r\n".encode())
        return self.until_tagged(tag)

    def login(self, user=ALICE, greeting=True):
        if greeting:
            assert self.line().startswith(b"* OK [CAPABILITY ")
        response = self.command("l", f'LOGIN {user} "{USERS[user]}"')
        assert response.splitlines()[-1].startswith(b"l OK"), response
        return response

    def compress(self, pipelined=b""):
        """COMPRESS DEFLATE; `pipelined` (plaintext) is sent compressed right behind it."""
        self.deflater = zlib.compressobj(6, zlib.DEFLATED, DEFLATE_WBITS)
        after = b""
        if pipelined:
            after = self.deflater.compress(pipelined) + self.deflater.flush(zlib.Z_SYNC_FLUSH)
        self.socket.sendall(b"z COMPRESS DEFLATE\r\n" + after)
        # The OK comes uncompressed; whatever follows it is compressed.
        assert self.line() == b"z OK DEFLATE active\r\n"
        self.inflater = zlib.decompressobj(DEFLATE_WBITS)
        self.raw, self.plain = self.plain, b""
        self._inflate()

    def close(self):
        self.socket.close()


def transcript(client, mailbox):
    """CREATE, APPEND (synchronising and LITERAL+), EXAMINE, FETCH, a large FETCH, LOGOUT."""
    big = MESSAGE + b"y" * 300_000 + b"\r\n"
    responses = [client.command("a", f"CREATE {mailbox}")]
    client.send(f"b APPEND {mailbox} (\\Draft) {{{len(MESSAGE)}}}\r\n".encode())
    continuation = client.line()
    assert continuation.startswith(b"+ "), continuation
    client.send(MESSAGE + b"\r\n")
    responses.append(client.until_tagged("b"))
    client.send(f"c APPEND {mailbox} {{{len(big)}+}}\r\n".encode() + big + b"\r\n")
    responses.append(client.until_tagged("c"))
    responses.append(client.command("d", f"EXAMINE {mailbox}"))
    responses.append(client.command("e", "FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE)"))
    responses.append(client.command("f", "FETCH 1 (BODY.PEEK[])"))
    responses.append(client.command("g", "FETCH 2 (BODY.PEEK[])"))
    responses.append(client.command("h", "LOGOUT"))
    assert client.line() == b""
    assert responses[5].endswith(b"{%d}\r\n" % len(MESSAGE) + MESSAGE + b")\r\nf OK FETCH completed\r\n")
    assert responses[6].endswith(b"{%d}\r\n" % len(big) + big + b")\r\ng OK FETCH completed\r\n")
    return responses


def normalise(response):
    """Without what differs between two mailboxes: UIDVALIDITY and the mailbox id."""
    return re.sub(rb"(UIDVALIDITY |APPENDUID |MAILBOXID \()[0-9A-Za-z_-]+", rb"\1N", response)


@pytest.mark.parametrize("protocol", ["imap", "imaps"])
def test_select_fetch_append_through_compression(server, protocol):
    client = Client(server, protocol)
    client.login()
    client.compress()
    compressed = transcript(client, "Compressed")
    client.close()
    # The same commands on an uncompressed session give the very same bytes.
    client = Client(server, protocol)
    client.login()
    plain = transcript(client, "Plain")
    client.close()
    assert [normalise(r) for r in compressed] == [normalise(r) for r in plain]


def test_capability_and_errors(server):
    client = Client(server)
    assert b"COMPRESS=DEFLATE" not in client.line()
    # RFC 4978 §5: command-auth, so not before login.
    assert client.command("a", "COMPRESS DEFLATE") == b"a BAD Log in first\r\n"
    assert b"COMPRESS=DEFLATE" in client.login(greeting=False)
    # Only DEFLATE is defined.
    response = client.command("b", "COMPRESS GZIP")
    assert response.startswith(b"b BAD "), response
    assert client.command("c", "NOOP") == b"c OK NOOP completed\r\n"
    client.compress()
    # RFC 4978 §3: "BAD ... COMPRESS already active"; the answer comes compressed.
    response = client.command("d", "COMPRESS DEFLATE")
    assert response.startswith(b"d BAD "), response
    assert b"COMPRESS=DEFLATE" in client.command("e", "CAPABILITY")
    assert client.command("f", "NOOP") == b"f OK NOOP completed\r\n"
    client.close()


def test_commands_pipelined_behind_compress_are_inflated(server):
    client = Client(server)
    client.login()
    client.compress(pipelined=b"p1 NOOP\r\np2 SELECT INBOX\r\n")
    assert client.until_tagged("p1") == b"p1 OK NOOP completed\r\n"
    assert client.until_tagged("p2").endswith(b"p2 OK [READ-WRITE] SELECT completed\r\n")
    client.close()


@pytest.mark.parametrize("protocol", ["imap", "imaps"])
@pytest.mark.parametrize("compressed", [True, False])
def test_idle_through_compression(server, protocol, compressed):
    # IDLE abandons its pending read when the mailbox changes; the next read must find the
    # TLS and DEFLATE state intact (uncompressed too: the TLS read path is the same).
    client = Client(server, protocol)
    client.login()
    if compressed:
        client.compress()
    client.command("s", "SELECT INBOX")
    client.send(b"i IDLE\r\n")
    assert client.line() == b"+ idling\r\n"
    started = time.monotonic()
    deliver(server, ALICE, MESSAGE)
    assert client.line() == b"* 1 EXISTS\r\n"
    assert client.line() == b"* 1 RECENT\r\n"
    assert time.monotonic() - started < TIMEOUT_SECS
    client.send(b"DONE\r\n")
    assert client.line() == b"i OK IDLE terminated\r\n"
    assert client.command("n", "NOOP") == b"n OK NOOP completed\r\n"
    client.close()


def bomb():
    """Raw DEFLATE of a command whose line inflates to 1 GiB, in about a megabyte, and the
    compressor to go on with.

    A block that follows a sync flush starts on a byte boundary, and one that encodes a MiB
    of "x" only refers back to earlier "x"s: repeated, it inflates to a MiB each time. The
    CRLF comes from a fresh compressor, whose history (the CRLF) is a suffix of what the
    server inflated, so it can compress the next commands too."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, DEFLATE_WBITS)
    start = deflater.compress(b"b1 NOOP x") + deflater.flush(zlib.Z_SYNC_FLUSH)
    piece = deflater.compress(b"x" * BOMB_PIECE_OCTETS) + deflater.flush(zlib.Z_SYNC_FLUSH)
    follower = zlib.compressobj(9, zlib.DEFLATED, DEFLATE_WBITS)
    end = follower.compress(b"\r\n") + follower.flush(zlib.Z_SYNC_FLUSH)
    return follower, start + piece * (BOMB_LINE_OCTETS // BOMB_PIECE_OCTETS) + end


def test_a_compressed_bomb_is_refused_and_the_server_stays_healthy(server):
    client = Client(server)
    client.login()
    client.compress()
    deflater, compressed = bomb()
    assert len(compressed) < 2 * 1024 * 1024
    client.socket.settimeout(120)
    client.send_raw(compressed)
    response = client.line()
    assert re.match(rb"(b1|\*) BAD Line too long\r\n|\* BYE ", response), response
    if response.startswith(b"* BYE"):
        assert client.line() == b""
    else:
        # The same stream goes on: the client's compressor state continues.
        client.deflater = deflater
        assert client.command("b2", "NOOP") == b"b2 OK NOOP completed\r\n"
    client.close()
    other = Client(server)
    other.login()
    other.compress()
    assert other.command("c1", "NOOP") == b"c1 OK NOOP completed\r\n"
    other.close()


def test_corrupt_compressed_input_gets_bye(server):
    client = Client(server)
    client.login()
    client.compress()
    # BTYPE 11 is reserved (RFC 1951 §3.2.3): the inflater fails at the first block.
    client.send_raw(b"\xff" * 16)
    assert client.line() == b"* BYE Corrupt compressed data\r\n"
    assert client.line() == b""
    client.close()
