"""Golden IMAP transcripts: client lines in, the server's exact bytes out, over real sockets
against the real binary (the `server` fixture of conftest.py).

One test (or a few) per command and per advertised extension, replaying the RFCs' own examples
where our data can reproduce them (RFC 3501, 9051, 2177, 2342, 2971, 3502, 3516, 3691, 4315,
4731, 4959, 4978, 5161, 5182, 5258, 5819, 6154, 6851, 6855, 7162, 7888, 8438, 8474, 8514, 9208).

Responses are compared whole and byte for byte. A template line (T) may hold placeholders for
the values that vary from run to run — {N} (a number: UIDVALIDITY, MODSEQ; {NZ} where it must
not be 0), {ID} (an RFC 8474 object id), {DATE} (an IMAP date-time) — and, only in tests that
pin a server deviation where the RFC leaves the wording free, {TEXT} (human-readable text).
Everything else is literal.

Where the server's answer differs from what an RFC requires, the test is written to the RFC and
fails; its docstring quotes the RFC section. Such tests check each exchange (Soft) so that one
run shows every differing exchange.

Each test starts its own server (conftest's `server` fixture); `data_cleanup` removes the data
directory afterwards, since every server preallocates its log segments.
"""

import base64
import hashlib
import hmac
import re
import shutil
import socket
import time
import zlib

import pytest

from conftest import USERS

ALICE = "alice@example.test"
BOB = "bob@example.test"
TIMEOUT_SECS = 20

CAPS_COMMON = b"IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE"
CAPS_BEFORE_LOGIN = CAPS_COMMON + b" STARTTLS AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN"
CAPS_AFTER_LOGIN = CAPS_COMMON + (
    b" UIDPLUS UNSELECT CHILDREN MOVE SPECIAL-USE CREATE-SPECIAL-USE LIST-EXTENDED LIST-STATUS"
    b" ESEARCH SEARCHRES MULTIAPPEND STATUS=SIZE CONDSTORE QRESYNC BINARY UTF8=ACCEPT OBJECTID"
    b" SAVEDATE QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE COMPRESS=DEFLATE SORT"
    b" THREAD=ORDEREDSUBJECT THREAD=REFERENCES APPENDLIMIT=67108864"
)
GREETING = b"* OK [CAPABILITY " + CAPS_BEFORE_LOGIN + b"] Postern ready\r\n"
SYSTEM_FLAGS = b"\\Answered \\Flagged \\Deleted \\Seen \\Draft"
DEFAULT_LIST = [
    b'* LIST (\\HasNoChildren \\Archive) "/" Archive\r\n',
    b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts\r\n',
    b'* LIST (\\HasNoChildren) "/" INBOX\r\n',
    b'* LIST (\\HasNoChildren \\Junk) "/" Junk\r\n',
    b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n',
    b'* LIST (\\HasNoChildren \\Trash) "/" Trash\r\n',
]


# ---------------------------------------------------------------------------------------------
# Transcript machinery


PLACEHOLDERS = {
    b"N": rb"([0-9]+)",
    b"NZ": rb"([1-9][0-9]*)",
    b"ID": rb"([A-Za-z0-9_-]{1,255})",
    b"DATE": rb"(\d\d-[A-Z][a-z][a-z]-\d{4} \d\d:\d\d:\d\d [+-]\d{4})",
    b"TEXT": rb"([^\r\n]*)",
}
PLACEHOLDER = re.compile(rb"\{(N|NZ|ID|DATE|TEXT)\}")


class T:
    """A response line template: literal bytes with {N}/{ID}/{DATE}/{TEXT} placeholders."""

    def __init__(self, template):
        self.template = template
        parts = []
        position = 0
        for match in PLACEHOLDER.finditer(template):
            parts.append(re.escape(template[position : match.start()]))
            parts.append(PLACEHOLDERS[match.group(1)])
            position = match.end()
        parts.append(re.escape(template[position:]))
        self.regex = re.compile(b"".join(parts), re.DOTALL)

    def match(self, line):
        found = self.regex.fullmatch(line)
        return None if found is None else list(found.groups())

    def __repr__(self):
        return f"T({self.template!r})"


def matches(expected, actual):
    """Compares whole transcripts; returns the placeholder values in order."""
    values = []
    ok = len(expected) == len(actual)
    if ok:
        for want, got in zip(expected, actual):
            if isinstance(want, T):
                found = want.match(got)
                if found is None:
                    ok = False
                    break
                values.extend(found)
            elif want != got:
                ok = False
                break
    if not ok:
        lines = ["transcript differs", "expected:"]
        lines += [f"    {w!r}" for w in expected]
        lines += ["actual:"]
        lines += [f"    {g!r}" for g in actual]
        raise AssertionError("\n".join(lines))
    return values


class Soft:
    """Checks several exchanges and reports every one that differs, not just the first."""

    def __init__(self):
        self.failures = []

    def expect(self, session, line, expected, tag="a"):
        lines = session.run(line, tag)
        try:
            return matches(expected, lines)
        except AssertionError as error:
            shown = line if isinstance(line, bytes) else line.encode()
            self.failures.append(f"C: {tag} {shown!r}\n{error}")
            return None

    def check(self):
        assert not self.failures, "\n\n".join(self.failures)


LITERAL_AT_END = re.compile(rb"~?\{(\d+)\}\r\n$")


class Session:
    """One IMAP connection on a plain socket. A response line ending in a literal ({n} or
    ~{n}) is read on through the literal and the rest of the line, so every item of a
    transcript is one complete response, literals included."""

    def __init__(self, port):
        self.socket = socket.create_connection(("127.0.0.1", port), TIMEOUT_SECS)
        self.file = self.socket.makefile("rb")
        self.counter = 0
        self.greeting = self.response()

    def response(self):
        data = self.file.readline()
        while True:
            match = LITERAL_AT_END.search(data)
            if not match:
                return data
            data += self.file.read(int(match.group(1)))
            data += self.file.readline()

    def send(self, data):
        self.socket.sendall(data.encode() if isinstance(data, str) else data)

    def until_tagged(self, tag):
        tag = tag.encode() if isinstance(tag, str) else tag
        lines = []
        while True:
            line = self.response()
            assert line, f"connection closed after {lines!r}"
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def run(self, line, tag="a"):
        line = line.encode() if isinstance(line, str) else line
        self.send(tag.encode() + b" " + line + b"\r\n")
        return self.until_tagged(tag)

    def expect(self, line, expected, tag="a"):
        """Runs `tag line` and checks every response against `expected`."""
        return matches(expected, self.run(line, tag))

    def starttls(self, context):
        self.file.close()
        self.socket = context.wrap_socket(self.socket, server_hostname="localhost")
        self.file = self.socket.makefile("rb")

    def close(self):
        for closing in (self.file, self.socket):
            try:
                closing.close()
            except OSError:
                pass


@pytest.fixture
def data_cleanup(tmp_path):
    """Removes the server's data directory once the server has stopped: every server
    preallocates its log segments, and pytest keeps the last runs' temporary directories."""
    yield
    shutil.rmtree(tmp_path / "data", ignore_errors=True)


@pytest.fixture
def imap(data_cleanup, server):
    """connect(user) → a Session, logged in unless user is None; closed before the server
    stops (an open connection would hold the shutdown for its grace period)."""
    opened = []

    def connect(user=ALICE):
        session = Session(server.port("imap"))
        opened.append(session)
        if user:
            quoted = USERS[user].replace("\\", "\\\\").replace('"', '\\"')
            lines = session.run(f'LOGIN {user} "{quoted}"', tag="login")
            assert lines[-1].startswith(b"login OK"), lines
        return session

    connect.server = server
    yield connect
    for session in opened:
        session.close()


def append(session, mailbox, message, flags=None, date=None):
    """APPEND with a LITERAL+ literal; returns the new UID."""
    arguments = b""
    if flags is not None:
        arguments += b" (" + flags + b")"
    if date is not None:
        arguments += b' "' + date + b'"'
    line = b"APPEND " + mailbox + arguments + b" {%d+}\r\n" % len(message) + message
    lines = session.run(line, tag="seed")
    match = re.match(rb"seed OK \[APPENDUID \d+ (\d+)\]", lines[-1])
    assert match, lines
    return int(match.group(1))


def crlf(text):
    return text.replace("\n", "\r\n").encode()


def literal(data):
    return b"{%d}\r\n" % len(data) + data


def select_lines(exists, recent=0, unseen=None, uidnext=None, flags=SYSTEM_FLAGS,
                 read_only=False, highestmodseq=False, verb=b"SELECT", tag=b"a", closed=False):
    """The exact responses of a successful IMAP4rev1 SELECT/EXAMINE; `closed` when another
    mailbox was selected (RFC 7162 §3.2.11: CLOSED first)."""
    lines = [T(b"* OK [CLOSED] {TEXT}\r\n")] if closed else []
    lines.append(b"* FLAGS (" + flags + b")\r\n")
    if read_only:
        lines.append(b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n")
    else:
        lines.append(b"* OK [PERMANENTFLAGS (" + flags + b" \\*)] Flags permitted\r\n")
    lines += [b"* %d EXISTS\r\n" % exists, b"* %d RECENT\r\n" % recent]
    if unseen is not None:
        lines.append(b"* OK [UNSEEN %d] First unseen\r\n" % unseen)
    lines.append(T(b"* OK [UIDVALIDITY {N}] UIDs valid\r\n"))
    lines.append(b"* OK [UIDNEXT %d] Predicted next UID\r\n" % (uidnext or exists + 1))
    if highestmodseq:
        lines.append(T(b"* OK [HIGHESTMODSEQ {N}] Highest\r\n"))
    lines.append(T(b"* OK [MAILBOXID ({ID})] Ok\r\n"))
    if read_only:
        lines.append(tag + b" OK [READ-ONLY] " + verb + b" completed\r\n")
    else:
        lines.append(tag + b" OK [READ-WRITE] " + verb + b" completed\r\n")
    return lines


def listing(*entries, verb=b"LIST", tag=b"a"):
    """LIST responses (or (LIST, STATUS) pairs) in the server's order — by name, octet for
    octet — and the tagged OK."""
    def name(entry):
        line = entry[0] if isinstance(entry, tuple) else entry
        return line.split(b'"/" ', 1)[1]
    lines = []
    for entry in sorted(entries, key=name):
        lines.extend(entry if isinstance(entry, tuple) else [entry])
    return lines + [tag + b" OK " + verb + b" completed\r\n"]


def plain(user, password, authzid=""):
    return base64.b64encode(f"{authzid}\0{user}\0{password}".encode())


# ---------------------------------------------------------------------------------------------
# Messages


SIMPLE = crlf(
    """Date: Tue, 24 Nov 2026 10:11:12 +0000
From: Carol Example <carol@example.org>
Sender: Dave <dave@example.org>
Reply-To: replies@example.org
To: alice@example.test, "Bob B." <bob@example.test>
Cc: Eve <eve@example.net>
Bcc: hidden@example.net
Subject: Quarterly report
Message-ID: <report-1@example.org>
In-Reply-To: <earlier@example.org>
X-Priority: 3

Hello Alice,
the numbers are in.
"""
)
SIMPLE_HEADER, SIMPLE_TEXT = SIMPLE.split(b"\r\n\r\n", 1)
SIMPLE_HEADER += b"\r\n\r\n"
SIMPLE_ENVELOPE = (
    b'("Tue, 24 Nov 2026 10:11:12 +0000" "Quarterly report" '
    b'(("Carol Example" NIL "carol" "example.org")) (("Dave" NIL "dave" "example.org")) '
    b'((NIL NIL "replies" "example.org")) '
    b'((NIL NIL "alice" "example.test")("Bob B." NIL "bob" "example.test")) '
    b'(("Eve" NIL "eve" "example.net")) ((NIL NIL "hidden" "example.net")) '
    b'"<earlier@example.org>" "<report-1@example.org>")'
)

# The complex message of RFC 3501 §6.4.5, part for part:
#   HEADER, TEXT (MULTIPART/MIXED), 1 TEXT/PLAIN, 2 APPLICATION/OCTET-STREAM, 3 MESSAGE/RFC822,
#   3.HEADER, 3.TEXT (MULTIPART/MIXED), 3.1 TEXT/PLAIN, 3.2 APPLICATION/OCTET-STREAM,
#   4 MULTIPART/MIXED, 4.1 IMAGE/GIF, 4.1.MIME, 4.2 MESSAGE/RFC822, 4.2.HEADER,
#   4.2.TEXT (MULTIPART/MIXED), 4.2.1 TEXT/PLAIN, 4.2.2 MULTIPART/ALTERNATIVE,
#   4.2.2.1 TEXT/PLAIN, 4.2.2.2 TEXT/RICHTEXT
P1_MIME = crlf("Content-Type: text/plain; charset=us-ascii\n\n")
P1 = b"part one"
P2_MIME = crlf("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
P2 = b"AAECAw=="
P3_MIME = crlf("Content-Type: message/rfc822\n\n")
P3_HEADER = crlf(
    'From: Grace <grace@example.org>\nSubject: inner three\nMIME-Version: 1.0\n'
    'Content-Type: multipart/mixed; boundary="three"\n\n'
)
P31 = b"part 3.1"
P32 = b"BAUG"
P3_TEXT = (
    b"--three\r\nContent-Type: text/plain\r\n\r\n" + P31 + b"\r\n--three\r\n"
    + crlf("Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
    + P32 + b"\r\n--three--\r\n"
)
P3 = P3_HEADER + P3_TEXT
P4_MIME = crlf('Content-Type: multipart/mixed; boundary="four"\n\n')
P41_MIME = crlf("Content-Type: image/gif\nContent-Transfer-Encoding: base64\n\n")
P41 = b"R0lGODlhAQABAAAAACw="
P42_MIME = crlf("Content-Type: message/rfc822\n\n")
P42_HEADER = crlf(
    'From: Heidi <heidi@example.org>\nSubject: inner four two\nMIME-Version: 1.0\n'
    'Content-Type: multipart/mixed; boundary="fourtwo"\n\n'
)
P421 = b"part 4.2.1"
P422_MIME = crlf('Content-Type: multipart/alternative; boundary="alt"\n\n')
P4221 = b"part 4.2.2.1"
P4222_MIME = crlf("Content-Type: text/richtext\n\n")
P4222 = b"<bold>part 4.2.2.2</bold>"
P422 = (
    b"--alt\r\nContent-Type: text/plain\r\n\r\n" + P4221 + b"\r\n--alt\r\n" + P4222_MIME
    + P4222 + b"\r\n--alt--"
)
P42_TEXT = (
    b"--fourtwo\r\nContent-Type: text/plain\r\n\r\n" + P421 + b"\r\n--fourtwo\r\n"
    + P422_MIME + P422 + b"\r\n--fourtwo--\r\n"
)
P42 = P42_HEADER + P42_TEXT
P4 = b"--four\r\n" + P41_MIME + P41 + b"\r\n--four\r\n" + P42_MIME + P42 + b"\r\n--four--"
COMPLEX_HEADER = crlf(
    "From: Frank <frank@example.org>\nTo: alice@example.test\nSubject: complex\n"
    'Date: Wed, 25 Nov 2026 08:00:00 +0000\nMIME-Version: 1.0\n'
    'Content-Type: multipart/mixed; boundary="outer"\n\n'
)
COMPLEX_TEXT = (
    b"--outer\r\n" + P1_MIME + P1 + b"\r\n--outer\r\n" + P2_MIME + P2 + b"\r\n--outer\r\n"
    + P3_MIME + P3 + b"\r\n--outer\r\n" + P4_MIME + P4 + b"\r\n--outer--\r\n"
)
COMPLEX = COMPLEX_HEADER + COMPLEX_TEXT


def short(subject, body="body\n", extra=""):
    return crlf(f"From: x@example.org\nSubject: {subject}\n{extra}\n{body}")


# ---------------------------------------------------------------------------------------------
# Any state: CAPABILITY, NOOP, LOGOUT (RFC 3501 §6.1)


def test_capability_noop_logout(imap):
    """RFC 3501 §6.1.1-§6.1.3, §7.1.1 (CAPABILITY in the greeting and after LOGIN)."""
    session = imap(None)
    assert session.greeting == GREETING
    session.expect("CAPABILITY", [b"* CAPABILITY " + CAPS_BEFORE_LOGIN + b"\r\n",
                                  b"a OK CAPABILITY completed\r\n"])
    session.expect("NOOP", [b"a OK NOOP completed\r\n"])
    session.expect(f'LOGIN {ALICE} "{USERS[ALICE]}"',
                   [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"])
    session.expect("CAPABILITY", [b"* CAPABILITY " + CAPS_AFTER_LOGIN + b"\r\n",
                                  b"a OK CAPABILITY completed\r\n"])
    session.expect("NOOP", [b"a OK NOOP completed\r\n"])
    # RFC 3501 §6.1.3: BYE, the tagged OK, then the server closes the connection.
    session.expect("LOGOUT", [b"* BYE Logging out\r\n", b"a OK LOGOUT completed\r\n"])
    assert session.response() == b""


def test_noop_reports_other_sessions_changes(imap):
    """RFC 3501 §6.1.2: NOOP is the way to poll for updates (EXISTS, RECENT, FETCH, EXPUNGE)."""
    first, second = imap(), imap()
    for n in range(3):
        append(first, b"INBOX", short(f"n{n}"))
    second.expect("SELECT INBOX", select_lines(3, recent=3, unseen=1))
    append(first, b"INBOX", short("n3"))
    first.run("SELECT INBOX")
    first.run("STORE 2 +FLAGS.SILENT (\\Deleted \\Seen)")
    first.run("STORE 3 +FLAGS.SILENT (\\Flagged)")
    first.run("EXPUNGE")
    second.expect("NOOP", [
        b"* 2 EXPUNGE\r\n",
        b"* 3 EXISTS\r\n",
        # The first session's SELECT claimed \Recent for the new message (RFC 3501 §2.3.2).
        b"* 2 RECENT\r\n",
        b"* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\n",
        b"a OK NOOP completed\r\n",
    ])


# ---------------------------------------------------------------------------------------------
# Not authenticated: STARTTLS, AUTHENTICATE, LOGIN (RFC 3501 §6.2, RFC 4959, RFC 7888)


def test_starttls_changes_the_capabilities(imap):
    """RFC 3501 §6.2.1: after TLS the client discards its capabilities and asks again; the
    new list no longer offers STARTTLS. RFC 3501 §6.2.1: STARTTLS is refused once active."""
    session = imap(None)
    session.expect("STARTTLS", [b"a OK Begin TLS negotiation now\r\n"])
    session.starttls(imap.server.tls_context())
    after_tls = CAPS_BEFORE_LOGIN.replace(b" STARTTLS", b"").replace(
        b"AUTH=SCRAM-SHA-256", b"AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256")
    session.expect("CAPABILITY", [b"* CAPABILITY " + after_tls + b"\r\n",
                                  b"a OK CAPABILITY completed\r\n"])
    session.expect("STARTTLS", [b"a BAD STARTTLS not available\r\n"])
    session.expect(f'LOGIN {BOB} "{USERS[BOB]}"',
                   [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"])
    session.expect("STARTTLS", [b"a BAD Already logged in\r\n"])
    session.expect("LOGOUT", [b"* BYE Logging out\r\n", b"a OK LOGOUT completed\r\n"])


def test_authenticate_plain_with_initial_response(imap):
    """RFC 4959 §3 example (SASL-IR): the initial response rides on the command line."""
    session = imap(None)
    session.expect(b"AUTHENTICATE PLAIN " + plain(ALICE, USERS[ALICE]),
                   [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"])
    session.expect("SELECT INBOX", select_lines(0))


def test_authenticate_plain_without_initial_response(imap):
    """RFC 3501 §6.2.2: an empty challenge "+ ", the client's base64 line, then OK. RFC 4616
    authzid equal to the authcid is accepted; another user's is not."""
    session = imap(None)
    session.send("a AUTHENTICATE PLAIN\r\n")
    assert session.response() == b"+ \r\n"
    session.send(plain(BOB, USERS[BOB], authzid=ALICE) + b"\r\n")
    assert session.until_tagged("a") == [
        b"a NO [AUTHORIZATIONFAILED] Not authorized to act as another user\r\n"]
    session.send("b AUTHENTICATE PLAIN\r\n")
    assert session.response() == b"+ \r\n"
    session.send(plain(BOB, USERS[BOB], authzid=BOB) + b"\r\n")
    assert session.until_tagged("b") == [
        b"b OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"]


def test_authenticate_cancelled_and_refused(imap):
    """RFC 3501 §6.2.2: "*" cancels the exchange with a tagged BAD; wrong credentials get NO
    (RFC 5530 AUTHENTICATIONFAILED); an unknown mechanism gets NO."""
    session = imap(None)
    session.send("a AUTHENTICATE PLAIN\r\n")
    assert session.response() == b"+ \r\n"
    session.send("*\r\n")
    assert session.until_tagged("a") == [b"a BAD Authentication cancelled\r\n"]
    session.expect(b"AUTHENTICATE PLAIN " + plain(ALICE, "wrong"),
                   [b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"])
    session.expect("AUTHENTICATE X-UNKNOWN", [b"a NO Unsupported authentication mechanism\r\n"])
    session.expect("AUTHENTICATE PLAIN !!!", [b"a BAD invalid initial response\r\n"])
    session.expect(b"AUTHENTICATE PLAIN " + plain(ALICE, USERS[ALICE]),
                   [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"])
    session.expect(b"AUTHENTICATE PLAIN " + plain(ALICE, USERS[ALICE]),
                   [b"a BAD Already logged in\r\n"])


def test_login_quoted_and_literal_passwords(imap):
    """RFC 3501 §6.2.3 LOGIN with astrings: quoted (spaces), synchronising literal (RFC 3501
    §7.5 continuation), and RFC 7888 LITERAL+ non-synchronising literals (no continuation)."""
    password = USERS[BOB].encode()
    session = imap(None)
    session.expect(f'LOGIN {ALICE} "wrong"',
                   [b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"])
    session.expect(f'LOGIN {BOB} "{USERS[BOB]}"',
                   [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"])
    session.expect(f'LOGIN {ALICE} x', [b"a BAD Already logged in\r\n"])
    session = imap(None)
    session.send(b"b LOGIN " + BOB.encode() + b" {%d}\r\n" % len(password))
    assert session.response() == b"+ Ready for literal data\r\n"
    session.send(password + b"\r\n")
    assert session.until_tagged("b") == [
        b"b OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"]
    session = imap(None)
    session.send(b"c LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n"
                 % (len(BOB), BOB.encode(), len(password), password))
    assert session.until_tagged("c") == [
        b"c OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"]


def test_commands_in_the_wrong_state(imap):
    """RFC 3501 §6: commands of a later state are BAD before it; the connection goes on."""
    session = imap(None)
    for command in ("SELECT INBOX", "LIST \"\" *", "ENABLE CONDSTORE", "NAMESPACE",
                    "COMPRESS DEFLATE", "GETQUOTAROOT INBOX", "CHECK"):
        session.expect(command, [b"a BAD Log in first\r\n"])
    session.expect(f'LOGIN {ALICE} "{USERS[ALICE]}"',
                   [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN + b"] Logged in\r\n"])
    for command in ("CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "FETCH 1 FLAGS", "SEARCH ALL",
                    "STORE 1 +FLAGS (\\Seen)", "COPY 1 Trash", "UID FETCH 1 FLAGS"):
        session.expect(command, [b"a BAD No mailbox selected\r\n"])


# ---------------------------------------------------------------------------------------------
# Authenticated: SELECT, EXAMINE (RFC 3501 §6.3.1-2, RFC 8474 §4.2)


def test_select_and_examine(imap):
    """RFC 3501 §6.3.1/§6.3.2: FLAGS, EXISTS, RECENT, UNSEEN, PERMANENTFLAGS, UIDNEXT,
    UIDVALIDITY, then [READ-WRITE] / [READ-ONLY]; keywords in FLAGS and PERMANENTFLAGS; a
    failed SELECT leaves no mailbox selected."""
    session = imap()
    append(session, b"INBOX", short("one"), flags=b"\\Seen $Work")
    append(session, b"INBOX", short("two"), flags=b"\\Answered")
    append(session, b"INBOX", short("three"), flags=b"\\Seen")
    flags = SYSTEM_FLAGS + b" $Work"
    validity, mailbox_id = session.expect("EXAMINE INBOX", select_lines(
        3, unseen=2, flags=flags, read_only=True, verb=b"EXAMINE"))
    session.expect("SELECT INBOX", select_lines(3, recent=3, unseen=2, flags=flags, closed=True))
    # \Recent went to the first SELECT: a second session sees none (RFC 3501 §2.3.2).
    other = imap()
    other.expect("SELECT inbox", select_lines(3, recent=0, unseen=2, flags=flags))
    other.expect("STATUS INBOX (UIDVALIDITY MAILBOXID)", [
        b"* STATUS INBOX (UIDVALIDITY %s MAILBOXID (%s))\r\n" % (validity, mailbox_id),
        b"a OK STATUS completed\r\n"])
    other.expect("SELECT Nowhere", [T(b"* OK [CLOSED] {TEXT}\r\n"),
                                    b"a NO [NONEXISTENT] No such mailbox\r\n"])
    other.expect("FETCH 1 FLAGS", [b"a BAD No mailbox selected\r\n"])
    other.expect("EXAMINE Drafts", select_lines(0, read_only=True, verb=b"EXAMINE"))
    other.expect("STORE 1:* +FLAGS (\\Seen)", [b"a NO [READ-ONLY] Mailbox is read-only\r\n"])


def test_select_of_another_mailbox_says_closed(imap):
    """RFC 7162 §3.2.11: "A server that advertises "QRESYNC" or "CONDSTORE" in the capability
    string must return the CLOSED response code [when the currently selected mailbox is closed
    implicitly using the SELECT/EXAMINE command on another mailbox], whether or not a
    CONDSTORE enabling command was issued." """
    session = imap()
    soft = Soft()
    session.run("SELECT INBOX")
    soft.expect(session, "SELECT Drafts", [T(b"* OK [CLOSED] {TEXT}\r\n")] + select_lines(0))
    soft.expect(session, "EXAMINE Drafts", [T(b"* OK [CLOSED] {TEXT}\r\n")] + select_lines(
        0, read_only=True, verb=b"EXAMINE"))
    soft.check()


# ---------------------------------------------------------------------------------------------
# CREATE, DELETE, RENAME (RFC 3501 §6.3.3-5, RFC 8474 §4.1, RFC 5530)


def test_create(imap):
    """RFC 3501 §6.3.3 example (a trailing delimiter, then a child); superiors are created;
    RFC 8474 §4.1: the tagged OK carries MAILBOXID; RFC 5530 ALREADYEXISTS."""
    session = imap()
    session.expect("CREATE owatagusiam/", [T(b"a OK [MAILBOXID ({ID})] CREATE completed\r\n")])
    session.expect("CREATE owatagusiam/blurdybloop",
                   [T(b"a OK [MAILBOXID ({ID})] CREATE completed\r\n")])
    session.expect("CREATE a/b/c", [T(b"a OK [MAILBOXID ({ID})] CREATE completed\r\n")])
    session.expect('LIST "" a*', [
        b'* LIST (\\HasChildren) "/" a\r\n',
        b'* LIST (\\HasChildren) "/" a/b\r\n',
        b'* LIST (\\HasNoChildren) "/" a/b/c\r\n',
        b"a OK LIST completed\r\n"])
    session.expect('LIST "" owatagusiam*', [
        b'* LIST (\\HasChildren) "/" owatagusiam\r\n',
        b'* LIST (\\HasNoChildren) "/" owatagusiam/blurdybloop\r\n',
        b"a OK LIST completed\r\n"])
    session.expect("CREATE owatagusiam", [b"a NO [ALREADYEXISTS] Mailbox already exists\r\n"])
    session.expect("CREATE inbox", [b"a NO [ALREADYEXISTS] Mailbox already exists\r\n"])
    session.expect("CREATE INBOX", [b"a NO [ALREADYEXISTS] Mailbox already exists\r\n"])


def test_delete(imap):
    """RFC 3501 §6.3.4, both examples: deleting a name with inferiors leaves it \\Noselect (the
    inferiors stay), deleting a \\Noselect name with inferiors is NO; INBOX and missing names
    are NO."""
    session = imap()
    for name in ("blurdybloop", "foo", "foo/bar"):
        session.run(f"CREATE {name}")
    session.expect('LIST "" *', listing(
        *DEFAULT_LIST,
        b'* LIST (\\HasNoChildren) "/" blurdybloop\r\n',
        b'* LIST (\\HasChildren) "/" foo\r\n',
        b'* LIST (\\HasNoChildren) "/" foo/bar\r\n'))
    session.expect("DELETE blurdybloop", [b"a OK DELETE completed\r\n"])
    session.expect("DELETE foo", [b"a OK DELETE completed\r\n"])
    session.expect('LIST "" foo*', [
        b'* LIST (\\Noselect \\HasChildren) "/" foo\r\n',
        b'* LIST (\\HasNoChildren) "/" foo/bar\r\n',
        b"a OK LIST completed\r\n"])
    session.expect('LIST "" %', listing(
        *DEFAULT_LIST, b'* LIST (\\Noselect \\HasChildren) "/" foo\r\n'))
    session.expect("DELETE foo", [b"a NO [NONEXISTENT] No such mailbox\r\n"])
    session.expect("DELETE foo/bar", [b"a OK DELETE completed\r\n"])
    session.expect('LIST "" foo*', [b"a OK LIST completed\r\n"])
    session.expect("DELETE INBOX", [b"a NO [CANNOT] INBOX can't be deleted\r\n"])
    session.expect("DELETE Nowhere", [b"a NO [NONEXISTENT] No such mailbox\r\n"])


def test_delete_keeps_uids_unique(imap):
    """RFC 3501 §6.3.4: a mailbox created again under a deleted name must not reuse the UIDs
    of the former incarnation unless its UIDVALIDITY differs."""
    session = imap()
    session.run("CREATE Again")
    append(session, b"Again", short("x"))
    append(session, b"Again", short("y"))
    before = session.run("STATUS Again (UIDVALIDITY UIDNEXT)")
    session.expect("DELETE Again", [b"a OK DELETE completed\r\n"])
    session.run("CREATE Again")
    after = session.run("STATUS Again (UIDVALIDITY UIDNEXT)")
    validity_before = re.search(rb"UIDVALIDITY (\d+)", before[0]).group(1)
    validity_after = re.search(rb"UIDVALIDITY (\d+)", after[0]).group(1)
    assert validity_before != validity_after or b"UIDNEXT 3" in after[0], (before, after)


def test_rename(imap):
    """RFC 3501 §6.3.5 example: inferiors move with their superior; RFC 8474 §4: MAILBOXID is
    kept; renaming onto an existing name or from a missing one is NO; superiors of the new
    name are created."""
    session = imap()
    for name in ("blurdybloop", "foo/bar"):
        session.run(f"CREATE {name}")
    (mailbox_id,) = matches([T(b"* STATUS foo/bar (MAILBOXID ({ID}))\r\n"),
                             b"a OK STATUS completed\r\n"],
                            session.run("STATUS foo/bar (MAILBOXID)"))
    session.expect("RENAME blurdybloop sarasoop", [b"a OK RENAME completed\r\n"])
    session.expect("RENAME foo zowie", [b"a OK RENAME completed\r\n"])
    session.expect('LIST "" *', listing(
        *DEFAULT_LIST,
        b'* LIST (\\HasNoChildren) "/" sarasoop\r\n',
        b'* LIST (\\HasChildren) "/" zowie\r\n',
        b'* LIST (\\HasNoChildren) "/" zowie/bar\r\n'))
    session.expect("STATUS zowie/bar (MAILBOXID)", [
        b"* STATUS zowie/bar (MAILBOXID (" + mailbox_id + b"))\r\n",
        b"a OK STATUS completed\r\n"])
    session.expect("RENAME sarasoop zowie",
                   [b"a NO [ALREADYEXISTS] Target mailbox already exists\r\n"])
    session.expect("RENAME nothere x", [b"a NO [NONEXISTENT] No such mailbox\r\n"])
    session.expect("RENAME zowie zowie/inside",
                   [b"a NO [CANNOT] Can't rename a mailbox into itself\r\n"])
    session.expect("RENAME sarasoop baz/rag/zowie", [b"a OK RENAME completed\r\n"])
    session.expect('LIST "" baz*', [
        b'* LIST (\\HasChildren) "/" baz\r\n',
        b'* LIST (\\HasChildren) "/" baz/rag\r\n',
        b'* LIST (\\HasNoChildren) "/" baz/rag/zowie\r\n',
        b"a OK LIST completed\r\n"])


def test_rename_inbox(imap):
    """RFC 3501 §6.3.5 (Z432-Z434): renaming INBOX moves its messages to the new mailbox and
    leaves INBOX, empty; INBOX's inferiors are unaffected."""
    session = imap()
    session.run("CREATE INBOX/bar")
    for n in range(3):
        append(session, b"INBOX", short(f"inbox {n}"), flags=b"\\Flagged" if n == 1 else b"")
    session.expect("RENAME INBOX old-mail", [b"a OK RENAME completed\r\n"])
    session.expect('LIST "" *', listing(
        *DEFAULT_LIST[:2], *DEFAULT_LIST[3:],
        b'* LIST (\\HasChildren) "/" INBOX\r\n',
        b'* LIST (\\HasNoChildren) "/" INBOX/bar\r\n',
        b'* LIST (\\HasNoChildren) "/" old-mail\r\n'))
    session.expect("STATUS INBOX (MESSAGES UIDNEXT)", [
        b"* STATUS INBOX (MESSAGES 0 UIDNEXT 4)\r\n", b"a OK STATUS completed\r\n"])
    session.expect("EXAMINE old-mail", select_lines(3, unseen=1, read_only=True,
                                                   verb=b"EXAMINE"))
    session.expect("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])", [
        b"* 1 FETCH (FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {20}\r\n"
        b"Subject: inbox 0\r\n\r\n)\r\n",
        b"* 2 FETCH (FLAGS (\\Flagged) BODY[HEADER.FIELDS (SUBJECT)] {20}\r\n"
        b"Subject: inbox 1\r\n\r\n)\r\n",
        b"* 3 FETCH (FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {20}\r\n"
        b"Subject: inbox 2\r\n\r\n)\r\n",
        b"a OK FETCH completed\r\n"])
    # INBOX goes on taking mail, with UIDs above the moved ones.
    assert append(session, b"INBOX", short("new")) == 4


# ---------------------------------------------------------------------------------------------
# SUBSCRIBE, UNSUBSCRIBE, LSUB (RFC 3501 §6.3.6, §6.3.7, §6.3.9)


def test_subscribe_unsubscribe_lsub(imap):
    """RFC 3501 §6.3.6/§6.3.7 examples; LSUB lists the subscriptions; a subscription outlives
    its mailbox (§6.3.6: the server MUST NOT remove it unilaterally)."""
    session = imap()
    session.run("CREATE comp/mail/mime")
    session.run("CREATE comp/mail/misc")
    session.expect("SUBSCRIBE comp/mail/mime", [b"a OK SUBSCRIBE completed\r\n"])
    session.expect("SUBSCRIBE comp/mail/misc", [b"a OK SUBSCRIBE completed\r\n"])
    session.expect("SUBSCRIBE Sent", [b"a OK SUBSCRIBE completed\r\n"])
    session.expect('LSUB "" *', [
        b'* LSUB () "/" Sent\r\n',
        b'* LSUB () "/" comp/mail/mime\r\n',
        b'* LSUB () "/" comp/mail/misc\r\n',
        b"a OK LSUB completed\r\n"])
    # RFC 3501 §6.3.9 example A002, with "/" for ".".
    session.expect('LSUB "comp/" "mail/*"', [
        b'* LSUB () "/" comp/mail/mime\r\n',
        b'* LSUB () "/" comp/mail/misc\r\n',
        b"a OK LSUB completed\r\n"])
    session.expect("UNSUBSCRIBE comp/mail/misc", [b"a OK UNSUBSCRIBE completed\r\n"])
    session.expect("DELETE comp/mail/mime", [b"a OK DELETE completed\r\n"])
    session.expect('LSUB "" *', [
        b'* LSUB () "/" Sent\r\n',
        b'* LSUB (\\Noselect) "/" comp/mail/mime\r\n',
        b"a OK LSUB completed\r\n"])
    session.expect("SUBSCRIBE nothere", [b"a NO [NONEXISTENT] No such mailbox\r\n"])


def test_lsub_percent_returns_the_unsubscribed_parent(imap):
    """RFC 3501 §6.3.9: "Consider what happens if "foo/bar" (with a hierarchy delimiter of "/")
    is subscribed but "foo" is not.  A "%" wildcard to LSUB must return foo, not foo/bar, in
    the LSUB response, and it MUST be flagged with the \\Noselect attribute." (Example A003:
    LSUB "#news." "comp.%" → * LSUB (\\NoSelect) "." #news.comp.mail.)"""
    session = imap()
    soft = Soft()
    session.run("CREATE comp/mail/mime")
    session.run("SUBSCRIBE comp/mail/mime")
    soft.expect(session, 'LSUB "comp/" "%"', [
        b'* LSUB (\\Noselect) "/" comp/mail\r\n', b"a OK LSUB completed\r\n"])
    soft.expect(session, 'LSUB "" "%"', [
        b'* LSUB (\\Noselect) "/" comp\r\n', b"a OK LSUB completed\r\n"])
    soft.check()


# ---------------------------------------------------------------------------------------------
# LIST (RFC 3501 §6.3.8), LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348),
# LIST-STATUS (RFC 5819)


def fruit(session):
    """The hierarchy of RFC 5258 §5 example 1/2: Fruit/Apple, Fruit/Banana, Tofu,
    Vegetable/Broccoli, Vegetable/Corn; subscribed: INBOX, Fruit/Banana, Vegetable,
    Vegetable/Broccoli and the deleted Fruit/Peach."""
    for name in ("Fruit/Apple", "Fruit/Banana", "Fruit/Peach", "Tofu", "Vegetable/Broccoli",
                 "Vegetable/Corn"):
        session.run(f"CREATE {name}")
    for name in ("INBOX", "Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli"):
        session.run(f"SUBSCRIBE {name}")
    session.run("DELETE Fruit/Peach")


def test_list_wildcards_and_the_delimiter(imap):
    """RFC 3501 §6.3.8: LIST "" "" gives the delimiter and root; "*" and "%" wildcards, a
    reference name, INBOX matched case-insensitively (§5.1)."""
    session = imap()
    fruit(session)
    session.expect('LIST "" ""', [b'* LIST (\\Noselect) "/" ""\r\n', b"a OK LIST completed\r\n"])
    session.expect('LIST "" %', listing(
        *DEFAULT_LIST,
        b'* LIST (\\HasChildren) "/" Fruit\r\n',
        b'* LIST (\\HasNoChildren) "/" Tofu\r\n',
        b'* LIST (\\HasChildren) "/" Vegetable\r\n'))
    session.expect('LIST "" Fruit/*', [
        b'* LIST (\\HasNoChildren) "/" Fruit/Apple\r\n',
        b'* LIST (\\HasNoChildren) "/" Fruit/Banana\r\n',
        b"a OK LIST completed\r\n"])
    session.expect('LIST Vegetable/ %', [
        b'* LIST (\\HasNoChildren) "/" Vegetable/Broccoli\r\n',
        b'* LIST (\\HasNoChildren) "/" Vegetable/Corn\r\n',
        b"a OK LIST completed\r\n"])
    session.expect('LIST "" *o*', [
        b'* LIST (\\HasNoChildren) "/" Tofu\r\n',
        b'* LIST (\\HasNoChildren) "/" Vegetable/Broccoli\r\n',
        b'* LIST (\\HasNoChildren) "/" Vegetable/Corn\r\n',
        b"a OK LIST completed\r\n"])
    session.expect('LIST "" inbox', [b'* LIST (\\HasNoChildren) "/" INBOX\r\n',
                                     b"a OK LIST completed\r\n"])
    session.expect('LIST "" nothing%', [b"a OK LIST completed\r\n"])


def test_list_extended_subscribed_selection(imap):
    """RFC 5258 §5 examples 2 and 6: LIST (SUBSCRIBED) lists subscribed names (a deleted one
    as \\NonExistent); RETURN (SUBSCRIBED) marks them among all mailboxes."""
    session = imap()
    fruit(session)
    session.expect('LIST (SUBSCRIBED) "" "*"', [
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Fruit/Banana\r\n',
        b'* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" Fruit/Peach\r\n',
        b'* LIST (\\HasNoChildren \\Subscribed) "/" INBOX\r\n',
        b'* LIST (\\HasChildren \\Subscribed) "/" Vegetable\r\n',
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Vegetable/Broccoli\r\n',
        b"a OK LIST completed\r\n"])
    session.expect('LIST () "" "*" RETURN (SUBSCRIBED)', listing(
        *DEFAULT_LIST[:2], *DEFAULT_LIST[3:],
        b'* LIST (\\HasChildren) "/" Fruit\r\n',
        b'* LIST (\\HasNoChildren) "/" Fruit/Apple\r\n',
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Fruit/Banana\r\n',
        b'* LIST (\\HasNoChildren \\Subscribed) "/" INBOX\r\n',
        b'* LIST (\\HasNoChildren) "/" Tofu\r\n',
        b'* LIST (\\HasChildren \\Subscribed) "/" Vegetable\r\n',
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Vegetable/Broccoli\r\n',
        b'* LIST (\\HasNoChildren) "/" Vegetable/Corn\r\n'))
    # Example 3: RETURN (CHILDREN); example 7: several patterns, one response per name.
    session.expect('LIST () "" "%" RETURN (CHILDREN)', listing(
        *DEFAULT_LIST,
        b'* LIST (\\HasChildren) "/" Fruit\r\n',
        b'* LIST (\\HasNoChildren) "/" Tofu\r\n',
        b'* LIST (\\HasChildren) "/" Vegetable\r\n'))
    session.expect('LIST "" ("INBOX" "Drafts" "Fruit/%" "Fru*")', [
        b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts\r\n',
        b'* LIST (\\HasChildren) "/" Fruit\r\n',
        b'* LIST (\\HasNoChildren) "/" Fruit/Apple\r\n',
        b'* LIST (\\HasNoChildren) "/" Fruit/Banana\r\n',
        b'* LIST (\\HasNoChildren) "/" INBOX\r\n',
        b"a OK LIST completed\r\n"])
    # RFC 5258 §5 example 8A: nothing matches "%" among the subscriptions.
    session.run("UNSUBSCRIBE INBOX")
    session.run("UNSUBSCRIBE Vegetable")
    session.expect('LIST (SUBSCRIBED) "" "%"', [b"a OK LIST completed\r\n"])
    # §3.1: unknown options are BAD, RECURSIVEMATCH alone is BAD.
    session.expect('LIST (FOO) "" "*"', [b"a BAD unknown LIST selection option\r\n"])
    session.expect('LIST (RECURSIVEMATCH) "" "*"', [b"a BAD RECURSIVEMATCH needs SUBSCRIBED\r\n"])
    session.expect('LIST "" "*" RETURN (FOO)', [b"a BAD unknown LIST return option\r\n"])


def test_list_extended_recursivematch_childinfo(imap):
    """RFC 5258 §3.1 RECURSIVEMATCH and §3.5 CHILDINFO, §5 example 8: with "Foo/Baz" the only
    subscription, C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" answers
    * LIST () "/" "Foo" ("CHILDINFO" ("SUBSCRIBED")). "RECURSIVEMATCH - this option forces the
    server to return information about parent mailboxes that don't match other selection
    options, but have some submailboxes that do." """
    session = imap()
    for name in ("Foo/Bar", "Foo/Baz", "Moo"):
        session.run(f"CREATE {name}")
    session.run("SUBSCRIBE Foo/Baz")
    session.expect('LIST (SUBSCRIBED) "" "*"', [
        b'* LIST (\\HasNoChildren \\Subscribed) "/" Foo/Baz\r\n', b"a OK LIST completed\r\n"])
    session.expect('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"', [
        b'* LIST (\\HasChildren) "/" Foo ("CHILDINFO" ("SUBSCRIBED"))\r\n',
        b"a OK LIST completed\r\n"])


def test_list_extended_empty_pattern_is_not_the_delimiter_query(imap):
    """RFC 5258 §3: "ANY extended LIST command ... MUST NOT treat the empty mailbox name as
    such a special request [for the hierarchy delimiter]"; with no mailbox named "", the answer
    is no LIST response at all."""
    session = imap()
    soft = Soft()
    soft.expect(session, 'LIST () "" ""', [b"a OK LIST completed\r\n"])
    soft.expect(session, 'LIST "" "" RETURN (CHILDREN)', [b"a OK LIST completed\r\n"])
    soft.check()


def test_list_special_use(imap):
    """RFC 6154 §5.1 and §5.2: special-use attributes on the default mailboxes; the SPECIAL-USE
    selection option lists only those (the return option is implied)."""
    session = imap()
    session.run("CREATE ToDo")
    session.expect('LIST "" "%" RETURN (SPECIAL-USE)', listing(
        *DEFAULT_LIST, b'* LIST (\\HasNoChildren) "/" ToDo\r\n'))
    session.expect('LIST (SPECIAL-USE) "" "*"', [
        DEFAULT_LIST[0], DEFAULT_LIST[1], DEFAULT_LIST[3], DEFAULT_LIST[4], DEFAULT_LIST[5],
        b"a OK LIST completed\r\n"])
    session.expect('LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES))', [
        DEFAULT_LIST[0], b"* STATUS Archive (MESSAGES 0)\r\n",
        DEFAULT_LIST[1], b"* STATUS Drafts (MESSAGES 0)\r\n",
        DEFAULT_LIST[3], b"* STATUS Junk (MESSAGES 0)\r\n",
        DEFAULT_LIST[4], b"* STATUS Sent (MESSAGES 0)\r\n",
        DEFAULT_LIST[5], b"* STATUS Trash (MESSAGES 0)\r\n",
        b"a OK LIST completed\r\n"])


def test_create_special_use(imap):
    """RFC 6154 §3 and §5.3 example (CREATE-SPECIAL-USE): CREATE ... (USE (...)) marks the new
    mailbox; a use the server can't give is NO [USEATTR] and nothing is created (the server
    keeps one mailbox per use and one use per mailbox, which §3 allows); the use follows a
    RENAME."""
    session = imap()
    session.expect(r"CREATE MySpecial (USE (\Drafts \Sent))",
                   [b"t2 NO [USEATTR] One special-use attribute per mailbox\r\n"], tag="t2")
    session.expect(r"CREATE Everything (USE (\All))",
                   [b"t3 NO [USEATTR] Unsupported special-use attribute\r\n"], tag="t3")
    session.expect(r"CREATE MyDrafts (USE (\Drafts))",
                   [b"a NO [USEATTR] Another mailbox has that special-use attribute\r\n"])
    session.expect("DELETE Archive", [b"a OK DELETE completed\r\n"])
    session.expect(r"CREATE Old/Mail (USE (\Archive))",
                   [T(b"a OK [MAILBOXID ({ID})] CREATE completed\r\n")])
    session.expect("RENAME Sent Outbox", [b"a OK RENAME completed\r\n"])
    session.expect('LIST (SPECIAL-USE) "" "*"', listing(
        DEFAULT_LIST[1], DEFAULT_LIST[3], DEFAULT_LIST[5],
        b'* LIST (\\HasNoChildren \\Archive) "/" Old/Mail\r\n',
        b'* LIST (\\HasNoChildren \\Sent) "/" Outbox\r\n'))
    session.expect('LIST "" "Old*"', [b'* LIST (\\HasChildren) "/" Old\r\n',
                                      b'* LIST (\\HasNoChildren \\Archive) "/" Old/Mail\r\n',
                                      b"a OK LIST completed\r\n"])


def test_list_status(imap):
    """RFC 5819 §3 example: each selectable mailbox's LIST is followed by its STATUS; a
    \\Noselect name gets no STATUS."""
    session = imap()
    session.run("CREATE foo")
    session.run("CREATE bar/baz")
    session.run("DELETE bar")
    for n in range(3):
        append(session, b"INBOX", short(f"m{n}"), flags=b"\\Seen" if n == 0 else b"")
    append(session, b"foo", short("f"))
    session.expect('LIST "" % RETURN (STATUS (MESSAGES UNSEEN))', listing(
        (DEFAULT_LIST[0], b"* STATUS Archive (MESSAGES 0 UNSEEN 0)\r\n"),
        (DEFAULT_LIST[1], b"* STATUS Drafts (MESSAGES 0 UNSEEN 0)\r\n"),
        (DEFAULT_LIST[2], b"* STATUS INBOX (MESSAGES 3 UNSEEN 2)\r\n"),
        (DEFAULT_LIST[3], b"* STATUS Junk (MESSAGES 0 UNSEEN 0)\r\n"),
        (DEFAULT_LIST[4], b"* STATUS Sent (MESSAGES 0 UNSEEN 0)\r\n"),
        (DEFAULT_LIST[5], b"* STATUS Trash (MESSAGES 0 UNSEEN 0)\r\n"),
        b'* LIST (\\Noselect \\HasChildren) "/" bar\r\n',
        (b'* LIST (\\HasNoChildren) "/" foo\r\n', b"* STATUS foo (MESSAGES 1 UNSEEN 1)\r\n")))
    # RFC 8474 §4.3 example 11: LIST ... RETURN (STATUS (MAILBOXID)).
    session.expect('LIST "" foo RETURN (STATUS (MAILBOXID UIDNEXT))', [
        b'* LIST (\\HasNoChildren) "/" foo\r\n',
        T(b"* STATUS foo (MAILBOXID ({ID}) UIDNEXT 2)\r\n"),
        b"a OK LIST completed\r\n"])


# ---------------------------------------------------------------------------------------------
# STATUS (RFC 3501 §6.3.10, RFC 7162 §3.1.7, RFC 8438, RFC 9208 §4.1.4, RFC 7889, RFC 8474)


def test_status_every_item(imap):
    """RFC 3501 §6.3.10 example A042 and every item: MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN,
    DELETED (RFC 9208 §4.1.4), SIZE (RFC 8438 §2), HIGHESTMODSEQ (RFC 7162 §3.1.7),
    APPENDLIMIT (RFC 7889 §2), MAILBOXID (RFC 8474 §4.3)."""
    session = imap()
    session.run("CREATE blurdybloop")
    messages = [short("one"), short("two", body="a longer body\n"), short("three")]
    append(session, b"blurdybloop", messages[0], flags=b"\\Seen \\Deleted")
    append(session, b"blurdybloop", messages[1])
    append(session, b"blurdybloop", messages[2], flags=b"\\Deleted")
    session.expect("STATUS blurdybloop (UIDNEXT MESSAGES)", [
        b"* STATUS blurdybloop (UIDNEXT 4 MESSAGES 3)\r\n", b"a OK STATUS completed\r\n"])
    size = sum(len(m) for m in messages)
    session.expect(
        "STATUS blurdybloop (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ"
        " APPENDLIMIT MAILBOXID)", [
            T(b"* STATUS blurdybloop (MESSAGES 3 UIDNEXT 4 UIDVALIDITY {N} UNSEEN 2 DELETED 2"
              b" SIZE %d HIGHESTMODSEQ {N} APPENDLIMIT 67108864 MAILBOXID ({ID}))\r\n" % size),
            b"a OK STATUS completed\r\n"])
    session.expect("STATUS nothere (MESSAGES)", [b"a NO [NONEXISTENT] No such mailbox\r\n"])
    session.expect("STATUS blurdybloop (BOGUS)", [T(b"a BAD {TEXT}\r\n")])


def test_status_recent(imap):
    """RFC 3501 §6.3.10: "RECENT The number of messages with the \\Recent flag set." Messages
    no session has seen yet are recent (the SELECT that follows reports them), and STATUS
    "MUST NOT cause messages to lose the \\Recent flag"."""
    session = imap()
    append(session, b"INBOX", short("one"))
    append(session, b"INBOX", short("two"))
    session.expect("STATUS INBOX (MESSAGES RECENT)", [
        b"* STATUS INBOX (MESSAGES 2 RECENT 2)\r\n", b"a OK STATUS completed\r\n"])
    session.expect("SELECT INBOX", select_lines(2, recent=2, unseen=1))


# ---------------------------------------------------------------------------------------------
# APPEND (RFC 3501 §6.3.11), MULTIAPPEND (RFC 3502), UIDPLUS (RFC 4315), LITERAL+ (RFC 7888),
# BINARY literal8 (RFC 3516 §4.4)

RFC3501_APPEND = crlf(
    """Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.COM>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu
Message-Id: <B27397-0100000@Blurdybloop.COM>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
"""
)
RFC3502_FIRST = crlf(
    """Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.example.COM>
Subject: afternoon meeting
To: mooch@owatagu.example.net
Message-Id: <B27397-0100000@Blurdybloop.example.COM>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
"""
)
RFC3502_SECOND = crlf(
    """Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)
From: Joe Mooch <mooch@OWaTaGu.example.net>
Subject: Re: afternoon meeting
To: foobar@blurdybloop.example.com
Message-Id: <a0434793874930@OWaTaGu.example.net>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

3:30 is fine with me.
"""
)


def test_append_rfc3501_example(imap):
    """RFC 3501 §6.3.11 example A003 (a 310-octet literal, synchronising), with RFC 4315 §3
    APPENDUID; flags and the message read back byte for byte."""
    assert len(RFC3501_APPEND) == 310
    session = imap()
    session.run("CREATE saved-messages")
    session.send(b"A003 APPEND saved-messages (\\Seen) {310}\r\n")
    assert session.response() == b"+ Ready for literal data\r\n"
    session.send(RFC3501_APPEND + b"\r\n")
    (validity,) = matches([T(b"A003 OK [APPENDUID {N} 1] APPEND completed\r\n")],
                          session.until_tagged("A003"))
    session.expect("STATUS saved-messages (UIDVALIDITY)", [
        b"* STATUS saved-messages (UIDVALIDITY " + validity + b")\r\n",
        b"a OK STATUS completed\r\n"])
    session.expect("EXAMINE saved-messages", select_lines(1, read_only=True, verb=b"EXAMINE"))
    session.expect("FETCH 1 (FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])", [
        T(b'* 1 FETCH (FLAGS (\\Seen) RFC822.SIZE 310 INTERNALDATE "{DATE}" BODY[] '
          + literal(RFC3501_APPEND) + b")\r\n"),
        b"a OK FETCH completed\r\n"])


def test_append_flags_date_and_literal_plus(imap):
    """RFC 3501 §6.3.11: flags and date-time are set on the new message (a new keyword joins
    FLAGS/PERMANENTFLAGS of a selected mailbox, the EXISTS comes before the tagged OK);
    RFC 7888 LITERAL+ needs no continuation; RFC 3516 §4.4 literal8 is accepted."""
    session = imap()
    session.expect("SELECT Drafts", select_lines(0))
    message = short("dated")
    session.expect(b'APPEND Drafts (\\Draft $Label1) " 7-Feb-1994 22:43:04 -0800" {%d+}\r\n'
                   % len(message) + message, [
                       b"* 1 EXISTS\r\n",
                       b"* 1 RECENT\r\n",
                       b"* FLAGS (" + SYSTEM_FLAGS + b" $Label1)\r\n",
                       b"* OK [PERMANENTFLAGS (" + SYSTEM_FLAGS + b" $Label1 \\*)]"
                       b" Flags permitted\r\n",
                       T(b"a OK [APPENDUID {N} 1] APPEND completed\r\n")])
    session.expect(b"APPEND Drafts ~{%d+}\r\n" % len(message) + message, [
        b"* 2 EXISTS\r\n", b"* 2 RECENT\r\n", T(b"a OK [APPENDUID {N} 2] APPEND completed\r\n")])
    session.expect("FETCH 1:2 (FLAGS INTERNALDATE)", [
        b'* 1 FETCH (FLAGS (\\Draft \\Recent $Label1) INTERNALDATE "08-Feb-1994 06:43:04 +0000")'
        b"\r\n",
        T(b'* 2 FETCH (FLAGS (\\Recent) INTERNALDATE "{DATE}")\r\n'),
        b"a OK FETCH completed\r\n"])


def test_append_to_a_missing_mailbox(imap):
    """RFC 3502 §3 example A004 (also RFC 3501 §6.3.11): NO [TRYCREATE] before the literal is
    sent; the connection goes on."""
    session = imap()
    session.send(b"A004 APPEND bogusname (\\Flagged) {1023}\r\n")
    assert session.until_tagged("A004") == [b"A004 NO [TRYCREATE] No such mailbox\r\n"]
    session.expect("NOOP", [b"a OK NOOP completed\r\n"])
    session.expect(b"APPEND bogusname {5+}\r\nhello", [b"a NO [TRYCREATE] No such mailbox\r\n"])
    session.expect("NOOP", [b"a OK NOOP completed\r\n"])


def test_multiappend_rfc3502_example(imap):
    """RFC 3502 §3 example A003: two messages in one command, synchronising literals, flags and
    a date-time on the second; RFC 3502 §6 / RFC 4315: APPENDUID names both UIDs."""
    assert (len(RFC3502_FIRST), len(RFC3502_SECOND)) == (329, 295)
    session = imap()
    session.run("CREATE saved-messages")
    session.send(b"A003 APPEND saved-messages (\\Seen) {329}\r\n")
    assert session.response() == b"+ Ready for literal data\r\n"
    session.send(RFC3502_FIRST + b' (\\Seen) " 7-Feb-1994 22:43:04 -0800" {295}\r\n')
    assert session.response() == b"+ Ready for literal data\r\n"
    session.send(RFC3502_SECOND + b"\r\n")
    matches([T(b"A003 OK [APPENDUID {N} 1:2] APPEND completed\r\n")],
            session.until_tagged("A003"))
    session.expect("EXAMINE saved-messages", select_lines(2, read_only=True, verb=b"EXAMINE"))
    session.expect("FETCH 1:2 (FLAGS INTERNALDATE BODY.PEEK[])", [
        T(b'* 1 FETCH (FLAGS (\\Seen) INTERNALDATE "{DATE}" BODY[] ' + literal(RFC3502_FIRST)
          + b")\r\n"),
        b'* 2 FETCH (FLAGS (\\Seen) INTERNALDATE "08-Feb-1994 06:43:04 +0000" BODY[] '
        + literal(RFC3502_SECOND) + b")\r\n",
        b"a OK FETCH completed\r\n"])


def test_multiappend_is_all_or_nothing(imap):
    """RFC 3502 §3: "If the append is unsuccessful for any reason (including being cancelled),
    the mailbox MUST be restored to its state before the APPEND attempt; no partial appending
    is permitted." A bad flag or date-time in the second message fails the whole command."""
    session = imap()
    one, two = short("one"), short("two")
    session.expect(b"APPEND Drafts {%d+}\r\n%s (\\Recent) {%d+}\r\n%s"
                   % (len(one), one, len(two), two), [b"a BAD \\Recent cannot be set\r\n"])
    session.expect(b'APPEND Drafts {%d+}\r\n%s "31-Feb-2026 10:00:00 +0000" {%d+}\r\n%s'
                   % (len(one), one, len(two), two), [b"a BAD invalid date-time\r\n"])
    session.expect("STATUS Drafts (MESSAGES UIDNEXT)", [
        b"* STATUS Drafts (MESSAGES 0 UIDNEXT 1)\r\n", b"a OK STATUS completed\r\n"])


def test_append_zero_length_literal_is_refused(imap):
    """RFC 3502 §3 (APPEND as MULTIAPPEND redefines it): "A zero-length message literal
    argument is an error, and MUST return a NO.  This can be used to cancel the append." —
    and the cancelled MULTIAPPEND leaves the mailbox as it was."""
    session = imap()
    soft = Soft()
    one = short("one")
    soft.expect(session, b"APPEND Drafts {0+}\r\n", [T(b"a NO {TEXT}\r\n")])
    soft.expect(session, b"APPEND Drafts {%d+}\r\n%s {0+}\r\n" % (len(one), one),
                         [T(b"a NO {TEXT}\r\n")])
    soft.expect(session, "STATUS Drafts (MESSAGES)", [
        b"* STATUS Drafts (MESSAGES 0)\r\n", b"a OK STATUS completed\r\n"])
    soft.check()


def test_fetch_never_sends_nul_in_a_literal(imap):
    """RFC 3501 §9: literal = "{" number "}" CRLF *CHAR8, CHAR8 = %x01-ff ("any OCTET except
    NUL"). A message APPENDed as literal8 with NULs in a binary part (RFC 3516 §4.4) must come
    back from BODY[] in a form IMAP4rev1 allows (§6: "as though the binary-encoded sections
    are encoded in a CTE acceptable to the IMAP4 base specification"); only BINARY[] may use
    literal8."""
    session = imap()
    message = crlf("From: a@example.org\nSubject: bin\nMIME-Version: 1.0\n"
                   "Content-Type: application/octet-stream\n"
                   "Content-Transfer-Encoding: binary\n\n") + b"\x00\x01\x02zero\r\n"
    append_line = b"APPEND Drafts ~{%d+}\r\n" % len(message) + message
    matches([T(b"a OK [APPENDUID {N} 1] APPEND completed\r\n")], session.run(append_line))
    session.run("EXAMINE Drafts")
    session.expect("FETCH 1 (BINARY.PEEK[1])", [
        b"* 1 FETCH (BINARY[1] ~{9}\r\n\x00\x01\x02zero\r\n)\r\n", b"a OK FETCH completed\r\n"])
    lines = session.run("FETCH 1 (BODY.PEEK[] BODY.PEEK[1])")
    assert lines[-1] == b"a OK FETCH completed\r\n", lines
    assert b"\x00" not in b"".join(lines), lines


# ---------------------------------------------------------------------------------------------
# CHECK, CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE (RFC 3501 §6.4.1-3, RFC 3691, RFC 4315 §2.1)


def eleven(session, mailbox=b"INBOX"):
    for n in range(1, 12):
        append(session, mailbox, short(f"message {n}"))


def test_check_close_unselect(imap):
    """RFC 3501 §6.4.1 CHECK; §6.4.2 CLOSE expunges \\Deleted messages silently (no EXPUNGE
    responses) and only when read-write; RFC 3691 UNSELECT leaves them."""
    session = imap()
    for n in range(4):
        append(session, b"INBOX", short(f"m{n}"), flags=b"\\Deleted" if n % 2 else b"")
    session.run("EXAMINE INBOX")
    session.expect("CHECK", [b"FXXZ OK CHECK completed\r\n"], tag="FXXZ")
    session.expect("CLOSE", [b"A341 OK CLOSE completed\r\n"], tag="A341")
    session.expect("STATUS INBOX (MESSAGES DELETED)", [
        b"* STATUS INBOX (MESSAGES 4 DELETED 2)\r\n", b"a OK STATUS completed\r\n"])
    session.run("SELECT INBOX")
    session.expect("UNSELECT", [b"A342 OK UNSELECT completed\r\n"], tag="A342")
    session.expect("FETCH 1 FLAGS", [b"a BAD No mailbox selected\r\n"])
    session.expect("STATUS INBOX (MESSAGES DELETED)", [
        b"* STATUS INBOX (MESSAGES 4 DELETED 2)\r\n", b"a OK STATUS completed\r\n"])
    session.run("SELECT INBOX")
    session.expect("CLOSE", [b"a OK CLOSE completed\r\n"])
    session.expect("STATUS INBOX (MESSAGES DELETED UIDNEXT)", [
        b"* STATUS INBOX (MESSAGES 2 DELETED 0 UIDNEXT 5)\r\n", b"a OK STATUS completed\r\n"])
    session.expect("EXAMINE INBOX", select_lines(2, unseen=1, uidnext=5, read_only=True,
                                                   verb=b"EXAMINE"))
    session.expect("UID FETCH 1:* (UID)", [
        b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n", b"a OK FETCH completed\r\n"])


def test_expunge_rfc3501_example(imap):
    """RFC 3501 §6.4.3 example A202: messages 3, 4, 7 and 11 of eleven are \\Deleted →
    * 3 EXPUNGE, * 3 EXPUNGE, * 5 EXPUNGE, * 8 EXPUNGE (§7.4.1: each decrements the numbers
    that follow). Read-only: NO."""
    session = imap()
    eleven(session)
    session.run("SELECT INBOX")
    session.expect("STORE 3,4,7,11 +FLAGS.SILENT (\\Deleted)", [b"a OK STORE completed\r\n"])
    session.expect("EXPUNGE", [b"* 3 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n", b"* 5 EXPUNGE\r\n",
                               b"* 8 EXPUNGE\r\n", b"A202 OK EXPUNGE completed\r\n"], tag="A202")
    session.expect("EXPUNGE", [b"a OK EXPUNGE completed\r\n"])
    session.expect("UID SEARCH ALL", [b"* SEARCH 1 2 5 6 8 9 10\r\n",
                                      b"a OK SEARCH completed\r\n"])
    session.run("EXAMINE INBOX")
    session.expect("EXPUNGE", [b"a NO [READ-ONLY] Mailbox is read-only\r\n"])


def test_uid_expunge_rfc4315_example(imap):
    """RFC 4315 §2.1 example (UID EXPUNGE 3000:3002 → * 3 EXPUNGE ×3): only \\Deleted messages
    whose UID is in the set go."""
    session = imap()
    for n in range(6):
        append(session, b"INBOX", short(f"m{n}"))
    session.run("SELECT INBOX")
    session.run("STORE 3:6 +FLAGS.SILENT (\\Deleted)")
    session.expect("UID EXPUNGE 3:5", [b"* 3 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n",
                                       b"* 3 EXPUNGE\r\n", b"A003 OK EXPUNGE completed\r\n"],
                   tag="A003")
    session.expect("UID SEARCH DELETED", [b"* SEARCH 6\r\n", b"a OK SEARCH completed\r\n"])
    session.expect("UID EXPUNGE 1:2", [b"a OK EXPUNGE completed\r\n"])


def test_expunges_wait_for_a_command_that_allows_them(imap):
    """RFC 3501 §7.4.1: "An EXPUNGE response MUST NOT be sent when no command is in progress,
    nor while responding to a FETCH, STORE, or SEARCH command." Until then the expunged
    message keeps its number and is skipped (RFC 2180 §4.1.1, §4.2.1); EXISTS may come at any
    time; the next NOOP sends the EXPUNGE."""
    session = imap()
    for n in range(1, 4):
        append(session, b"INBOX", short(f"m{n}"))
    other = imap()
    session.expect("SELECT INBOX", select_lines(3, recent=3, unseen=1))
    other.run("SELECT INBOX")
    other.run("STORE 2 +FLAGS.SILENT (\\Deleted)")
    other.run("EXPUNGE")
    append(other, b"INBOX", short("m4"))
    session.expect("FETCH 1:3 (UID)", [b"* 1 FETCH (UID 1)\r\n", b"* 3 FETCH (UID 3)\r\n",
                                       b"* 4 EXISTS\r\n", b"* 3 RECENT\r\n",
                                       b"a OK FETCH completed\r\n"])
    session.expect("STORE 1:3 +FLAGS (\\Seen)", [
        b"* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n", b"* 3 FETCH (FLAGS (\\Seen \\Recent))\r\n",
        b"a OK STORE completed\r\n"])
    session.expect("SEARCH ALL", [b"* SEARCH 1 3 4\r\n", b"a OK SEARCH completed\r\n"])
    session.expect("NOOP", [b"* 2 EXPUNGE\r\n", b"a OK NOOP completed\r\n"])
    session.expect("FETCH 1:* (UID)", [b"* 1 FETCH (UID 1)\r\n", b"* 2 FETCH (UID 3)\r\n",
                                       b"* 3 FETCH (UID 4)\r\n", b"a OK FETCH completed\r\n"])


# ---------------------------------------------------------------------------------------------
# SEARCH (RFC 3501 §6.4.4, RFC 9051 §6.4.4), ESEARCH (RFC 4731), SEARCHRES (RFC 5182)

SEARCH_MESSAGES = [
    # (message, flags, internal date)
    (crlf("From: Smith <smith@example.org>\nTo: alice@example.test\nCc: carol@example.org\n"
          "Subject: budget 1994\nDate: Sat, 05 Feb 1994 10:00:00 +0000\n\nNumbers attached.\n"),
     b"\\Flagged", b"05-Feb-1994 12:00:00 +0000"),
    (crlf("From: Jones <jones@example.org>\nTo: bob@example.test\nSubject: Re: budget\n"
          "X-Mailer: Tester\nDate: Thu, 10 Mar 1994 09:00:00 +0000\n\nSee you at lunch.\n"),
     b"\\Flagged \\Seen", b"10-Mar-1994 12:00:00 +0000"),
    (crlf("From: Brown <brown@example.org>\nTo: alice@example.test\nBcc: secret@example.org\n"
          "Subject: lunch\nDate: Thu, 20 Jan 1994 09:00:00 +0000\nMIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
          "Lunch is at noon. Caf\u00e9?\n"),
     b"\\Answered", b"20-Jan-1994 12:00:00 +0000"),
    (crlf("From: Jones <jones@example.org>\nSubject: old news\n"
          "Date: Sat, 15 Jan 1994 09:00:00 +0000\n\nNothing new.\n"),
     b"\\Flagged \\Deleted", b"15-Jan-1994 12:00:00 +0000"),
    (crlf("From: Smith <smith@example.org>\nSubject: Draft report\n"
          "Date: Tue, 01 Feb 1994 09:00:00 +0000\n\n" + "x" * 2000 + "\n"),
     b"\\Draft $Work", b"01-Feb-1994 12:00:00 +0000"),
]


def search_corpus(session, mailbox=b"INBOX"):
    for message, flags, date in SEARCH_MESSAGES:
        append(session, mailbox, message, flags=flags, date=date)


def search_line(numbers):
    return b"* SEARCH" + b"".join(b" %d" % n for n in numbers) + b"\r\n"


def test_search_rfc3501_examples(imap):
    """RFC 3501 §6.4.4 examples A282, A283 and A284 (CHARSET UTF-8 with a synchronising
    literal)."""
    session = imap()
    search_corpus(session)
    session.run("SELECT INBOX")
    session.expect('SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
                   [b"* SEARCH 2\r\n", b"A282 OK SEARCH completed\r\n"], tag="A282")
    session.expect('SEARCH TEXT "string not in mailbox"',
                   [b"* SEARCH\r\n", b"A283 OK SEARCH completed\r\n"], tag="A283")
    needle = "Café".encode()
    session.send(b"A284 SEARCH CHARSET UTF-8 TEXT {%d}\r\n" % len(needle))
    assert session.response() == b"+ Ready for literal data\r\n"
    session.send(needle + b"\r\n")
    assert session.until_tagged("A284") == [b"* SEARCH 3\r\n", b"A284 OK SEARCH completed\r\n"]


def test_search_every_key(imap):
    """RFC 3501 §6.4.4: every search key with data that tells them apart — flags, keywords,
    \\Recent/NEW/OLD, sizes, internal and sent dates, addresses, subject, header, body and
    text, sequence and UID sets, NOT/OR/parentheses."""
    session = imap()
    search_corpus(session)
    session.run("SELECT INBOX")
    sizes = [len(m) for m, _, _ in SEARCH_MESSAGES]
    cases = [
        ("ALL", [1, 2, 3, 4, 5]),
        ("ANSWERED", [3]), ("UNANSWERED", [1, 2, 4, 5]),
        ("DELETED", [4]), ("UNDELETED", [1, 2, 3, 5]),
        ("DRAFT", [5]), ("UNDRAFT", [1, 2, 3, 4]),
        ("FLAGGED", [1, 2, 4]), ("UNFLAGGED", [3, 5]),
        ("SEEN", [2]), ("UNSEEN", [1, 3, 4, 5]),
        ("KEYWORD $Work", [5]), ("UNKEYWORD $Work", [1, 2, 3, 4]),
        ("KEYWORD $Other", []),
        ("RECENT", [1, 2, 3, 4, 5]), ("NEW", [1, 3, 4, 5]), ("OLD", []),
        (f"LARGER {sizes[1]}", [n + 1 for n, s in enumerate(sizes) if s > sizes[1]]),
        (f"SMALLER {sizes[1]}", [n + 1 for n, s in enumerate(sizes) if s < sizes[1]]),
        ("BEFORE 1-Feb-1994", [3, 4]), ("ON 1-Feb-1994", [5]), ("SINCE 1-Feb-1994", [1, 2, 5]),
        ("SENTBEFORE 1-Feb-1994", [3, 4]), ("SENTON 5-Feb-1994", [1]),
        ("SENTSINCE 10-Mar-1994", [2]),
        ("FROM smith", [1, 5]), ("FROM JONES@EXAMPLE.ORG", [2, 4]), ("TO bob", [2]),
        ("CC carol", [1]), ("BCC secret", [3]), ("SUBJECT budget", [1, 2]),
        ('SUBJECT "re: BUDGET"', [2]), ("HEADER X-Mailer tester", [2]),
        ('HEADER X-Mailer ""', [2]), ('HEADER Content-Type "utf-8"', [3]),
        ("BODY lunch", [2, 3]), ("BODY budget", []), ("TEXT budget", [1, 2]),
        ("TEXT xxxxxxxxxx", [5]),
        ("2,4:*", [2, 4, 5]), ("UID 2:3", [2, 3]), ("*", [5]), ("1:3 UID 3:*", [3]),
        ("OR FROM smith TO bob", [1, 2, 5]), ("NOT (OR FLAGGED SEEN)", [3, 5]),
        ("OR (OR ANSWERED DRAFT) DELETED", [3, 4, 5]),
        ("(FLAGGED SINCE 1-Feb-1994) NOT SEEN", [1]),
        ("NOT NOT NOT DELETED", [1, 2, 3, 5]),
        ("OR NOT FLAGGED (SEEN FROM jones)", [2, 3, 5]),
        ("99", []), ("UID 99", []),
    ]
    for criteria, numbers in cases:
        session.expect(f"SEARCH {criteria}", [search_line(numbers), b"a OK SEARCH completed\r\n"])
    session.expect("UID SEARCH 3:4 FLAGGED", [b"* SEARCH 4\r\n", b"a OK SEARCH completed\r\n"])
    # Another session holds no \Recent.
    other = imap()
    other.run("EXAMINE INBOX")
    other.expect("SEARCH RECENT", [b"* SEARCH\r\n", b"a OK SEARCH completed\r\n"])
    other.expect("SEARCH OLD", [search_line([1, 2, 3, 4, 5]), b"a OK SEARCH completed\r\n"])
    other.expect("SEARCH BOGUS", [b"a BAD unknown search key\r\n"])


def test_search_sent_dates_disregard_the_timezone(imap):
    """RFC 3501 §6.4.4 SENTON/SENTBEFORE/SENTSINCE: "Messages whose [RFC-2822] Date: header
    (disregarding time and timezone) is within the specified date." The Date below is
    24 Nov 2026 in its own zone (25 Nov only once converted to UTC)."""
    session = imap()
    append(session, b"INBOX", short("late", extra="Date: Tue, 24 Nov 2026 23:30:00 -0500\n"))
    session.run("SELECT INBOX")
    session.expect("SEARCH SENTON 24-Nov-2026", [b"* SEARCH 1\r\n", b"a OK SEARCH completed\r\n"])
    session.expect("SEARCH SENTBEFORE 25-Nov-2026",
                   [b"* SEARCH 1\r\n", b"a OK SEARCH completed\r\n"])


def test_search_unknown_charset(imap):
    """RFC 3501 §6.4.4: "If the server does not support the specified [CHARSET], it MUST return
    a tagged NO response (not a BAD).  This response SHOULD contain the BADCHARSET response
    code" (RFC 5182 example 5: B283 NO [BADCHARSET UTF-8] KOI8-R is not supported)."""
    session = imap()
    append(session, b"INBOX", short("x"))
    session.run("SELECT INBOX")
    session.expect("SEARCH CHARSET US-ASCII ALL", [b"* SEARCH 1\r\n",
                                                   b"a OK SEARCH completed\r\n"])
    session.expect("SEARCH CHARSET X-NO-SUCH-CHARSET SUBJECT x",
                   [T(b"a NO [BADCHARSET{TEXT}] {TEXT}\r\n")])


def test_search_decodes_mime_in_imap4rev2(imap):
    """RFC 9051 §6.4.4: "[MIME-IMB] content transfer encodings and [MIME-HDRS] strings in
    [RFC5322]/[MIME-IMB] headers MUST be decoded before comparing text." (IMAP4rev2, which
    the server advertises and the session enables.)"""
    session = imap()
    append(session, b"INBOX", crlf(
        "From: x@example.org\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\n"
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n\nDas Caf=C3=A9 ist ge=\nschlossen.\n"))
    append(session, b"INBOX", crlf(
        "From: x@example.org\nSubject: plain\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        + base64.b64encode("Wir treffen uns im Café.\n".encode()).decode() + "\n"))
    session.run("ENABLE IMAP4rev2")
    session.run("SELECT INBOX")
    session.expect('SEARCH SUBJECT "Köln"'.encode(),
                   [b'* ESEARCH (TAG "a") ALL 1\r\n', b"a OK SEARCH completed\r\n"])
    session.expect(b'SEARCH BODY "geschlossen"',
                   [b'* ESEARCH (TAG "a") ALL 1\r\n', b"a OK SEARCH completed\r\n"])
    session.expect('SEARCH BODY "im Café"'.encode(),
                   [b'* ESEARCH (TAG "a") ALL 2\r\n', b"a OK SEARCH completed\r\n"])


def test_search_savedate_keys(imap):
    """RFC 8514 §4.2/§4.3: SAVEDATESUPPORTED, SAVEDBEFORE, SAVEDON, SAVEDSINCE (the save date is
    today; the internal date is 1994)."""
    session = imap()
    search_corpus(session)
    session.run("SELECT INBOX")
    today = time.strftime("%d-%b-%Y", time.gmtime()).lstrip("0")
    session.expect("SEARCH SAVEDATESUPPORTED", [search_line([1, 2, 3, 4, 5]),
                                                b"a OK SEARCH completed\r\n"])
    session.expect(f"SEARCH SAVEDON {today}", [search_line([1, 2, 3, 4, 5]),
                                               b"a OK SEARCH completed\r\n"])
    session.expect(f"SEARCH SAVEDBEFORE {today}", [b"* SEARCH\r\n", b"a OK SEARCH completed\r\n"])
    session.expect("SEARCH SAVEDSINCE 1-Jan-2000 BEFORE 1-Jan-2000",
                   [search_line([1, 2, 3, 4, 5]), b"a OK SEARCH completed\r\n"])


def test_search_emailid(imap):
    """RFC 8474 §6: "EMAILID SP objectid — Messages whose EMAILID is exactly the specified
    ObjectID." (THREADID NIL: "a SEARCH for THREADID MUST NOT match any messages".)"""
    session = imap()
    search_corpus(session)
    session.run("SELECT INBOX")
    (email_id,) = matches([T(b"* 2 FETCH (EMAILID ({ID}))\r\n"), b"a OK FETCH completed\r\n"],
                          session.run("FETCH 2 (EMAILID)"))
    session.expect(b"SEARCH EMAILID " + email_id, [b"* SEARCH 2\r\n",
                                                   b"a OK SEARCH completed\r\n"])
    session.expect(b"SEARCH THREADID T1", [b"* SEARCH\r\n", b"a OK SEARCH completed\r\n"])


def test_esearch_rfc4731_examples(imap):
    """RFC 4731 §3.1 examples A282-A286: MIN, MAX, COUNT, ALL (as a sequence set), RETURN ()
    meaning ALL, UID indicator; with no match only COUNT (MUST always be included) remains."""
    session = imap()
    search_corpus(session)
    session.run("SELECT INBOX")
    session.expect('SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
                   [b'* ESEARCH (TAG "A282") MIN 2 COUNT 1\r\n',
                    b"A282 OK SEARCH completed\r\n"], tag="A282")
    session.expect("SEARCH RETURN () FLAGGED",
                   [b'* ESEARCH (TAG "A283") ALL 1:2,4\r\n', b"A283 OK SEARCH completed\r\n"],
                   tag="A283")
    session.expect("SEARCH RETURN (MIN) UNSEEN",
                   [b'* ESEARCH (TAG "A284") MIN 1\r\n', b"A284 OK SEARCH completed\r\n"],
                   tag="A284")
    session.expect("UID SEARCH RETURN (MIN MAX) 1:5000",
                   [b'* ESEARCH (TAG "A285") UID MIN 1 MAX 5\r\n',
                    b"A285 OK SEARCH completed\r\n"], tag="A285")
    session.expect("SEARCH RETURN (COUNT) DELETED",
                   [b'* ESEARCH (TAG "A286") COUNT 1\r\n', b"A286 OK SEARCH completed\r\n"],
                   tag="A286")
    session.expect("SEARCH RETURN (MIN MAX ALL COUNT) SUBJECT nothing",
                   [b'* ESEARCH (TAG "a") COUNT 0\r\n', b"a OK SEARCH completed\r\n"])
    session.expect("UID SEARCH RETURN (ALL COUNT MIN MAX) NOT DELETED",
                   [b'* ESEARCH (TAG "a") UID ALL 1:3,5 COUNT 4 MIN 1 MAX 5\r\n',
                    b"a OK SEARCH completed\r\n"])
    session.expect("SEARCH RETURN (BOGUS) ALL", [b"a BAD unknown search return option\r\n"])


def test_searchres_rfc5182_examples(imap):
    """RFC 5182 §2.2 examples 1-4 and 6: SAVE alone returns nothing, "$" then stands for the
    result in FETCH, UID SEARCH and OR; an empty "$" is a valid, non-matching set; a BAD
    SEARCH leaves "$" alone (§2.1)."""
    session = imap()
    search_corpus(session)
    session.run("SELECT INBOX")
    session.expect('SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"',
                   [b"A282 OK SEARCH completed\r\n"], tag="A282")
    session.expect("FETCH $ (UID FLAGS)", [b"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen \\Recent))"
                                           b"\r\n", b"A283 OK FETCH completed\r\n"], tag="A283")
    # Example 2: the same, pipelined.
    session.send(b'b1 SEARCH RETURN (SAVE) FROM "Smith"\r\nb2 FETCH $ (UID)\r\n')
    assert session.until_tagged("b2") == [
        b"b1 OK SEARCH completed\r\n", b"* 1 FETCH (UID 1)\r\n", b"* 5 FETCH (UID 5)\r\n",
        b"b2 OK FETCH completed\r\n"]
    # Example 3.
    session.expect("UID SEARCH UID $ SMALLER 1000", [b"* SEARCH 1\r\n",
                                                     b"A301 OK SEARCH completed\r\n"], tag="A301")
    session.expect("UID SEARCH $ SMALLER 1000", [b"* SEARCH 1\r\n",
                                                 b"A301 OK SEARCH completed\r\n"], tag="A301")
    # Example 4.
    session.expect("SEARCH CHARSET UTF-8 (OR $ 2,3) TEXT lunch", [
        b"* SEARCH 2 3\r\n", b"P283 OK SEARCH completed\r\n"], tag="P283")
    # A BAD SEARCH does not touch "$".
    session.expect("SEARCH RETURN (SAVE) BOGUS", [b"a BAD unknown search key\r\n"])
    session.expect("FETCH $ (UID)", [b"* 1 FETCH (UID 1)\r\n", b"* 5 FETCH (UID 5)\r\n",
                                     b"a OK FETCH completed\r\n"])
    # Example 6: "$" empty.
    session.expect('SEARCH RETURN (SAVE) SINCE 28-Oct-2006 NOT FROM "Eric"',
                   [b"E282 OK SEARCH completed\r\n"], tag="E282")
    session.expect("COPY $ Trash", [b"E283 OK COPY completed\r\n"], tag="E283")
    session.expect("FETCH $ (UID)", [b"a OK FETCH completed\r\n"])
    # ESEARCH and SAVE together (§2.4: SAVE doesn't change what the others return).
    session.expect("SEARCH RETURN (ALL SAVE) FLAGGED",
                   [b'* ESEARCH (TAG "C283") ALL 1:2,4\r\n', b"C283 OK SEARCH completed\r\n"],
                   tag="C283")
    session.expect("UID FETCH $ (FLAGS)", [
        b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n",
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen \\Recent))\r\n",
        b"* 4 FETCH (UID 4 FLAGS (\\Flagged \\Deleted \\Recent))\r\n",
        b"a OK FETCH completed\r\n"])


def test_searchres_save_with_min_or_max(imap):
    """RFC 5182 §2.4: "When the SAVE result option is combined with the MIN or MAX [ESEARCH]
    result option, and none of the other ESEARCH result options are present, the corresponding
    MIN/MAX is returned (if the search result is not empty), but the "$" marker would contain
    a single message as returned in the MIN/MAX return item." (Example 10: C284.)"""
    session = imap()
    soft = Soft()
    search_corpus(session)
    session.run("SELECT INBOX")
    soft.expect(session, "SEARCH RETURN (SAVE MIN) FLAGGED",
                         [b'* ESEARCH (TAG "C284") MIN 1\r\n', b"C284 OK SEARCH completed\r\n"],
                         tag="C284")
    soft.expect(session, "FETCH $ (UID)", [b"* 1 FETCH (UID 1)\r\n", b"a OK FETCH completed\r\n"])
    soft.expect(session, "SEARCH RETURN (SAVE MIN MAX) FLAGGED",
                         [b'* ESEARCH (TAG "a") MIN 1 MAX 4\r\n', b"a OK SEARCH completed\r\n"])
    soft.expect(session, "FETCH $ (UID)", [b"* 1 FETCH (UID 1)\r\n", b"* 4 FETCH (UID 4)\r\n",
                                           b"a OK FETCH completed\r\n"])
    soft.check()


def test_searchres_is_reset_by_select(imap):
    """RFC 5182 §2.1: "Upon successful completion of a SELECT or an EXAMINE command (after the
    tagged OK response), the current search result variable is reset to the empty
    sequence." """
    session = imap()
    search_corpus(session)
    search_corpus(session, b"Archive")
    session.run("SELECT INBOX")
    session.expect("SEARCH RETURN (SAVE) FLAGGED", [b"a OK SEARCH completed\r\n"])
    session.run("SELECT Archive")
    session.expect("FETCH $ (UID)", [b"a OK FETCH completed\r\n"])


# ---------------------------------------------------------------------------------------------
# FETCH (RFC 3501 §6.4.5, §7.4.2), BINARY (RFC 3516), OBJECTID (RFC 8474 §5), SAVEDATE
# (RFC 8514), MODSEQ (RFC 7162 §3.1.4.2)

SIMPLE_BODY = b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 35 2)'
SIMPLE_BODYSTRUCTURE = (
    b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 35 2 NIL NIL NIL NIL)'
)


def test_fetch_macros_and_static_items(imap):
    """RFC 3501 §6.4.5: the ALL, FAST and FULL macros; ENVELOPE (§7.4.2: date, subject, from,
    sender, reply-to, to, cc, bcc, in-reply-to, message-id), BODY, BODYSTRUCTURE, RFC822.SIZE,
    RFC822.HEADER, RFC822.TEXT, RFC822, UID (RFC 3501 §6.4.8 example A999)."""
    session = imap()
    append(session, b"INBOX", SIMPLE, date=b"24-Nov-2026 10:11:12 +0000")
    session.run("EXAMINE INBOX")
    fast = b'FLAGS () INTERNALDATE "24-Nov-2026 10:11:12 +0000" RFC822.SIZE 400'
    assert len(SIMPLE) == 400 and len(SIMPLE_TEXT) == 35
    session.expect("FETCH 1 FAST", [b"* 1 FETCH (" + fast + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 ALL", [b"* 1 FETCH (" + fast + b" ENVELOPE " + SIMPLE_ENVELOPE
                                   + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 FULL", [b"* 1 FETCH (" + fast + b" ENVELOPE " + SIMPLE_ENVELOPE
                                    + b" BODY " + SIMPLE_BODY + b")\r\n",
                                    b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODYSTRUCTURE UID)", [
        b"* 1 FETCH (BODYSTRUCTURE " + SIMPLE_BODYSTRUCTURE + b" UID 1)\r\n",
        b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (RFC822.HEADER RFC822.TEXT)", [
        b"* 1 FETCH (RFC822.HEADER " + literal(SIMPLE_HEADER) + b" RFC822.TEXT "
        + literal(SIMPLE_TEXT) + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 RFC822", [b"* 1 FETCH (RFC822 " + literal(SIMPLE) + b")\r\n",
                                      b"a OK FETCH completed\r\n"])
    session.expect("UID FETCH 1:4294967295 FLAGS", [b"* 1 FETCH (UID 1 FLAGS ())\r\n",
                                                    b"A999 OK FETCH completed\r\n"], tag="A999")


def test_fetch_header_fields(imap):
    """RFC 3501 §6.4.5 example A654 (FLAGS BODY[HEADER.FIELDS (DATE FROM)]) on messages 2:4;
    HEADER.FIELDS.NOT; the blank line ends every header fetch; names match case-insensitively;
    a partial fetch of HEADER.FIELDS is cut after subsetting."""
    session = imap()
    for n in range(1, 5):
        append(session, b"INBOX", crlf(f"Date: Tue, 0{n} Dec 2026 10:00:00 +0000\n"
                                       f"From: Sender {n} <s{n}@example.org>\n"
                                       f"Subject: number {n}\nTo: alice@example.test\n\nbody\n"))
    session.run("SELECT INBOX")
    session.expect("FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])", [
        b"* %d FETCH (FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (DATE FROM)] " % n
        + literal(f"Date: Tue, 0{n} Dec 2026 10:00:00 +0000\r\n"
                  f"From: Sender {n} <s{n}@example.org>\r\n\r\n".encode()) + b")\r\n"
        for n in (2, 3, 4)] + [b"A654 OK FETCH completed\r\n"], tag="A654")
    session.expect("FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (date FROM X-None)])", [
        b"* 1 FETCH (BODY[HEADER.FIELDS.NOT (date FROM X-None)] "
        + literal(b"Subject: number 1\r\nTo: alice@example.test\r\n\r\n") + b")\r\n",
        b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)]<9.100>)", [
        b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)]<9> " + literal(b"number 1\r\n\r\n")
        + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY.PEEK[HEADER.FIELDS (X-None)])", [
        b"* 1 FETCH (BODY[HEADER.FIELDS (X-None)] {2}\r\n\r\n)\r\n", b"a OK FETCH completed\r\n"])


def test_fetch_rfc3501_complex_message_sections(imap):
    """RFC 3501 §6.4.5: the example's part specifiers, every one, on a message built to its
    table: HEADER, TEXT, 1, 2, 3, 3.HEADER, 3.TEXT, 3.1, 3.2, 4.1, 4.1.MIME, 4.2,
    4.2.HEADER, 4.2.TEXT, 4.2.1, 4.2.2.1, 4.2.2.2; MIME of the others. (4 and 4.2.2, the
    multiparts nested in multiparts, are the next test.)"""
    session = imap()
    append(session, b"INBOX", COMPLEX)
    session.run("EXAMINE INBOX")
    sections = [
        (b"HEADER", COMPLEX_HEADER), (b"TEXT", COMPLEX_TEXT), (b"1", P1), (b"1.MIME", P1_MIME),
        (b"2", P2), (b"2.MIME", P2_MIME), (b"3", P3), (b"3.MIME", P3_MIME),
        (b"3.HEADER", P3_HEADER), (b"3.TEXT", P3_TEXT), (b"3.1", P31), (b"3.2", P32),
        (b"4.MIME", P4_MIME), (b"4.1", P41), (b"4.1.MIME", P41_MIME),
        (b"4.2", P42), (b"4.2.MIME", P42_MIME), (b"4.2.HEADER", P42_HEADER),
        (b"4.2.TEXT", P42_TEXT), (b"4.2.1", P421), (b"4.2.2.MIME", P422_MIME),
        (b"4.2.2.1", P4221), (b"4.2.2.2", P4222),
        (b"4.2.2.2.MIME", P4222_MIME), (b"", COMPLEX),
    ]
    for section, data in sections:
        session.expect(b"FETCH 1 (BODY.PEEK[" + section + b"])", [
            b"* 1 FETCH (BODY[" + section + b"] " + literal(data) + b")\r\n",
            b"a OK FETCH completed\r\n"])
    session.expect(b"FETCH 1 (BODY.PEEK[4.2.HEADER.FIELDS (Subject)] BODY.PEEK[3.HEADER.FIELDS.NOT"
                   b" (From MIME-Version Content-Type)])", [
                       b"* 1 FETCH (BODY[4.2.HEADER.FIELDS (Subject)] "
                       + literal(b"Subject: inner four two\r\n\r\n")
                       + b" BODY[3.HEADER.FIELDS.NOT (From MIME-Version Content-Type)] "
                       + literal(b"Subject: inner three\r\n\r\n") + b")\r\n",
                       b"a OK FETCH completed\r\n"])


def test_fetch_nested_multipart_excludes_the_enclosing_boundary_crlf(imap):
    """RFC 2046 §5.1.1: "the initial CRLF is considered to be attached to the boundary
    delimiter line rather than part of the preceding part." Part 4 (a multipart inside the
    outer multipart) ends with its own close-delimiter "--four--"; the CRLF after it begins
    the outer "--outer--" line. Likewise 4.2.2 ends with "--alt--"."""
    session = imap()
    append(session, b"INBOX", COMPLEX)
    session.run("EXAMINE INBOX")
    assert COMPLEX_TEXT.endswith(P4 + b"\r\n--outer--\r\n") and P4.endswith(b"--four--")
    session.expect("FETCH 1 (BODY.PEEK[4])", [
        b"* 1 FETCH (BODY[4] " + literal(P4) + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY.PEEK[4.2.2])", [
        b"* 1 FETCH (BODY[4.2.2] " + literal(P422) + b")\r\n", b"a OK FETCH completed\r\n"])


P3_LINES = P3.count(b"\r\n")
P42_LINES = P42.count(b"\r\n")


def test_fetch_rfc3501_complex_message_structure(imap):
    """RFC 3501 §7.4.2: BODY and BODYSTRUCTURE of the §6.4.5 example message — multipart
    subtype and parameters, message/rfc822 with envelope, body and line count, base64 parts
    without line counts; the extension data (md5, disposition, language, location) as NIL."""
    session = imap()
    append(session, b"INBOX", COMPLEX)
    session.run("EXAMINE INBOX")
    inner3_env = (b'(NIL "inner three" (("Grace" NIL "grace" "example.org")) '
                  b'(("Grace" NIL "grace" "example.org")) (("Grace" NIL "grace" "example.org")) '
                  b"NIL NIL NIL NIL NIL)")
    inner42_env = (b'(NIL "inner four two" (("Heidi" NIL "heidi" "example.org")) '
                   b'(("Heidi" NIL "heidi" "example.org")) (("Heidi" NIL "heidi" "example.org")) '
                   b"NIL NIL NIL NIL NIL)")
    structure = (
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 8 1 NIL NIL NIL NIL)'
        b'("application" "octet-stream" NIL NIL NIL "base64" 8 NIL NIL NIL NIL)'
        b'("message" "rfc822" NIL NIL NIL "7BIT" %d ' % len(P3) + inner3_env
        + b' (("text" "plain" NIL NIL NIL "7BIT" 8 1 NIL NIL NIL NIL)'
        b'("application" "octet-stream" NIL NIL NIL "base64" 4 NIL NIL NIL NIL)'
        b' "mixed" ("boundary" "three") NIL NIL NIL) %d NIL NIL NIL NIL)' % P3_LINES
        + b'(("image" "gif" NIL NIL NIL "base64" 20 NIL NIL NIL NIL)'
        b'("message" "rfc822" NIL NIL NIL "7BIT" %d ' % len(P42) + inner42_env
        + b' (("text" "plain" NIL NIL NIL "7BIT" 10 1 NIL NIL NIL NIL)'
        b'(("text" "plain" NIL NIL NIL "7BIT" 12 1 NIL NIL NIL NIL)'
        b'("text" "richtext" NIL NIL NIL "7BIT" 25 1 NIL NIL NIL NIL)'
        b' "alternative" ("boundary" "alt") NIL NIL NIL)'
        b' "mixed" ("boundary" "fourtwo") NIL NIL NIL) %d NIL NIL NIL NIL)' % P42_LINES
        + b' "mixed" ("boundary" "four") NIL NIL NIL)'
        b' "mixed" ("boundary" "outer") NIL NIL NIL)'
    )
    body = (
        b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7BIT" 8 1)'
        b'("application" "octet-stream" NIL NIL NIL "base64" 8)'
        b'("message" "rfc822" NIL NIL NIL "7BIT" %d ' % len(P3) + inner3_env
        + b' (("text" "plain" NIL NIL NIL "7BIT" 8 1)'
        b'("application" "octet-stream" NIL NIL NIL "base64" 4) "mixed") %d)' % P3_LINES
        + b'(("image" "gif" NIL NIL NIL "base64" 20)'
        b'("message" "rfc822" NIL NIL NIL "7BIT" %d ' % len(P42) + inner42_env
        + b' (("text" "plain" NIL NIL NIL "7BIT" 10 1)'
        b'(("text" "plain" NIL NIL NIL "7BIT" 12 1)("text" "richtext" NIL NIL NIL "7BIT" 25 1)'
        b' "alternative") "mixed") %d) "mixed") "mixed")' % P42_LINES
    )
    session.expect("FETCH 1 (BODYSTRUCTURE)", [b"* 1 FETCH (BODYSTRUCTURE " + structure
                                               + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY)", [b"* 1 FETCH (BODY " + body + b")\r\n",
                                      b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (ENVELOPE)", [
        b'* 1 FETCH (ENVELOPE ("Wed, 25 Nov 2026 08:00:00 +0000" "complex" '
        b'(("Frank" NIL "frank" "example.org")) (("Frank" NIL "frank" "example.org")) '
        b'(("Frank" NIL "frank" "example.org")) ((NIL NIL "alice" "example.test")) '
        b"NIL NIL NIL NIL))\r\n", b"a OK FETCH completed\r\n"])


def test_fetch_partial(imap):
    """RFC 3501 §6.4.5 <partial>: the response names the origin only; a fetch past the end is
    truncated, one starting beyond it is empty; BODY[]<0.2048> of a shorter message answers
    BODY[]<0> (the Note there)."""
    session = imap()
    append(session, b"INBOX", SIMPLE)
    session.run("EXAMINE INBOX")
    session.expect("FETCH 1 (BODY.PEEK[TEXT]<6.5> BODY.PEEK[TEXT]<30.100> BODY.PEEK[TEXT]<100.1>)",
                   [b"* 1 FETCH (BODY[TEXT]<6> {5}\r\nAlice BODY[TEXT]<30> {5}\r\nin.\r\n"
                    b" BODY[TEXT]<100> {0}\r\n)\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY.PEEK[]<0.2048>)", [
        b"* 1 FETCH (BODY[]<0> " + literal(SIMPLE) + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY.PEEK[1]<0.5> BINARY.PEEK[1]<6.5>)", [
        b"* 1 FETCH (BODY[1]<0> {5}\r\nHello BINARY[1]<6> {5}\r\nAlice)\r\n",
        b"a OK FETCH completed\r\n"])


def test_fetch_sets_seen(imap):
    """RFC 3501 §6.4.5: BODY[...] and RFC822/RFC822.TEXT set \\Seen and the new FLAGS come
    with the data; BODY.PEEK, BINARY.PEEK and RFC822.HEADER don't; EXAMINE never does."""
    session = imap()
    for n in range(5):
        append(session, b"INBOX", SIMPLE)
    session.run("EXAMINE INBOX")
    session.expect("FETCH 1 (BODY[TEXT])", [
        b"* 1 FETCH (BODY[TEXT] " + literal(SIMPLE_TEXT) + b")\r\n", b"a OK FETCH completed\r\n"])
    session.run("SELECT INBOX")
    session.expect("FETCH 1 (BODY.PEEK[TEXT] BINARY.PEEK[1] RFC822.HEADER FLAGS)", [
        b"* 1 FETCH (BODY[TEXT] " + literal(SIMPLE_TEXT) + b" BINARY[1] "
        + literal(SIMPLE_TEXT) + b" RFC822.HEADER " + literal(SIMPLE_HEADER)
        + b" FLAGS (\\Recent))\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY[TEXT]<0.5>)", [
        b"* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT]<0> {5}\r\nHello)\r\n",
        b"a OK FETCH completed\r\n"])
    session.expect("FETCH 1 (BODY[TEXT]<0.5>)", [
        b"* 1 FETCH (BODY[TEXT]<0> {5}\r\nHello)\r\n", b"a OK FETCH completed\r\n"])
    session.expect("FETCH 2 (RFC822.TEXT)", [
        b"* 2 FETCH (FLAGS (\\Seen \\Recent) RFC822.TEXT " + literal(SIMPLE_TEXT) + b")\r\n",
        b"a OK FETCH completed\r\n"])
    session.expect("FETCH 3 (FLAGS RFC822.SIZE RFC822)", [
        b"* 3 FETCH (FLAGS (\\Seen \\Recent) RFC822.SIZE 400 RFC822 " + literal(SIMPLE)
        + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect("UID FETCH 4 (BINARY[1]<0.5>)", [
        b"* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent) BINARY[1]<0> {5}\r\nHello)\r\n",
        b"a OK FETCH completed\r\n"])
    session.expect("SEARCH UNSEEN", [b"* SEARCH 5\r\n", b"a OK SEARCH completed\r\n"])


def test_fetch_binary(imap):
    """RFC 3516 §4.2/§4.3: BINARY[part] decodes the transfer encoding (literal8 "~{n}" when the
    result holds NUL), BINARY.SIZE gives the decoded size; a partial BINARY names its origin."""
    session = imap()
    append(session, b"INBOX", COMPLEX)
    session.run("EXAMINE INBOX")
    session.expect("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[3.2] BINARY.SIZE[4.1])", [
        b"* 1 FETCH (BINARY[2] ~{4}\r\n\x00\x01\x02\x03 BINARY.SIZE[2] 4 BINARY[3.2] {3}\r\n"
        b"\x04\x05\x06 BINARY.SIZE[4.1] 14)\r\n", b"a OK FETCH completed\r\n"])
    gif = base64.b64decode(P41)
    session.expect("FETCH 1 (BINARY.PEEK[4.1]<6.4> BINARY.PEEK[1] BINARY.SIZE[4.2.2.2])", [
        b"* 1 FETCH (BINARY[4.1]<6> ~" + literal(gif[6:10]) + b" BINARY[1] " + literal(P1)
        + b" BINARY.SIZE[4.2.2.2] %d)\r\n" % len(P4222), b"a OK FETCH completed\r\n"])


def test_fetch_binary_unknown_encoding(imap):
    """RFC 3516 §4.1: BINARY of a part in a transfer encoding the server doesn't know is a NO
    with UNKNOWN-CTE."""
    session = imap()
    append(session, b"INBOX", crlf("From: a@example.org\nSubject: odd\nMIME-Version: 1.0\n"
                                   "Content-Type: text/plain\n"
                                   "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 x\n"))
    session.run("EXAMINE INBOX")
    session.expect("FETCH 1 (BINARY.PEEK[1])",
                   [b"a NO [UNKNOWN-CTE] Unknown content transfer encoding\r\n"])
    session.expect("FETCH 1 (BODY.PEEK[1])", [b"* 1 FETCH (BODY[1] {13}\r\nbegin 644 x\r\n)\r\n",
                                              b"a OK FETCH completed\r\n"])


def test_fetch_objectid_savedate_modseq(imap):
    """RFC 8474 §5.3 EMAILID (the same after COPY and MOVE, §5.1) and THREADID (NIL when not
    computed, §5.2); RFC 8514 §4.1 SAVEDATE (a COPY gets a save date of its own); RFC 7162
    §3.1.4.2 example 13 (FETCH 1:3 (MODSEQ))."""
    session = imap()
    for n in range(3):
        append(session, b"INBOX", short(f"m{n}"))
    session.run("SELECT INBOX")
    found = matches([
        T(b'* 1 FETCH (EMAILID ({ID}) THREADID NIL SAVEDATE "{DATE}")\r\n'),
        b"a OK FETCH completed\r\n"], session.run("FETCH 1 (EMAILID THREADID SAVEDATE)"))
    email_id = found[0]
    session.run("COPY 1 Archive")
    session.run("MOVE 1 Trash")
    for mailbox in ("Archive", "Trash"):
        session.run(f"EXAMINE {mailbox}")
        matches([T(b"* 1 FETCH (EMAILID (" + email_id + b') SAVEDATE "{DATE}")\r\n'),
                 b"a OK FETCH completed\r\n"], session.run("FETCH 1 (EMAILID SAVEDATE)"))
    session.run("EXAMINE INBOX")
    other = matches([T(b"* 1 FETCH (EMAILID ({ID}))\r\n"), T(b"* 2 FETCH (EMAILID ({ID}))\r\n"),
                     b"a OK FETCH completed\r\n"], session.run("FETCH 1:2 (EMAILID)"))
    assert len({email_id, *other}) == 3
    # MODSEQ, last: it enables CONDSTORE, which adds MODSEQ to every later FETCH response.
    # RFC 7162 §3.1: the first CONDSTORE enabling command tells HIGHESTMODSEQ.
    matches([T(b"* OK [HIGHESTMODSEQ {N}] Highest\r\n"),
             T(b"* 1 FETCH (MODSEQ ({N}))\r\n"), T(b"* 2 FETCH (MODSEQ ({N}))\r\n"),
             b"a OK FETCH completed\r\n"], session.run("FETCH 1:2 (MODSEQ)"))
    session.expect("FETCH 1 (UID)", [T(b"* 1 FETCH (UID 2 MODSEQ ({N}))\r\n"),
                                     b"a OK FETCH completed\r\n"])


def test_fetch_errors(imap):
    """RFC 9051 §6.4.5: numbers beyond the mailbox are BAD; an unknown item is BAD."""
    session = imap()
    append(session, b"INBOX", short("one"))
    session.run("EXAMINE INBOX")
    session.expect("FETCH 2 (FLAGS)", [b"a BAD Invalid message sequence number\r\n"])
    session.expect("FETCH 1 (BOGUS)", [T(b"a BAD {TEXT}\r\n")])
    session.expect("UID FETCH 5:7 (FLAGS)", [b"a OK FETCH completed\r\n"])
    session.expect("UID FETCH 7:5 (FLAGS)", [b"a OK FETCH completed\r\n"])


# ---------------------------------------------------------------------------------------------
# STORE (RFC 3501 §6.4.6), COPY (§6.4.7), MOVE (RFC 6851), UIDPLUS COPYUID (RFC 4315 §3)


def test_store(imap):
    """RFC 3501 §6.4.6 example A003 (STORE 2:4 +FLAGS (\\Deleted)), -FLAGS, FLAGS (replace),
    .SILENT, keywords (new ones announced with FLAGS/PERMANENTFLAGS, §7.2.6), UID STORE
    answers with UIDs (§6.4.8); \\Recent can't be stored."""
    session = imap()
    for n in range(1, 5):
        flags = {2: b"\\Seen", 4: b"\\Flagged \\Seen"}.get(n, b"")
        append(session, b"INBOX", short(f"m{n}"), flags=flags)
    other = imap()
    other.run("SELECT INBOX")  # takes \Recent, so the flags below are just the stored ones
    session.run("SELECT INBOX")
    session.expect("STORE 2:4 +FLAGS (\\Deleted)", [
        b"* 2 FETCH (FLAGS (\\Deleted \\Seen))\r\n", b"* 3 FETCH (FLAGS (\\Deleted))\r\n",
        b"* 4 FETCH (FLAGS (\\Flagged \\Deleted \\Seen))\r\n", b"A003 OK STORE completed\r\n"],
        tag="A003")
    session.expect("STORE 2:3 -FLAGS (\\Deleted \\Seen)", [
        b"* 2 FETCH (FLAGS ())\r\n", b"* 3 FETCH (FLAGS ())\r\n", b"a OK STORE completed\r\n"])
    session.expect("STORE 1 FLAGS (\\Answered $Forwarded)", [
        b"* FLAGS (" + SYSTEM_FLAGS + b" $Forwarded)\r\n",
        b"* OK [PERMANENTFLAGS (" + SYSTEM_FLAGS + b" $Forwarded \\*)] Flags permitted\r\n",
        b"* 1 FETCH (FLAGS (\\Answered $Forwarded))\r\n", b"a OK STORE completed\r\n"])
    session.expect("STORE 1 +FLAGS.SILENT ($MDNSent \\Draft)", [
        b"* FLAGS (" + SYSTEM_FLAGS + b" $Forwarded $MDNSent)\r\n",
        b"* OK [PERMANENTFLAGS (" + SYSTEM_FLAGS + b" $Forwarded $MDNSent \\*)] Flags permitted"
        b"\r\n", b"a OK STORE completed\r\n"])
    session.expect("STORE 1 -FLAGS.SILENT ($Forwarded)", [b"a OK STORE completed\r\n"])
    session.expect("UID STORE 1,3 FLAGS.SILENT ()", [b"a OK STORE completed\r\n"])
    session.expect("UID STORE 2:3 +FLAGS ($MDNSent)", [
        b"* 2 FETCH (UID 2 FLAGS ($MDNSent))\r\n", b"* 3 FETCH (UID 3 FLAGS ($MDNSent))\r\n",
        b"a OK STORE completed\r\n"])
    session.expect("FETCH 1:4 (FLAGS)", [
        b"* 1 FETCH (FLAGS ())\r\n", b"* 2 FETCH (FLAGS ($MDNSent))\r\n",
        b"* 3 FETCH (FLAGS ($MDNSent))\r\n", b"* 4 FETCH (FLAGS (\\Flagged \\Deleted \\Seen))\r\n",
        b"a OK FETCH completed\r\n"])
    session.expect("STORE 1 +FLAGS (\\Recent)", [T(b"a BAD {TEXT}\r\n")])
    # The other session hears about all of it at its next command.
    other.expect("NOOP", [
        b"* FLAGS (" + SYSTEM_FLAGS + b" $Forwarded $MDNSent)\r\n",
        b"* OK [PERMANENTFLAGS (" + SYSTEM_FLAGS + b" $Forwarded $MDNSent \\*)] Flags permitted"
        b"\r\n",
        b"* 1 FETCH (FLAGS (\\Recent))\r\n", b"* 2 FETCH (FLAGS (\\Recent $MDNSent))\r\n",
        b"* 3 FETCH (FLAGS (\\Recent $MDNSent))\r\n",
        b"* 4 FETCH (FLAGS (\\Flagged \\Deleted \\Seen \\Recent))\r\n",
        b"a OK NOOP completed\r\n"])


def test_copy_rfc4315_example(imap):
    """RFC 3501 §6.4.7 and RFC 4315 §3 examples: COPY answers [COPYUID validity source-uids
    destination-uids]; a UID COPY naming no message copies nothing and says no COPYUID; COPY to
    a missing mailbox is NO [TRYCREATE]."""
    session = imap()
    for n in range(5):
        append(session, b"INBOX", short(f"m{n}"))
    session.run("CREATE meeting")
    append(session, b"meeting", short("already there"))
    (validity,) = matches([T(b"* STATUS meeting (UIDVALIDITY {N})\r\n"),
                           b"a OK STATUS completed\r\n"],
                          session.run("STATUS meeting (UIDVALIDITY)"))
    session.run("SELECT INBOX")
    session.run("STORE 3 +FLAGS.SILENT (\\Deleted)")
    session.run("EXPUNGE")
    session.expect("COPY 2:4 meeting", [
        b"A004 OK [COPYUID " + validity + b" 2,4:5 2:4] COPY completed\r\n"], tag="A004")
    session.expect("UID COPY 305:310 meeting", [b"A005 OK COPY completed\r\n"], tag="A005")
    session.expect("COPY 1 nowhere", [b"a NO [TRYCREATE] No such mailbox\r\n"])
    session.expect("EXAMINE meeting", select_lines(4, unseen=1, read_only=True,
                                                   verb=b"EXAMINE", closed=True))
    session.expect("FETCH 2:4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", [
        b"* %d FETCH (BODY[HEADER.FIELDS (SUBJECT)] " % (n + 1)
        + literal(b"Subject: %s\r\n\r\n" % subject) + b")\r\n"
        for n, subject in ((1, b"m1"), (2, b"m3"), (3, b"m4"))] + [b"a OK FETCH completed\r\n"])


def test_move_rfc6851_example(imap):
    """RFC 6851 §4.4 example: UID MOVE answers COPYUID in an untagged OK, then the EXPUNGEs,
    then the tagged OK; MOVE to a missing mailbox is NO [TRYCREATE]; read-only is NO."""
    session = imap()
    for n in range(6):
        append(session, b"INBOX", short(f"m{n}"))
    session.run("CREATE foo")
    (validity,) = matches([T(b"* STATUS foo (UIDVALIDITY {N})\r\n"), b"a OK STATUS completed\r\n"],
                          session.run("STATUS foo (UIDVALIDITY)"))
    session.run("SELECT INBOX")
    session.expect("UID MOVE 2:4 foo", [
        b"* OK [COPYUID " + validity + b" 2:4 1:3] Moved\r\n",
        b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n",
        b"a OK MOVE completed\r\n"])
    session.expect("MOVE 2,3 foo", [
        b"* OK [COPYUID " + validity + b" 5:6 4:5] Moved\r\n",
        b"* 2 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n", b"a OK MOVE completed\r\n"])
    session.expect("MOVE 1 nowhere", [b"a NO [TRYCREATE] No such mailbox\r\n"])
    session.expect("UID SEARCH ALL", [b"* SEARCH 1\r\n", b"a OK SEARCH completed\r\n"])
    session.run("EXAMINE foo")
    session.expect("MOVE 1 INBOX", [b"a NO [READ-ONLY] Mailbox is read-only\r\n"])
    session.expect("UID SEARCH ALL", [b"* SEARCH 1 2 3 4 5\r\n", b"a OK SEARCH completed\r\n"])


# ---------------------------------------------------------------------------------------------
# IDLE (RFC 2177)


def test_idle_rfc2177_example(imap):
    """RFC 2177 §3 example: "+ idling", updates as they happen (new mail, flag changes,
    expunges by another session), DONE ends it with a tagged OK."""
    session = imap()
    for n in range(3):
        append(session, b"INBOX", short(f"m{n}"))
    other = imap()
    other.run("SELECT INBOX")
    session.expect("SELECT INBOX", select_lines(3, recent=0, unseen=1))
    session.send(b"A002 IDLE\r\n")
    assert session.response() == b"+ idling\r\n"
    # Delivered by a session that has no mailbox selected: the idling one is the first to
    # hear of it, so it holds its \Recent (RFC 3501 §2.3.2).
    append(imap(), b"INBOX", short("m3"))
    assert session.response() == b"* 4 EXISTS\r\n"
    assert session.response() == b"* 1 RECENT\r\n"
    other.run("STORE 2 +FLAGS.SILENT (\\Seen)")
    assert session.response() == b"* 2 FETCH (FLAGS (\\Seen))\r\n"
    other.run("STORE 1 +FLAGS.SILENT (\\Deleted)")
    assert session.response() == b"* 1 FETCH (FLAGS (\\Deleted))\r\n"
    other.run("EXPUNGE")
    assert session.response() == b"* 1 EXPUNGE\r\n"
    session.send(b"DONE\r\n")
    assert session.until_tagged("A002") == [b"A002 OK IDLE terminated\r\n"]
    session.expect("NOOP", [b"a OK NOOP completed\r\n"])


# ---------------------------------------------------------------------------------------------
# ENABLE (RFC 5161), ID (RFC 2971), NAMESPACE (RFC 2342), QUOTA (RFC 9208), COMPRESS (RFC 4978)


def test_enable_rfc5161_examples(imap):
    """RFC 5161 §3.1/§4 examples: unknown names are ignored, ENABLED lists only what this
    command newly enabled, CAPABILITY doesn't change; RFC 7162 §3.2.3 ENABLE QRESYNC;
    RFC 6855 §3 UTF8=ACCEPT; RFC 9051 IMAP4rev2. Only valid once authenticated."""
    session = imap(None)
    session.expect("ENABLE CONDSTORE", [b"a BAD Log in first\r\n"])
    session = imap()
    session.expect("CAPABILITY", [b"* CAPABILITY " + CAPS_AFTER_LOGIN + b"\r\n",
                                  b"t1 OK CAPABILITY completed\r\n"], tag="t1")
    session.expect("ENABLE CONDSTORE X-GOOD-IDEA", [b"* ENABLED CONDSTORE\r\n",
                                                    b"t2 OK ENABLE completed\r\n"], tag="t2")
    session.expect("CAPABILITY", [b"* CAPABILITY " + CAPS_AFTER_LOGIN + b"\r\n",
                                  b"t3 OK CAPABILITY completed\r\n"], tag="t3")
    session.expect("ENABLE CONDSTORE", [b"* ENABLED\r\n", b"a OK ENABLE completed\r\n"])
    session.expect("ENABLE QRESYNC CONDSTORE", [b"* ENABLED QRESYNC\r\n",
                                                b"a OK ENABLE completed\r\n"])
    session.expect("ENABLE UTF8=ACCEPT", [b"* ENABLED UTF8=ACCEPT\r\n",
                                          b"a OK ENABLE completed\r\n"])
    session.expect("ENABLE IMAP4rev2", [b"* ENABLED IMAP4REV2\r\n", b"a OK ENABLE completed\r\n"])
    session.expect("ENABLE", [T(b"a BAD {TEXT}\r\n")])


def test_id_and_namespace(imap):
    """RFC 2971 §3.1/§3.2 examples (ID with parameters and with NIL, before login too);
    RFC 2342 §5 example 1: one personal namespace, "" with "/"."""
    session = imap(None)
    session.expect('ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")',
                   [b'* ID ("name" "Postern")\r\n', b"a023 OK ID completed\r\n"], tag="a023")
    session.expect("NAMESPACE", [b"a BAD Log in first\r\n"])
    session = imap()
    session.expect("ID NIL", [b'* ID ("name" "Postern")\r\n', b"a042 OK ID completed\r\n"],
                   tag="a042")
    session.expect("NAMESPACE", [b'* NAMESPACE (("" "/")) NIL NIL\r\n',
                                 b"A001 OK NAMESPACE completed\r\n"], tag="A001")


def test_quota(imap):
    """RFC 9208 §4.1.1/§4.1.2: GETQUOTAROOT names the root "" and its QUOTA (no limits: an
    empty list, §4.2.1); GETQUOTA of another root is NO; SETQUOTA (QUOTASET is not
    advertised) is refused."""
    session = imap()
    session.expect("GETQUOTAROOT INBOX", [b'* QUOTAROOT INBOX ""\r\n', b'* QUOTA "" ()\r\n',
                                          b"G0002 OK GETQUOTAROOT completed\r\n"], tag="G0002")
    session.expect('GETQUOTA ""', [b'* QUOTA "" ()\r\n', b"G0001 OK GETQUOTA completed\r\n"],
                   tag="G0001")
    session.expect('GETQUOTA "!partition/sda4"', [b"a NO [NONEXISTENT] No such quota root\r\n"])
    session.expect('SETQUOTA "" (STORAGE 510)',
                   [b"S0001 NO [NOPERM] Quotas are set by the administrator\r\n"], tag="S0001")


def test_getquotaroot_of_a_mailbox_not_yet_created(imap):
    """RFC 9208 §4.1.2: "Note that the mailbox name parameter doesn't have to reference an
    existing mailbox.  This can be handy in order to determine which quota root would apply to
    a mailbox when it gets created." (Result NO is for "permission denied".)"""
    session = imap()
    session.expect("GETQUOTAROOT Future", [b'* QUOTAROOT Future ""\r\n', b'* QUOTA "" ()\r\n',
                                           b"a OK GETQUOTAROOT completed\r\n"])


class Deflate:
    """Both directions of an RFC 4978 COMPRESS=DEFLATE stream (raw deflate, RFC 1951)."""

    def __init__(self, session):
        self.session = session
        self.compressor = zlib.compressobj(wbits=-15)
        self.decompressor = zlib.decompressobj(wbits=-15)
        self.buffer = b""

    def send(self, data):
        payload = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
        self.session.socket.sendall(payload)

    def line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.session.socket.recv(4096)
            assert chunk, "connection closed"
            self.buffer += self.decompressor.decompress(chunk)
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line + b"\r\n"

    def run(self, line, tag):
        self.send(tag + b" " + line + b"\r\n")
        lines = []
        while not lines or not lines[-1].startswith(tag + b" "):
            lines.append(self.line())
        return lines


def test_compress_deflate(imap):
    """RFC 4978 §3/§4 example: COMPRESS DEFLATE answered OK uncompressed, then both directions
    are deflated from the CRLF of that OK on; an unknown mechanism is BAD."""
    session = imap()
    session.expect("COMPRESS BOGUS",
                   [b"a BAD Unknown compression algorithm, only DEFLATE is supported\r\n"])
    session.send(b"c COMPRESS DEFLATE\r\n")
    assert session.file.readline() == b"c OK DEFLATE active\r\n"
    deflate = Deflate(session)
    assert deflate.run(b"NOOP", b"d") == [b"d OK NOOP completed\r\n"]
    assert deflate.run(b'LIST "" INBOX', b"e") == [
        b'* LIST (\\HasNoChildren) "/" INBOX\r\n', b"e OK LIST completed\r\n"]
    assert deflate.run(b"LOGOUT", b"f") == [b"* BYE Logging out\r\n",
                                             b"f OK LOGOUT completed\r\n"]


def test_compress_twice_is_bad(imap):
    """RFC 4978 §3: "Result: ... NO Compression is already active via another layer.  BAD
    Command unknown, invalid or unknown argument, or COMPRESS already active." A second
    COMPRESS on a deflated connection is therefore BAD; COMPRESSIONACTIVE belongs to the NO for
    another layer (TLS)."""
    session = imap()
    session.send(b"c COMPRESS DEFLATE\r\n")
    assert session.file.readline() == b"c OK DEFLATE active\r\n"
    deflate = Deflate(session)
    matches([T(b"f BAD {TEXT}\r\n")], deflate.run(b"COMPRESS DEFLATE", b"f"))


# ---------------------------------------------------------------------------------------------
# SORT and THREAD (RFC 5256)

SORT_MESSAGES = [
    # subject, Date:, From, To, Message-ID, References, internal date
    ("Re: apple", "Fri, 02 Jan 2026 10:00:00 +0000", "carol", "zed", "<1@x>", "<5@x>",
     "02-Jan-2026 10:00:00 +0000"),
    ("banana", "Thu, 01 Jan 2026 11:00:00 +0000", "alice", "yan", "<2@x>", "",
     "05-Jan-2026 10:00:00 +0000"),
    ("Apple", "Sat, 03 Jan 2026 10:00:00 +0000", "bob", "xi", "<3@x>", "<5@x> <1@x>",
     "03-Jan-2026 10:00:00 +0000"),
    ("Fwd: [list] cherry (fwd)", "Sun, 04 Jan 2026 10:00:00 +0000", "dave", "", "<4@x>", "",
     "01-Jan-2026 10:00:00 +0000"),
    ("apple", "Thu, 01 Jan 2026 10:00:00 +0000", "erin", "will", "<5@x>", "",
     "04-Jan-2026 10:00:00 +0000"),
]


def test_sort_and_thread(imap):
    """RFC 5256 §3: SORT by base subject (Re:/Fwd:/[list]/(fwd) removed, case-insensitive),
    REVERSE, DATE, ARRIVAL, SIZE, FROM/TO (addr-mailbox, empty first), CC; ties by sequence
    number; UID SORT; the examples A282-A284; BADCHARSET; THREAD ORDEREDSUBJECT and
    REFERENCES (§4 THREAD response); RFC 7162 §3.1.9 MODSEQ in SORT."""
    session = imap()
    sizes = []
    for n, (subject, date, sender, to, message_id, references, internal) in enumerate(
            SORT_MESSAGES):
        headers = f"From: {sender}@example.org\nSubject: {subject}\nDate: {date}\n"
        headers += f"Message-ID: {message_id}\n"
        headers += f"To: {to}@example.org\n" if to else ""
        headers += f"References: {references}\n" if references else ""
        message = crlf(headers + "\n" + "x" * (10 * ((n * 3) % 5 + 1)) + "\n")
        sizes.append(len(message))
        append(session, b"INBOX", message, date=internal.encode())
    session.run("SELECT INBOX")
    by_size = sorted(range(1, 6), key=lambda n: (-sizes[n - 1], n))
    cases = [
        ("SORT (SUBJECT) UTF-8 ALL", b"* SORT 1 3 5 2 4\r\n"),
        ("SORT (SUBJECT REVERSE DATE) UTF-8 ALL", b"* SORT 3 1 5 2 4\r\n"),
        ("SORT (ARRIVAL) US-ASCII ALL", b"* SORT 4 1 3 5 2\r\n"),
        ("SORT (REVERSE SIZE) UTF-8 ALL",
         b"* SORT " + b" ".join(b"%d" % n for n in by_size) + b"\r\n"),
        ("SORT (FROM) UTF-8 ALL", b"* SORT 2 3 1 4 5\r\n"),
        ("SORT (TO) UTF-8 ALL", b"* SORT 4 5 3 2 1\r\n"),
        ("SORT (DATE) UTF-8 ALL", b"* SORT 5 2 1 3 4\r\n"),
        ("SORT (CC) UTF-8 ALL", b"* SORT 1 2 3 4 5\r\n"),
        ("SORT (SUBJECT) UTF-8 SINCE 3-Jan-2026", b"* SORT 3 5 2\r\n"),
        ("UID SORT (REVERSE ARRIVAL) UTF-8 ALL", b"* SORT 2 5 3 1 4\r\n"),
        ('SORT (SUBJECT) US-ASCII TEXT "not in mailbox"', b"* SORT\r\n"),
    ]
    for command, response in cases:
        session.expect(command, [response, b"a OK SORT completed\r\n"])
    session.expect("SORT (SUBJECT) KOI8-R ALL",
                   [b"a NO [BADCHARSET (UTF-8 US-ASCII)] Charset not supported\r\n"])
    session.expect("THREAD ORDEREDSUBJECT UTF-8 ALL",
                   [b"* THREAD (5 (1)(3))(2)(4)\r\n", b"a OK THREAD completed\r\n"])
    session.expect("THREAD REFERENCES UTF-8 ALL",
                   [b"* THREAD (5 1 3)(2)(4)\r\n", b"a OK THREAD completed\r\n"])
    session.expect('THREAD ORDEREDSUBJECT US-ASCII TEXT "gewp"',
                   [b"* THREAD\r\n", b"A284 OK THREAD completed\r\n"], tag="A284")
    session.expect("UID THREAD REFERENCES UTF-8 NOT FROM carol",
                   [b"* THREAD (5 3)(2)(4)\r\n", b"a OK THREAD completed\r\n"])
    matches([T(b"* SORT 1 3 5 2 4 (MODSEQ {N})\r\n"), b"a OK SORT completed\r\n"],
            session.run("SORT (SUBJECT) UTF-8 MODSEQ 1"))


# ---------------------------------------------------------------------------------------------
# CONDSTORE and QRESYNC (RFC 7162), replaying its examples on our data


def modseqs(session, numbers="1:*"):
    """{sequence number: MODSEQ}, read in a session that has CONDSTORE enabled."""
    values = {}
    for line in session.run(f"FETCH {numbers} (MODSEQ)", tag="ms")[:-1]:
        match = re.fullmatch(rb"\* (\d+) FETCH \(MODSEQ \((\d+)\)\)\r\n", line)
        assert match, line
        values[int(match.group(1))] = int(match.group(2))
    return values


def test_condstore_rfc7162_examples(imap):
    """RFC 7162 §3.1: example 18 (SELECT (CONDSTORE) → HIGHESTMODSEQ), 13 (FETCH MODSEQ),
    12 (FETCH CHANGEDSINCE adds MODSEQ), 3 (UID STORE UNCHANGEDSINCE, all pass, FETCH even
    with .SILENT), 8 (UNCHANGEDSINCE 0 always fails), 15/16 (SEARCH MODSEQ, with an entry
    name), 19 (ESEARCH with MODSEQ), 17 (STATUS HIGHESTMODSEQ)."""
    session = imap()
    for n in range(1, 9):
        append(session, b"INBOX", short(f"m{n}"))
    found = session.expect("SELECT INBOX (CONDSTORE)", select_lines(
        8, recent=8, unseen=1, highestmodseq=True))
    highest = int(found[1])
    # Example 13: FETCH 1:3 (MODSEQ).
    session.expect("FETCH 1:3 (MODSEQ)", [
        T(b"* 1 FETCH (MODSEQ ({NZ}))\r\n"), T(b"* 2 FETCH (MODSEQ ({NZ}))\r\n"),
        T(b"* 3 FETCH (MODSEQ ({NZ}))\r\n"), b"a OK FETCH completed\r\n"])
    before = modseqs(session)
    assert max(before.values()) == highest, (before, highest)
    # Example 3: UID STORE 6,4,8 (UNCHANGEDSINCE ...) +FLAGS.SILENT (\Deleted)
    lines = session.run(b"UID STORE 6,4,8 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)"
                        % highest, tag="a103")
    found = matches([T(b"* 4 FETCH (UID 4 MODSEQ ({N}))\r\n"),
                     T(b"* 6 FETCH (UID 6 MODSEQ ({N}))\r\n"),
                     T(b"* 8 FETCH (UID 8 MODSEQ ({N}))\r\n"),
                     b"a103 OK STORE completed\r\n"], lines)
    stored = [int(value) for value in found]
    assert min(stored) > highest, (stored, highest)
    # Example 12: UID FETCH 1:* (FLAGS) (CHANGEDSINCE ...) — only the changed ones, with MODSEQ.
    session.expect(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % highest, [
        b"* %d FETCH (UID %d FLAGS (\\Deleted \\Recent) MODSEQ (%d))\r\n" % (n, n, m)
        for n, m in zip((4, 6, 8), stored)] + [b"s100 OK FETCH completed\r\n"], tag="s100")
    # Example 8: UNCHANGEDSINCE 0 always fails when the metadata item exists.
    session.expect("STORE 2 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)",
                   [b"a102 OK [MODIFIED 2] Conditional STORE failed\r\n"], tag="a102")
    # A UID STORE that fails for some: MODIFIED names UIDs.
    lines = session.run(b"UID STORE 3,4 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)"
                        % before[3], tag="d105")
    found = matches([T(b"* 3 FETCH (UID 3 MODSEQ ({N}))\r\n"),
                     b"d105 OK [MODIFIED 4] Conditional STORE failed\r\n"], lines)
    latest = int(found[0])
    # Examples 15 and 16.
    session.expect(b'SEARCH MODSEQ "/flags/\\\\draft" all %d' % (highest + 1), [
        b"* SEARCH 3 4 6 8 (MODSEQ %d)\r\n" % latest, b"a OK SEARCH completed\r\n"])
    session.expect(b"SEARCH OR NOT MODSEQ %d LARGER 50000" % 1,
                   [b"* SEARCH\r\n", b"t OK SEARCH completed\r\n"], tag="t")
    # Example 19.
    session.expect(b"SEARCH RETURN (ALL) MODSEQ %d" % (highest + 1), [
        b'* ESEARCH (TAG "a") ALL 3:4,6,8 MODSEQ %d\r\n' % latest, b"a OK SEARCH completed\r\n"])
    # Example 17.
    session.expect("STATUS Drafts (UIDNEXT MESSAGES HIGHESTMODSEQ)", [
        T(b"* STATUS Drafts (UIDNEXT 1 MESSAGES 0 HIGHESTMODSEQ {N})\r\n"),
        b"A042 OK STATUS completed\r\n"], tag="A042")
    session.expect("STATUS INBOX (HIGHESTMODSEQ)", [
        b"* STATUS INBOX (HIGHESTMODSEQ %d)\r\n" % latest, b"a OK STATUS completed\r\n"])


def test_condstore_first_enabling_command_reports_highestmodseq(imap):
    """RFC 7162 §3.1: "A first CONDSTORE enabling command executed in the session with a
    mailbox selected MUST cause the server to return HIGHESTMODSEQ (Section 3.1.2.1) for the
    mailbox" (example 5 shows it before the FETCH); "a FETCH or SEARCH command that includes
    the MODSEQ message data item" is such a command."""
    session = imap()
    for n in range(3):
        append(session, b"INBOX", short(f"m{n}"))
    session.run("SELECT INBOX")
    session.expect("FETCH 1 (MODSEQ)", [T(b"* OK [HIGHESTMODSEQ {NZ}] Highest\r\n"),
                                        T(b"* 1 FETCH (MODSEQ ({NZ}))\r\n"),
                                        b"a OK FETCH completed\r\n"])


def test_status_highestmodseq_is_a_condstore_enabling_command(imap):
    """RFC 7162 §3.1 lists "a STATUS (HIGHESTMODSEQ) command" among the CONDSTORE enabling
    commands, and §3.1.2: "One of these two response codes [HIGHESTMODSEQ, NOMODSEQ] MUST be
    returned in an OK untagged response for any successful SELECT/EXAMINE command issued after
    a CONDSTORE enabling command." """
    session = imap()
    for n in range(3):
        append(session, b"INBOX", short(f"m{n}"))
    other = imap()
    other.expect("STATUS INBOX (HIGHESTMODSEQ)", [T(b"* STATUS INBOX (HIGHESTMODSEQ {NZ})\r\n"),
                                                  b"a OK STATUS completed\r\n"])
    other.expect("EXAMINE INBOX", select_lines(3, unseen=1, read_only=True, verb=b"EXAMINE",
                                               highestmodseq=True))


def test_condstore_fetch_responses_carry_the_uid(imap):
    """RFC 7162 §3.2.4 (the server advertises QRESYNC): "Once a CONDSTORE enabling command is
    issued by the client, the server MUST automatically include both UID and mod-sequence data
    in all subsequent untagged FETCH responses ..., whether they were caused by a regular
    STORE/UID STORE, a STORE/UID STORE with an UNCHANGEDSINCE modifier, a FETCH/UID FETCH that
    implicitly set the \\Seen flag, or an external agent." (§3.1.4.2, example 14: "all FETCH
    responses in Example 14 must also include UID FETCH items".)"""
    session = imap()
    for n in range(1, 4):
        append(session, b"INBOX", short(f"m{n}"))
    other = imap()
    other.run("SELECT INBOX")
    session.run("ENABLE CONDSTORE")
    session.run("SELECT INBOX")
    soft = Soft()
    # Example 14, session 1: A160 STORE 7 +FLAGS.SILENT (\Deleted) → * 7 FETCH (MODSEQ (...)).
    soft.expect(session, "STORE 1 +FLAGS.SILENT (\\Deleted)", [
        T(b"* 1 FETCH (UID 1 MODSEQ ({NZ}))\r\n"), b"A160 OK STORE completed\r\n"], tag="A160")
    soft.expect(session, "STORE 1 +FLAGS (\\Answered)", [
        T(b"* 1 FETCH (UID 1 FLAGS (\\Answered \\Deleted) MODSEQ ({NZ}))\r\n"),
        b"a OK STORE completed\r\n"])
    soft.expect(session, "FETCH 2 (BODY[TEXT])", [
        T(b"* 2 FETCH (UID 2 FLAGS (\\Seen) BODY[TEXT] {6}\r\nbody\r\n MODSEQ ({NZ}))\r\n"),
        b"a OK FETCH completed\r\n"])
    # Example 6 shape: a plain STORE with UNCHANGEDSINCE where one message fails.
    current = modseqs(session, "2:3")
    assert current[2] > current[3], current
    soft.expect(session, b"STORE 3,2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Deleted)" % current[3],
                [T(b"* 3 FETCH (UID 3 MODSEQ ({NZ}))\r\n"),
                 b"d105 OK [MODIFIED 2] Conditional STORE failed\r\n"], tag="d105")
    # Example 14, session 2: an external agent's change.
    other.run("STORE 3 -FLAGS.SILENT (\\Deleted)")
    soft.expect(session, "NOOP", [T(b"* 3 FETCH (UID 3 FLAGS () MODSEQ ({NZ}))\r\n"),
                                  b"C180 OK NOOP completed\r\n"], tag="C180")
    soft.check()


def test_esearch_modseq_of_min_and_max(imap):
    """RFC 4731 §3.2: "If the SEARCH/UID SEARCH command contained a single MIN or MAX result
    option, the MODSEQ result option contains the mod-sequence for the found message.  If the
    SEARCH/UID SEARCH command contained both MIN and MAX result options and no ALL/COUNT
    option, the MODSEQ result option contains the highest mod-sequence for the two returned
    messages.  Otherwise the MODSEQ result option contains the highest mod-sequence for all
    messages being returned." (Examples a1-a4 there.)"""
    session = imap()
    for n in range(1, 4):
        append(session, b"INBOX", short(f"m{n}"))
    session.run("SELECT INBOX (CONDSTORE)")
    session.run("STORE 2 +FLAGS.SILENT (\\Flagged)")
    m = modseqs(session)
    assert m[2] > max(m[1], m[3]), m
    soft = Soft()
    soft.expect(session, "SEARCH RETURN (MIN) MODSEQ 1", [
        b'* ESEARCH (TAG "a1") MIN 1 MODSEQ %d\r\n' % m[1], b"a1 OK SEARCH completed\r\n"],
        tag="a1")
    soft.expect(session, "SEARCH RETURN (MAX) MODSEQ 1", [
        b'* ESEARCH (TAG "a2") MAX 3 MODSEQ %d\r\n' % m[3], b"a2 OK SEARCH completed\r\n"],
        tag="a2")
    soft.expect(session, "SEARCH RETURN (MIN MAX) MODSEQ 1", [
        b'* ESEARCH (TAG "a3") MIN 1 MAX 3 MODSEQ %d\r\n' % max(m[1], m[3]),
        b"a3 OK SEARCH completed\r\n"], tag="a3")
    soft.expect(session, "SEARCH RETURN (MIN COUNT) MODSEQ 1", [
        b'* ESEARCH (TAG "a4") MIN 1 COUNT 3 MODSEQ %d\r\n' % m[2],
        b"a4 OK SEARCH completed\r\n"], tag="a4")
    soft.check()


def test_highestmodseq_is_never_zero(imap):
    """RFC 7162 §7: resp-text-code =/ "HIGHESTMODSEQ" SP mod-sequence-value, and
    mod-sequence-value = 1*DIGIT ;; (1 <= n <= 9,223,372,036,854,775,807). For STATUS, §3.1.7
    and §7: "Value 0 denotes that the mailbox doesn't support persistent mod-sequences". A
    new, empty mailbox still keeps mod-sequences."""
    session = imap()
    session.expect("STATUS Drafts (HIGHESTMODSEQ)", [T(b"* STATUS Drafts (HIGHESTMODSEQ {NZ})\r\n"),
                                                     b"a OK STATUS completed\r\n"])
    session.expect("SELECT Drafts (CONDSTORE)", [
        b"* FLAGS (" + SYSTEM_FLAGS + b")\r\n",
        b"* OK [PERMANENTFLAGS (" + SYSTEM_FLAGS + b" \\*)] Flags permitted\r\n",
        b"* 0 EXISTS\r\n", b"* 0 RECENT\r\n",
        T(b"* OK [UIDVALIDITY {N}] UIDs valid\r\n"), b"* OK [UIDNEXT 1] Predicted next UID\r\n",
        T(b"* OK [HIGHESTMODSEQ {NZ}] Highest\r\n"), T(b"* OK [MAILBOXID ({ID})] Ok\r\n"),
        b"a OK [READ-WRITE] SELECT completed\r\n"])


def qresync_setup(imap):
    """Six messages in INBOX; returns (session with QRESYNC enabled, UIDVALIDITY, the
    HIGHESTMODSEQ the session saw at SELECT); then another session flags UID 2, expunges UIDs
    4 and 5, and the first session leaves INBOX."""
    session = imap()
    for n in range(1, 7):
        append(session, b"INBOX", short(f"m{n}"))
    session.expect("ENABLE QRESYNC", [b"* ENABLED QRESYNC\r\n", b"A01 OK ENABLE completed\r\n"],
                   tag="A01")
    found = session.expect("SELECT INBOX", select_lines(6, recent=6, unseen=1,
                                                         highestmodseq=True))
    validity, modseq = int(found[0]), int(found[1])
    other = imap()
    other.run("SELECT INBOX")
    other.run("STORE 2 +FLAGS.SILENT (\\Seen \\Answered)")
    other.run("STORE 4:5 +FLAGS.SILENT (\\Deleted)")
    other.run("EXPUNGE")
    session.run("SELECT Drafts")
    return session, validity, modseq


def test_qresync_select_rfc7162_example(imap):
    """RFC 7162 §3.2.5.1 example A03: SELECT (QRESYNC (validity modseq known-uids)) → CLOSED
    for the mailbox left, the usual responses, VANISHED (EARLIER) for the expunged UIDs, FETCH
    with UID, FLAGS and MODSEQ for the changed ones; §3.2.5 example A02: a UIDVALIDITY mismatch
    ignores the rest; §3.2.3: QRESYNC parameters without ENABLE QRESYNC are BAD."""
    session, validity, modseq = qresync_setup(imap)
    found = session.expect(b"SELECT INBOX (QRESYNC (%d %d 1:6))" % (validity, modseq), [
        b"* OK [CLOSED] Previous mailbox closed\r\n"] + select_lines(
            4, unseen=1, uidnext=7, highestmodseq=True, tag=b"A03")[:-1] + [
        b"* VANISHED (EARLIER) 4:5\r\n",
        T(b"* 2 FETCH (UID 2 FLAGS (\\Answered \\Seen) MODSEQ ({N}))\r\n"),
        b"A03 OK [READ-WRITE] SELECT completed\r\n"], tag="A03")
    assert int(found[-1]) > modseq
    session.run("UNSELECT")
    # Known UIDs restrict what is reported.
    session.expect(b"SELECT INBOX (QRESYNC (%d %d 1:3))" % (validity, modseq),
                   select_lines(4, unseen=1, uidnext=7, highestmodseq=True)[:-1] + [
                       T(b"* 2 FETCH (UID 2 FLAGS (\\Answered \\Seen) MODSEQ ({N}))\r\n"),
                       b"a OK [READ-WRITE] SELECT completed\r\n"])
    session.run("UNSELECT")
    session.expect(b"SELECT INBOX (QRESYNC (67890007 %d 41:211))" % modseq, select_lines(
        4, unseen=1, uidnext=7, highestmodseq=True, tag=b"A02"), tag="A02")
    plain_session = imap()
    plain_session.expect(b"SELECT INBOX (QRESYNC (%d %d))" % (validity, modseq),
                         [b"a BAD ENABLE QRESYNC first\r\n"])
    plain_session.run("SELECT INBOX")
    plain_session.expect(b"UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq,
                         [b"a BAD VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC\r\n"])


def test_qresync_vanished(imap):
    """RFC 7162 §3.2.6 example (UID FETCH ... (CHANGEDSINCE m VANISHED): VANISHED (EARLIER)
    first, then the FETCHes); §3.2.10: with QRESYNC enabled, expunges — by EXPUNGE, by MOVE
    (RFC 6851 §4.3), by other sessions — are VANISHED, never EXPUNGE; §3.2.8: CLOSE sends
    nothing and no HIGHESTMODSEQ; VANISHED is BAD with a plain FETCH."""
    session, validity, modseq = qresync_setup(imap)
    session.run("SELECT INBOX")
    session.expect(b"UID FETCH 1:6 (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq, [
        b"* VANISHED (EARLIER) 4:5\r\n",
        T(b"* 2 FETCH (UID 2 FLAGS (\\Answered \\Seen) MODSEQ ({N}))\r\n"),
        b"s100 OK FETCH completed\r\n"], tag="s100")
    session.expect(b"FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % modseq,
                   [b"a BAD VANISHED requires UID FETCH\r\n"])
    other = imap()
    other.run("SELECT INBOX")
    other.run("STORE 1 +FLAGS.SILENT (\\Deleted)")
    other.run("EXPUNGE")
    session.expect("NOOP", [b"* VANISHED 1\r\n", b"a OK NOOP completed\r\n"])
    (trash_validity,) = matches([T(b"* STATUS Trash (UIDVALIDITY {N})\r\n"),
                                 b"a OK STATUS completed\r\n"],
                                session.run("STATUS Trash (UIDVALIDITY)"))
    session.expect("UID MOVE 3 Trash", [
        b"* OK [COPYUID " + trash_validity + b" 3 1] Moved\r\n", b"* VANISHED 3\r\n",
        b"a OK MOVE completed\r\n"])
    session.run("STORE 1 +FLAGS.SILENT (\\Deleted)")
    session.expect("CLOSE", [b"A202 OK CLOSE completed\r\n"], tag="A202")


def test_qresync_expunge_reports_highestmodseq(imap):
    """RFC 7162 §3.2.7 (EXPUNGE) and §3.2.9 (UID EXPUNGE): "If at least one message got
    expunged and QRESYNC was enabled, the server MUST send the updated per-mailbox
    modification sequence using the HIGHESTMODSEQ response code (see Section 3.1.2.1) in the
    tagged OK response." (Example: S: * VANISHED 405,407,410,425 / S: B202 OK [HIGHESTMODSEQ
    20010715194045319] expunged.)"""
    session = imap()
    soft = Soft()
    for n in range(1, 6):
        append(session, b"INBOX", short(f"m{n}"))
    session.run("ENABLE QRESYNC")
    session.run("SELECT INBOX")
    session.run("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    soft.expect(session, "EXPUNGE", [
        b"* VANISHED 2,4\r\n", T(b"B202 OK [HIGHESTMODSEQ {NZ}] {TEXT}\r\n")], tag="B202")
    session.run("STORE 1 +FLAGS.SILENT (\\Deleted)")
    soft.expect(session, "UID EXPUNGE 1:3", [
        b"* VANISHED 1\r\n", T(b". OK [HIGHESTMODSEQ {NZ}] {TEXT}\r\n")], tag=".")
    soft.check()


# ---------------------------------------------------------------------------------------------
# UTF8=ACCEPT (RFC 6855) and IMAP4rev2 (RFC 9051)

UTF8_MESSAGE = "From: Zoë <zoe@example.org>\r\nSubject: Grüße\r\n\r\nbody ü\r\n".encode()


def test_utf8_accept(imap):
    """RFC 6855 §3: after ENABLE UTF8=ACCEPT, quoted strings carry UTF-8 (mailbox names are
    listed that way; invalid UTF-8 is BAD); before it, names are modified UTF-7 (RFC 3501
    §5.1.3). §4: APPEND's UTF8 data extension takes a literal8."""
    session = imap()
    session.expect("CREATE &ANw-berweisung", [T(b"a OK [MAILBOXID ({ID})] CREATE completed\r\n")])
    session.expect('LIST "" "&ANw-*"', [b'* LIST (\\HasNoChildren) "/" &ANw-berweisung\r\n',
                                        b"a OK LIST completed\r\n"])
    session.expect("ENABLE UTF8=ACCEPT", [b"* ENABLED UTF8=ACCEPT\r\n",
                                          b"a OK ENABLE completed\r\n"])
    session.expect('LIST "" "Ü*"'.encode(), ['* LIST (\\HasNoChildren) "/" "Überweisung"\r\n'
                                             .encode(), b"a OK LIST completed\r\n"])
    session.expect('STATUS "Überweisung" (MESSAGES)'.encode(), [
        '* STATUS "Überweisung" (MESSAGES 0)\r\n'.encode(), b"a OK STATUS completed\r\n"])
    session.expect(b'CREATE "\xff\xfe"', [b"a BAD quoted string is not valid UTF-8\r\n"])
    session.expect('APPEND "Überweisung" UTF8 (~{%d+}\r\n'.encode() % len(UTF8_MESSAGE)
                   + UTF8_MESSAGE + b")", [T(b"a OK [APPENDUID {N} 1] APPEND completed\r\n")])
    session.run('EXAMINE "Überweisung"'.encode())
    session.expect(b"FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])", [
        b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] "
        + literal("Subject: Grüße\r\n\r\n".encode()) + b")\r\n", b"a OK FETCH completed\r\n"])
    session.expect('SEARCH SUBJECT "Grü"'.encode(), [b"* SEARCH 1\r\n",
                                                     b"a OK SEARCH completed\r\n"])


def test_utf8_headers_need_enable(imap):
    """RFC 6855 §4: "If an IMAP server supports "UTF8=ACCEPT" and the IMAP client has not
    issued the "ENABLE UTF8=ACCEPT" command, the server MUST reject, with a "NO" response, an
    "APPEND" command that includes any 8-bit character in message header fields." """
    session = imap()
    session.expect(b"APPEND Drafts {%d+}\r\n" % len(UTF8_MESSAGE) + UTF8_MESSAGE,
                   [T(b"a NO {TEXT}\r\n")])
    session.expect("STATUS Drafts (MESSAGES)", [b"* STATUS Drafts (MESSAGES 0)\r\n",
                                                b"a OK STATUS completed\r\n"])


def test_imap4rev2_session(imap):
    """RFC 9051 once ENABLEd: SELECT sends no RECENT/UNSEEN but the mailbox's LIST (§6.3.2),
    CLOSED when another mailbox was selected (§7.1), SEARCH answers ESEARCH (§6.4.4), no
    \\Recent in FLAGS, unsolicited FETCH carries the UID (§7.5.2)."""
    session = imap()
    for n in range(3):
        append(session, b"INBOX", short(f"m{n}"))
    session.expect("ENABLE IMAP4rev2", [b"* ENABLED IMAP4REV2\r\n", b"a OK ENABLE completed\r\n"])
    inbox = [b"* FLAGS (" + SYSTEM_FLAGS + b")\r\n",
             b"* OK [PERMANENTFLAGS (" + SYSTEM_FLAGS + b" \\*)] Flags permitted\r\n",
             b"* 3 EXISTS\r\n", T(b"* OK [UIDVALIDITY {N}] UIDs valid\r\n"),
             b"* OK [UIDNEXT 4] Predicted next UID\r\n", T(b"* OK [MAILBOXID ({ID})] Ok\r\n"),
             b'* LIST () "/" INBOX\r\n', b"a OK [READ-WRITE] SELECT completed\r\n"]
    session.expect("SELECT INBOX", inbox)
    session.expect("SELECT INBOX", [b"* OK [CLOSED] Previous mailbox closed\r\n"] + inbox)
    session.expect("SEARCH UNSEEN", [b'* ESEARCH (TAG "a") ALL 1:3\r\n',
                                     b"a OK SEARCH completed\r\n"])
    session.expect("UID SEARCH 2:*", [b'* ESEARCH (TAG "a") UID ALL 2:3\r\n',
                                      b"a OK SEARCH completed\r\n"])
    session.expect("SEARCH SUBJECT nothing", [b'* ESEARCH (TAG "a")\r\n',
                                              b"a OK SEARCH completed\r\n"])
    session.expect("FETCH 1 (FLAGS)", [b"* 1 FETCH (FLAGS ())\r\n", b"a OK FETCH completed\r\n"])
    other = imap()
    other.run("SELECT INBOX")
    other.run("STORE 2 +FLAGS.SILENT (\\Flagged)")
    session.expect("NOOP", [b"* 2 FETCH (UID 2 FLAGS (\\Flagged))\r\n",
                            b"a OK NOOP completed\r\n"])


# ---------------------------------------------------------------------------------------------
# The other advertised SASL mechanisms: AUTH=LOGIN and AUTH=SCRAM-SHA-256 (RFC 5802, RFC 7677)


def test_authenticate_login(imap):
    """AUTH=LOGIN (draft-murchison-sasl-login): challenges "Username:" and "Password:" in
    base64; with SASL-IR (RFC 4959) the user name rides on the command."""
    session = imap(None)
    session.send("a AUTHENTICATE LOGIN\r\n")
    assert session.response() == b"+ VXNlcm5hbWU6\r\n"
    session.send(base64.b64encode(ALICE.encode()) + b"\r\n")
    assert session.response() == b"+ UGFzc3dvcmQ6\r\n"
    session.send(base64.b64encode(USERS[ALICE].encode()) + b"\r\n")
    assert session.until_tagged("a") == [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN
                                         + b"] Logged in\r\n"]
    session = imap(None)
    session.send(b"b AUTHENTICATE LOGIN " + base64.b64encode(BOB.encode()) + b"\r\n")
    assert session.response() == b"+ UGFzc3dvcmQ6\r\n"
    session.send(base64.b64encode(b"wrong") + b"\r\n")
    assert session.until_tagged("b") == [b"b NO [AUTHENTICATIONFAILED] Authentication failed\r\n"]


def scram_proof(password, salt, iterations, auth_message):
    salted = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    signature = hmac.new(stored_key, auth_message, "sha256").digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    return proof, hmac.new(server_key, auth_message, "sha256").digest()


def test_authenticate_scram_sha_256(imap):
    """RFC 7677 §3 / RFC 5802 §5 exchange (client nonce of the RFC's example): the server-first
    message extends our nonce and gives salt and iteration count, the server-final message
    proves the server knows the password (v=ServerSignature), then OK; a wrong proof is NO
    (e=... or AUTHENTICATIONFAILED); "*" cancels with BAD."""
    client_nonce = b"rOprNGfwEbeRWgbNEkqO"
    first_bare = b"n=" + ALICE.encode() + b",r=" + client_nonce
    session = imap(None)
    session.send(b"a AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(b"n,," + first_bare)
                 + b"\r\n")
    (challenge,) = matches([T(b"+ {TEXT}\r\n")], [session.response()])
    server_first = base64.b64decode(challenge)
    match = re.fullmatch(rb"r=(" + client_nonce + rb"[!-+\--~]+),s=([A-Za-z0-9+/=]+),i=(\d+)",
                         server_first)
    assert match, server_first
    nonce, salt, iterations = match.group(1), base64.b64decode(match.group(2)), int(match.group(3))
    assert iterations >= 4096, iterations  # RFC 7677 §4: at least 4096
    final_without_proof = b"c=biws,r=" + nonce
    auth_message = first_bare + b"," + server_first + b"," + final_without_proof
    proof, server_signature = scram_proof(USERS[ALICE].encode(), salt, iterations, auth_message)
    session.send(base64.b64encode(final_without_proof + b",p=" + base64.b64encode(proof))
                 + b"\r\n")
    assert session.response() == b"+ " + base64.b64encode(
        b"v=" + base64.b64encode(server_signature)) + b"\r\n"
    session.send(b"\r\n")
    assert session.until_tagged("a") == [b"a OK [CAPABILITY " + CAPS_AFTER_LOGIN
                                         + b"] Logged in\r\n"]
    # A wrong proof.
    session = imap(None)
    session.send(b"b AUTHENTICATE SCRAM-SHA-256 " + base64.b64encode(b"n,," + first_bare)
                 + b"\r\n")
    server_first = base64.b64decode(session.response()[2:])
    nonce = re.match(rb"r=([^,]+)", server_first).group(1)
    final_without_proof = b"c=biws,r=" + nonce
    session.send(base64.b64encode(final_without_proof + b",p=" + base64.b64encode(b"x" * 32))
                 + b"\r\n")
    lines = session.until_tagged("b")
    assert lines == [b"b NO [AUTHENTICATIONFAILED] Authentication failed\r\n"], lines
    session.send(b"c AUTHENTICATE SCRAM-SHA-256\r\n")
    assert session.response() == b"+ \r\n"
    session.send(b"*\r\n")
    assert session.until_tagged("c") == [b"c BAD Authentication cancelled\r\n"]
