"""IMAP (RFC 3501, RFC 9051 and extensions) against the real server with Python's imaplib and
raw sockets: login on either shard, mailbox commands, APPEND/FETCH byte for byte, STORE,
SEARCH, EXPUNGE, COPY/MOVE with UIDPLUS codes, and two sessions seeing each other's changes,
IDLE included. Mail delivered by LMTP is read back by IMAP byte for byte.
"""

import imaplib
import re
import smtplib
import socket
import ssl
import time

import pytest

from conftest import USERS

ALICE = "alice@example.test"
BOB = "bob@example.test"
TIMEOUT_SECS = 10
MESSAGE = (
    b"From: Carol <carol@example.org>\r\n"
    b"To: alice@example.test\r\n"
    b"Subject: greetings\r\n"
    b"Date: Tue, 24 Nov 2026 10:11:12 +0000\r\n"
    b"Message-ID: <greetings@example.org>\r\n"
    b"\r\n"
    b"Hello Alice,\r\nthis is the body.\r\n"
)


def connect(server, user=ALICE):
    client = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=TIMEOUT_SECS)
    if user:
        client.login(user, USERS[user])
    return client


def deliver(server, recipient, message):
    with smtplib.LMTP("127.0.0.1", server.port("lmtp"), timeout=TIMEOUT_SECS) as client:
        client.ehlo("mta.example")
        assert client.sendmail("sender@example.org", [recipient], message) == {}


def ok(response):
    status, data = response
    assert status == "OK", (status, data)
    return data


class Raw:
    """A plain socket speaking IMAP line by line, for exact bytes."""

    def __init__(self, server, protocol="imap"):
        self.socket = socket.create_connection(("127.0.0.1", server.port(protocol)), TIMEOUT_SECS)
        self.file = self.socket.makefile("rb")

    def line(self):
        return self.file.readline()

    def send(self, data):
        self.socket.sendall(data)

    def until_tagged(self, tag):
        """Every line up to and including the tagged response of `tag`."""
        lines = []
        while True:
            line = self.line()
            assert line, "connection closed"
            lines.append(line)
            if line.startswith(tag.encode() + b" "):
                return lines

    def close(self):
        self.file.close()
        self.socket.close()


def test_capabilities_before_and_after_login(server):
    client = connect(server, user=None)
    before = client.capabilities
    assert "IMAP4REV1" in before and "AUTH=PLAIN" in before
    assert "LITERAL+" in before and "SASL-IR" in before
    # Loopback plaintext is allowed by the embedded defaults, so no LOGINDISABLED here.
    assert "LOGINDISABLED" not in before
    client.login(ALICE, USERS[ALICE])
    status, data = client.capability()
    after = data[0].decode().upper().split()
    for name in ("UIDPLUS", "MOVE", "IDLE", "NAMESPACE", "SPECIAL-USE", "ESEARCH", "UNSELECT"):
        assert name in after, after
    client.logout()


def test_every_login_reaches_the_owner_shard(server):
    for _ in range(6):
        for user in (ALICE, BOB):
            client = connect(server, user)
            data = ok(client.select("INBOX"))
            assert data == [b"0"]
            client.logout()


def test_wrong_password_and_the_connection_goes_on(server):
    client = connect(server, user=None)
    with pytest.raises(imaplib.IMAP4.error) as refused:
        client.login(ALICE, "wrong")
    assert "AUTHENTICATIONFAILED" in str(refused.value)
    client.login(ALICE, USERS[ALICE])
    client.logout()


def test_authenticate_plain_with_initial_response(server):
    client = connect(server, user=None)
    password = USERS[BOB]
    client.authenticate("PLAIN", lambda _: f"\0{BOB}\0{password}".encode())
    ok(client.select("INBOX"))
    client.logout()


def test_default_mailboxes_with_special_use(server):
    client = connect(server)
    data = ok(client.list())
    lines = {line.decode() for line in data}
    assert '(\\HasNoChildren) "/" INBOX' in lines, lines
    for name, use in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                      ("Junk", "\\Junk"), ("Archive", "\\Archive")):
        assert f'(\\HasNoChildren {use}) "/" {name}' in lines, lines
    client.logout()


def test_lmtp_delivery_is_read_back_byte_for_byte(server):
    deliver(server, ALICE, MESSAGE)
    client = connect(server)
    assert ok(client.select("INBOX")) == [b"1"]
    data = ok(client.fetch("1", "(BODY.PEEK[] RFC822.SIZE FLAGS)"))
    stored = data[0][1]
    # LMTP adds Return-Path and Received in front of the message.
    assert stored.endswith(MESSAGE)
    assert f"RFC822.SIZE {len(stored)}".encode() in data[1]
    data = ok(client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"))
    assert data[0][1] == b"From: Carol <carol@example.org>\r\nSubject: greetings\r\n\r\n"
    data = ok(client.fetch("1", "(BODY.PEEK[TEXT])"))
    assert data[0][1] == b"Hello Alice,\r\nthis is the body.\r\n"
    data = ok(client.fetch("1", "(ENVELOPE)"))
    envelope = data[0].decode()
    assert '"greetings"' in envelope and '(("Carol" NIL "carol" "example.org"))' in envelope
    data = ok(client.fetch("1", "(BODYSTRUCTURE)"))
    assert b'("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 33 2' in data[0].upper()
    # Not peeking sets \Seen, reported with the data.
    data = ok(client.fetch("1", "(BODY[TEXT]<6.5>)"))
    assert data[0][1] == b"Alice"
    assert b"\\Seen" in data[0][0] and b"BODY[TEXT]<6>" in data[0][0]
    client.logout()


def test_append_and_fetch_back_with_appenduid(server):
    client = connect(server)
    big = MESSAGE + b"x" * 200_000 + b"\r\n"
    status, data = client.append("Drafts", "(\\Draft $Label1)", None, big)
    assert status == "OK"
    match = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
    assert match, data
    validity, uid = match.groups()
    data = ok(client.select("Drafts"))
    assert data == [b"1"]
    status, data = client.uid("FETCH", uid.decode(), "(FLAGS BODY.PEEK[])")
    assert status == "OK"
    assert data[0][1] == big
    assert b"\\Draft" in data[0][0] and b"$Label1" in data[0][0]
    status, data = client.status("Drafts", "(MESSAGES UIDVALIDITY UIDNEXT UNSEEN SIZE)")
    assert status == "OK"
    assert f"UIDVALIDITY {validity.decode()}".encode() in data[0]
    assert f"SIZE {len(big)}".encode() in data[0]
    client.logout()


def test_append_to_a_missing_mailbox_says_trycreate(server):
    client = connect(server)
    status, data = client.append("Nowhere", None, None, MESSAGE)
    assert status == "NO" and b"[TRYCREATE]" in data[0]
    client.logout()


def test_store_search_expunge(server):
    client = connect(server)
    for n in range(5):
        client.append("INBOX", None, None, MESSAGE.replace(b"greetings", f"note {n}".encode()))
    ok(client.select("INBOX"))
    data = ok(client.store("2:3", "+FLAGS", "(\\Deleted)"))
    assert len(data) == 2 and b"\\Deleted" in data[0]
    assert ok(client.search(None, "DELETED")) == [b"2 3"]
    assert ok(client.search(None, "SUBJECT", '"note 4"')) == [b"5"]
    assert ok(client.search(None, "BODY", "alice")) == [b"1 2 3 4 5"]
    assert ok(client.search(None, "NOT", "DELETED", "SMALLER", "10")) == [b""]
    assert ok(client.uid("SEARCH", "UID", "4:*")) == [b"4 5"]
    status, data = client.expunge()
    assert status == "OK" and data == [b"3", b"2"] or data == [b"2", b"2"], data
    assert ok(client.search(None, "ALL")) == [b"1 2 3"]
    client.logout()


def test_create_rename_delete_subscribe(server):
    client = connect(server)
    ok(client.create("Projects/2026/Q4"))
    lines = {line.decode() for line in ok(client.list('""', "Projects*"))}
    assert lines == {
        '(\\HasChildren) "/" Projects',
        '(\\HasChildren) "/" Projects/2026',
        '(\\HasNoChildren) "/" Projects/2026/Q4',
    }
    assert ok(client.list('""', "Projects/%")) == [b'(\\HasChildren) "/" Projects/2026']
    ok(client.rename("Projects", "Work"))
    lines = {line.decode() for line in ok(client.list('""', "*"))}
    assert '(\\HasNoChildren) "/" Work/2026/Q4' in lines and not any("Projects" in l for l in lines)
    ok(client.subscribe("Work/2026"))
    assert ok(client.lsub('""', "*")) == [b'() "/" Work/2026']
    ok(client.delete("Work/2026/Q4"))
    status, data = client.delete("INBOX")
    assert status == "NO"
    status, data = client.create("Work")
    assert status == "NO" and b"ALREADYEXISTS" in data[0]
    client.logout()


def test_copy_and_move_report_copyuid(server):
    client = connect(server)
    for n in range(3):
        client.append("INBOX", None, None, MESSAGE + f"{n}\r\n".encode())
    ok(client.select("INBOX"))
    status, data = client.copy("1:2", "Archive")
    assert status == "OK" and re.search(rb"\[COPYUID \d+ 1:2 1:2\]", data[0]), data
    status, data = client.uid("MOVE", "3", "Trash")
    assert status == "OK", data
    assert ok(client.search(None, "ALL")) == [b"1 2"]
    ok(client.select("Archive"))
    data = ok(client.fetch("2", "(BODY.PEEK[])"))
    assert data[0][1] == MESSAGE + b"1\r\n"
    ok(client.select("Trash"))
    data = ok(client.fetch("1", "(BODY.PEEK[])"))
    assert data[0][1] == MESSAGE + b"2\r\n"
    client.logout()


def test_two_sessions_see_each_other(server):
    first = connect(server)
    second = connect(server)
    ok(first.select("INBOX"))
    ok(second.select("INBOX"))
    first.append("INBOX", None, None, MESSAGE)
    status, data = second.noop()
    assert b"1" in [d for d in second.untagged_responses.get("EXISTS", [])], second.untagged_responses
    ok(first.store("1", "+FLAGS", "(\\Flagged)"))
    second.noop()
    fetches = second.untagged_responses.get("FETCH", [])
    assert any(b"\\Flagged" in f for f in fetches), fetches
    ok(first.store("1", "+FLAGS", "(\\Deleted)"))
    first.expunge()
    second.noop()
    assert second.untagged_responses.get("EXPUNGE") == [b"1"]
    first.logout()
    second.logout()


def test_a_body_being_sent_survives_an_expunge_by_another_session(server):
    """RFC 2180 §4.1.1: a session goes on being served a message until it has been told of its
    expunge. Session A asks for an 8 MiB body and does not read, so the server's streaming
    waits on a full socket; session B expunges the message; A then gets the whole literal,
    byte for byte, and its tagged OK, and the connection goes on."""
    body = b"Subject: big\r\n\r\n" + b"".join(b"line %07d %s\r\n" % (n, b"x" * 60) for n in range(110_000))
    reader = login_raw(server)
    reader.send(b"s SELECT INBOX\r\n")
    reader.until_tagged("s")
    reader.send(b"a APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    appended = reader.until_tagged("a")[-1]
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", appended).group(1))
    expunger = connect(server)
    ok(expunger.select("INBOX"))
    reader.send(b"f UID FETCH %d (BODY.PEEK[])\r\n" % uid)
    time.sleep(0.5)
    ok(expunger.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"))
    ok(expunger.expunge())
    expunger.logout()
    header = reader.line()
    while b"FETCH" not in header:  # EXISTS, RECENT or FLAGS before it
        header = reader.line()
    assert header.endswith(b"BODY[] {%d}\r\n" % len(body)), header
    literal = reader.file.read(len(body))
    assert literal == body
    rest = reader.until_tagged("f")
    assert rest[-1].startswith(b"f OK"), rest
    # The expunge is reported after the FETCH, and the session goes on.
    reader.send(b"n NOOP\r\n")
    lines = reader.until_tagged("n")
    assert any(re.match(rb"\* \d+ EXPUNGE", line) for line in rest + lines), rest + lines
    assert lines[-1].startswith(b"n OK")
    reader.close()


def test_idle_hears_a_delivery(server):
    raw = Raw(server)
    assert raw.line().startswith(b"* OK [CAPABILITY ")
    raw.send(f'a LOGIN {ALICE} "{USERS[ALICE]}"\r\n'.encode())
    assert raw.until_tagged("a")[-1].startswith(b"a OK")
    raw.send(b"b SELECT INBOX\r\n")
    assert raw.until_tagged("b")[-1] == b"b OK [READ-WRITE] SELECT completed\r\n"
    raw.send(b"c IDLE\r\n")
    assert raw.line() == b"+ idling\r\n"
    started = time.monotonic()
    deliver(server, ALICE, MESSAGE)
    assert raw.line() == b"* 1 EXISTS\r\n"
    assert raw.line() == b"* 1 RECENT\r\n"
    assert time.monotonic() - started < TIMEOUT_SECS
    raw.send(b"DONE\r\n")
    assert raw.line() == b"c OK IDLE terminated\r\n"
    raw.send(b"d LOGOUT\r\n")
    assert raw.until_tagged("d")[-1].startswith(b"d OK")
    raw.close()


def test_select_transcript(server):
    client = connect(server)
    client.append("INBOX", "(\\Seen)", None, MESSAGE)
    client.append("INBOX", None, None, MESSAGE)
    client.logout()
    raw = Raw(server)
    raw.line()
    raw.send(f'a LOGIN {ALICE} "{USERS[ALICE]}"\r\n'.encode())
    raw.until_tagged("a")
    raw.send(b"b EXAMINE INBOX\r\n")
    lines = raw.until_tagged("b")
    validity = re.search(rb"UIDVALIDITY (\d+)", b"".join(lines)).group(1)
    mailbox_id = re.search(rb"MAILBOXID \(([A-Za-z0-9_-]+)\)", b"".join(lines)).group(1)
    assert lines == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
        b"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n",
        b"* 2 EXISTS\r\n",
        b"* 0 RECENT\r\n",
        b"* OK [UNSEEN 2] First unseen\r\n",
        b"* OK [UIDVALIDITY " + validity + b"] UIDs valid\r\n",
        b"* OK [UIDNEXT 3] Predicted next UID\r\n",
        b"* OK [MAILBOXID (" + mailbox_id + b")] Ok\r\n",
        b"b OK [READ-ONLY] EXAMINE completed\r\n",
    ]
    raw.send(b"c FETCH 1:* (UID FLAGS)\r\n")
    assert raw.until_tagged("c") == [
        b"* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n",
        b"* 2 FETCH (UID 2 FLAGS ())\r\n",
        b"c OK FETCH completed\r\n",
    ]
    raw.send(b"d STORE 1 +FLAGS (\\Flagged)\r\n")
    assert raw.until_tagged("d") == [b"d NO [READ-ONLY] Mailbox is read-only\r\n"]
    raw.close()


def test_hostile_input_gets_bad_and_the_connection_goes_on(server):
    raw = Raw(server)
    raw.line()
    for line in (
        b"a1 LOGIN {4294967296}\r\n",
        b"a2 LOGIN {18446744073709551616}\r\n",
        b"a3 LOGIN {-1}\r\n",
        b"a4 NOSUCHCOMMAND\r\n",
        b"a5 SELECT INBOX\r\n",
        b"a6 FETCH 1 (" + b"(" * 10_000 + b"\r\n",
        b"\x00\x01\x02 garbage\r\n",
    ):
        raw.send(line)
        response = raw.line()
        assert b" BAD " in response or response.startswith(b"* BAD"), (line[:40], response)
    raw.send(b"a7 NOOP\r\n")
    assert raw.line() == b"a7 OK NOOP completed\r\n"
    # A rejected non-synchronising literal is read and dropped, never run as commands.
    literal = b"a9 LOGOUT\r\n" * 30_000
    raw.send(f"a8 LOGIN {{{len(literal)}+}}\r\n".encode() + literal + b" x\r\n")
    assert b"a8 BAD" in raw.line()
    raw.send(b"b1 NOOP\r\n")
    assert raw.line() == b"b1 OK NOOP completed\r\n"
    raw.close()


def test_imaps_and_starttls(server):
    context = server.tls_context()
    client = imaplib.IMAP4_SSL("localhost", server.port("imaps"), ssl_context=context,
                               timeout=TIMEOUT_SECS)
    client.login(BOB, USERS[BOB])
    ok(client.select("INBOX"))
    client.logout()
    client = imaplib.IMAP4("localhost", server.port("imap"), timeout=TIMEOUT_SECS)
    assert "STARTTLS" in client.capabilities
    client.starttls(ssl_context=context)
    assert "STARTTLS" not in client.capabilities
    client.login(BOB, USERS[BOB])
    client.logout()


def login_raw(server):
    raw = Raw(server)
    raw.line()
    raw.send(f'a LOGIN {ALICE} "{USERS[ALICE]}"\r\n'.encode())
    assert raw.until_tagged("a")[-1].startswith(b"a OK")
    return raw


def test_condstore_and_qresync_resync(server):
    client = connect(server)
    for n in range(6):
        client.append("INBOX", None, None, MESSAGE + f"{n}\r\n".encode())
    client.logout()
    raw = login_raw(server)
    raw.send(b"b ENABLE QRESYNC\r\n")
    assert raw.until_tagged("b") == [b"* ENABLED QRESYNC\r\n", b"b OK ENABLE completed\r\n"]
    raw.send(b"c SELECT INBOX\r\n")
    lines = raw.until_tagged("c")
    joined = b"".join(lines)
    validity = int(re.search(rb"UIDVALIDITY (\d+)", joined).group(1))
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", joined).group(1))
    # Another session changes flags and expunges while this client is away.
    other = connect(server)
    ok(other.select("INBOX"))
    ok(other.store("2", "+FLAGS", "(\\Flagged)"))
    ok(other.store("4:5", "+FLAGS", "(\\Deleted)"))
    other.expunge()
    other.logout()
    raw.send(b"d UNSELECT\r\n")
    raw.until_tagged("d")
    raw.send(f"e SELECT INBOX (QRESYNC ({validity} {modseq} 1:6))\r\n".encode())
    lines = raw.until_tagged("e")
    assert b"* VANISHED (EARLIER) 4:5\r\n" in lines, lines
    flagged = [l for l in lines if l.startswith(b"* 2 FETCH")]
    assert len(flagged) == 1 and b"UID 2" in flagged[0] and b"\\Flagged" in flagged[0], lines
    assert re.match(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \((\d+)\)\)\r\n", flagged[0])
    raw.send(f"f UID FETCH 1:* (FLAGS) (CHANGEDSINCE {modseq} VANISHED)\r\n".encode())
    lines = raw.until_tagged("f")
    assert lines[0] == b"* VANISHED (EARLIER) 4:5\r\n", lines
    assert len(lines) == 3 and lines[1].startswith(b"* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (")
    # A conditional STORE whose condition fails names the message in MODIFIED.
    raw.send(f"g STORE 2 (UNCHANGEDSINCE {modseq}) +FLAGS.SILENT (\\Seen)\r\n".encode())
    assert raw.until_tagged("g") == [b"g OK [MODIFIED 2] Conditional STORE failed\r\n"]
    raw.send(b"h STORE 1 (UNCHANGEDSINCE 999999999) +FLAGS.SILENT (\\Seen)\r\n")
    lines = raw.until_tagged("h")
    assert re.match(rb"\* 1 FETCH \(UID 1 MODSEQ \(\d+\)\)\r\n", lines[0]), lines
    assert lines[-1] == b"h OK STORE completed\r\n"
    raw.close()


MULTIPART = (
    b"From: a@example.org\r\nTo: alice@example.test\r\nSubject: parts\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
    b"preamble\r\n--xx\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n"
    b"--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"AAECAwRoZWxsbwA=\r\n"
    b"--xx--\r\n"
)


def test_binary_fetch_decodes_parts(server):
    client = connect(server)
    client.append("INBOX", None, None, MULTIPART)
    client.logout()
    raw = login_raw(server)
    raw.send(b"b SELECT INBOX\r\n")
    raw.until_tagged("b")
    raw.send(b"c FETCH 1 (BINARY.SIZE[2] BINARY.PEEK[2])\r\n")
    head = raw.line()
    assert head == b"* 1 FETCH (BINARY.SIZE[2] 11 BINARY[2] ~{11}\r\n", head
    assert raw.file.read(11) == b"\x00\x01\x02\x03\x04hello\x00"
    assert raw.line() == b")\r\n"
    assert raw.line() == b"c OK FETCH completed\r\n"
    raw.send(b"d FETCH 1 (BINARY.PEEK[1]<6.4> BODY.PEEK[1])\r\n")
    lines = raw.until_tagged("d")
    joined = b"".join(lines)
    assert b"BINARY[1]<6> {4}\r\npart" in joined, joined
    assert b"BODY[1] {10}\r\nfirst part" in joined, joined
    raw.close()


def test_savedate_objectid_quota(server):
    client = connect(server)
    client.append("INBOX", None, None, MESSAGE)
    ok(client.select("INBOX"))
    status, data = client.fetch("1", "(SAVEDATE EMAILID THREADID)")
    assert status == "OK"
    match = re.search(rb"EMAILID \(([A-Za-z0-9_-]+)\)", data[0])
    assert match and b"THREADID NIL" in data[0] and b'SAVEDATE "' in data[0], data
    email_id = match.group(1)
    ok(client.copy("1", "Archive"))
    status, data = client.status("Archive", "(MAILBOXID MESSAGES)")
    assert re.search(rb"MAILBOXID \(F[0-9a-f-]+\)", data[0]), data
    ok(client.select("Archive"))
    status, data = client.fetch("1", "(EMAILID)")
    assert email_id in data[0], (email_id, data)
    today = time.strftime("%d-%b-%Y", time.gmtime())
    assert ok(client.search(None, "SAVEDSINCE", today)) == [b"1"]
    assert ok(client.search(None, "SAVEDATESUPPORTED")) == [b"1"]
    status, data = client.getquotaroot("INBOX")
    assert status == "OK" and data[0] == [b'"INBOX" ""'] or data[0] == [b'INBOX ""'], data
    assert data[1] == [b'"" ()'], data
    client.logout()


def test_utf8_accept_and_modified_utf7_names(server):
    raw = login_raw(server)
    raw.send('b CREATE "Überweisung"\r\n'.encode())
    assert raw.until_tagged("b")[-1].startswith(b"b BAD"), "8-bit names need UTF8=ACCEPT"
    raw.send(b"c CREATE &ANw-berweisung\r\n")
    assert raw.until_tagged("c")[-1].startswith(b"c OK [MAILBOXID (")
    raw.send(b'd LIST "" "&ANw-*"\r\n')
    assert raw.until_tagged("d")[0] == b'* LIST (\\HasNoChildren) "/" &ANw-berweisung\r\n'
    raw.send(b"e ENABLE UTF8=ACCEPT\r\n")
    assert raw.until_tagged("e")[0] == b"* ENABLED UTF8=ACCEPT\r\n"
    raw.send('f LIST "" "Ü*"\r\n'.encode())
    assert raw.until_tagged("f")[0] == '* LIST (\\HasNoChildren) "/" "Überweisung"\r\n'.encode()
    raw.close()


def test_imap4rev2_enabled_session(server):
    client = connect(server)
    client.append("INBOX", None, None, MESSAGE)
    client.logout()
    raw = login_raw(server)
    raw.send(b"b ENABLE IMAP4rev2\r\n")
    assert raw.until_tagged("b")[0] == b"* ENABLED IMAP4REV2\r\n"
    raw.send(b"c SELECT INBOX\r\n")
    lines = raw.until_tagged("c")
    assert b'* LIST () "/" INBOX\r\n' in lines and not any(b"RECENT" in l for l in lines), lines
    raw.send(b"d SEARCH ALL\r\n")
    assert raw.until_tagged("d") == [b'* ESEARCH (TAG "d") ALL 1\r\n', b"d OK SEARCH completed\r\n"]
    raw.send(b"e FETCH 1 (FLAGS)\r\n")
    assert raw.until_tagged("e")[0] == b"* 1 FETCH (FLAGS ())\r\n"
    raw.close()


def test_hostile_sequences_sections_names_and_states(server):
    client = connect(server)
    for n in range(3):
        client.append("INBOX", None, None, MESSAGE)
    client.logout()
    bystander = connect(server)
    ok(bystander.select("INBOX"))
    raw = Raw(server)
    raw.line()
    # Commands in the wrong state: BAD, and the connection goes on.
    raw.send(b"s1 FETCH 1 FLAGS\r\ns2 SELECT INBOX\r\n")
    assert raw.line().startswith(b"s1 BAD")
    assert raw.line().startswith(b"s2 BAD")
    raw.send(f'a LOGIN {ALICE} "{USERS[ALICE]}"\r\n'.encode())
    raw.until_tagged("a")
    raw.send(b"s3 FETCH 1 FLAGS\r\ns4 LOGIN x y\r\n")
    assert raw.line().startswith(b"s3 BAD")
    assert raw.line().startswith(b"s4 BAD")
    raw.send(b"b SELECT INBOX\r\n")
    raw.until_tagged("b")
    cases = [
        b"c1 FETCH 0 FLAGS\r\n",
        b"c2 FETCH 1:4294967295 FLAGS\r\n",
        b"c3 FETCH 99 FLAGS\r\n",
        b"c4 FETCH " + b",".join(str(n).encode() for n in range(1, 100_001)) + b" FLAGS\r\n",
        b"c5 FETCH 1 BODY[" + b".".join([b"1"] * 1000) + b"]\r\n",
        b"c6 SEARCH " + b"NOT " * 10_000 + b"ALL\r\n",
        b"c7 SEARCH " + b"(" * 10_000 + b"ALL" + b")" * 10_000 + b"\r\n",
        b'c8 CREATE "a\x00b"\r\n',
        b"c9 CREATE {3+}\r\na\xffb\r\n",
        b"c10 CREATE &Jjo\r\n",
        b"c11 STORE 1 +FLAGS (\\Recent)\r\n",
    ]
    for line in cases:
        raw.send(line)
        response = raw.line()
        assert response.startswith(line.split(b" ")[0] + b" BAD") or response.startswith(
            line.split(b" ")[0] + b" NO"
        ), (line[:60], response)
    # `*:1` is legal and means 1:*.
    raw.send(b"d FETCH *:1 (UID)\r\n")
    assert raw.until_tagged("d")[-1] == b"d OK FETCH completed\r\n"
    # Commands sent during IDLE are not run: anything but DONE ends it with BAD.
    raw.send(b"e IDLE\r\n")
    assert raw.line() == b"+ idling\r\n"
    raw.send(b"f LOGOUT\r\n")
    assert raw.line() == b"e BAD Expected DONE\r\n"
    raw.send(b"g NOOP\r\n")
    assert raw.line() == b"g OK NOOP completed\r\n"
    # Other sessions are unaffected.
    assert ok(bystander.search(None, "ALL")) == [b"1 2 3"]
    bystander.logout()
    # Twenty bad commands in a row end the connection.
    raw.send(b"x BOGUS\r\n" * 20)
    lines = [raw.line() for _ in range(21)]
    assert lines[-1] == b"* BYE Too many invalid commands\r\n", lines[-3:]
    assert raw.line() == b""
    raw.close()


def test_vanished_earlier_is_exact_after_a_restart(server):
    client = connect(server)
    for n in range(8):
        client.append("INBOX", None, None, MESSAGE + f"{n}\r\n".encode())
    status, data = client.select("INBOX")
    raw_status = client.status("INBOX", "(UIDVALIDITY HIGHESTMODSEQ)")[1][0]
    validity = int(re.search(rb"UIDVALIDITY (\d+)", raw_status).group(1))
    modseq = int(re.search(rb"HIGHESTMODSEQ (\d+)", raw_status).group(1))
    ok(client.store("2,5:6", "+FLAGS", "(\\Deleted)"))
    client.expunge()
    client.logout()
    assert server.stop() == 0
    server.start()
    raw = login_raw(server)
    raw.send(b"b ENABLE QRESYNC\r\n")
    raw.until_tagged("b")
    raw.send(f"c SELECT INBOX (QRESYNC ({validity} {modseq}))\r\n".encode())
    lines = raw.until_tagged("c")
    assert b"* VANISHED (EARLIER) 2,5:6\r\n" in lines, lines
    assert b"* 5 EXISTS\r\n" in lines, lines
    raw.close()


def test_search_decodes_mime_text(server):
    encoded = (
        b"From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.org>\r\nTo: alice@example.test\r\n"
        b"Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + __import__("base64").encodebytes("Schöne Grüße vom Rhein".encode())
        + b"--b\r\nContent-Type: text/html; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Stra=DFenbahn</p>\r\n--b--\r\n"
    )
    client = connect(server)
    client.append("INBOX", None, None, encoded)
    client.append("INBOX", None, None, MESSAGE)
    ok(client.select("INBOX"))
    client.literal = "köln".encode()
    assert ok(client.search("UTF-8", "SUBJECT")) == [b"1"]
    client.literal = "jürgen".encode()
    assert ok(client.search("UTF-8", "FROM")) == [b"1"]
    client.literal = "GRÜSSE VOM".encode()
    assert ok(client.search("UTF-8", "BODY")) == [b""], "ß does not fold to ss"
    client.literal = "grüße vom rhein".encode()
    assert ok(client.search("UTF-8", "BODY")) == [b"1"]
    client.literal = "straßenbahn".encode()
    assert ok(client.search("UTF-8", "TEXT")) == [b"1"]
    assert ok(client.search(None, "TEXT", "greetings")) == [b"2"]
    assert ok(client.search(None, "BODY", "Hello")) == [b"2"]
    client.logout()


def test_own_changes_are_not_reported_twice(server):
    client = connect(server)
    client.append("INBOX", None, None, MESSAGE)
    client.logout()
    raw = login_raw(server)
    raw.send(b"b SELECT INBOX\r\n")
    raw.until_tagged("b")
    raw.send(b"c STORE 1 +FLAGS (\\Flagged)\r\n")
    assert raw.until_tagged("c") == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n",
        b"c OK STORE completed\r\n",
    ]
    raw.send(b"d FETCH 1 (BODY[TEXT])\r\n")
    lines = raw.until_tagged("d")
    assert lines[0] == b"* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent) BODY[TEXT] {33}\r\n", lines
    raw.send(b"e NOOP\r\n")
    assert raw.until_tagged("e") == [b"e OK NOOP completed\r\n"]
    raw.close()


def test_create_special_use(server):
    raw = login_raw(server)
    raw.send(b"b CREATE Spam (USE (\\Junk))\r\n")
    assert raw.until_tagged("b") == [b"b NO [USEATTR] Another mailbox has that special-use attribute\r\n"]
    raw.send(b"c CREATE Everything (USE (\\All))\r\n")
    assert raw.until_tagged("c") == [b"c NO [USEATTR] Unsupported special-use attribute\r\n"]
    raw.send(b"d DELETE Junk\r\n")
    raw.until_tagged("d")
    raw.send(b"e CREATE Spam (USE (\\Junk))\r\n")
    assert raw.until_tagged("e")[-1].startswith(b"e OK [MAILBOXID (")
    raw.send(b'f LIST (SPECIAL-USE) "" "*"\r\n')
    assert raw.until_tagged("f") == [
        b'* LIST (\\HasNoChildren \\Archive) "/" Archive\r\n',
        b'* LIST (\\HasNoChildren \\Drafts) "/" Drafts\r\n',
        b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n',
        b'* LIST (\\HasNoChildren \\Junk) "/" Spam\r\n',
        b'* LIST (\\HasNoChildren \\Trash) "/" Trash\r\n',
        b"f OK LIST completed\r\n",
    ]
    raw.send(b"g RENAME Spam Junk/Spam\r\n")
    raw.until_tagged("g")
    raw.send(b'h LIST "" "Junk*"\r\n')
    assert raw.until_tagged("h") == [
        b'* LIST (\\HasChildren) "/" Junk\r\n',
        b'* LIST (\\HasNoChildren \\Junk) "/" Junk/Spam\r\n',
        b"h OK LIST completed\r\n",
    ]
    raw.close()


def test_pop3_deletions_reach_imap_sessions_as_expunges(server):
    import poplib

    client = connect(server)
    for n in range(3):
        client.append("INBOX", None, None, MESSAGE + f"{n}\r\n".encode())
    ok(client.select("INBOX"))
    pop = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=TIMEOUT_SECS)
    pop.user(ALICE)
    pop.pass_(USERS[ALICE])
    assert pop.stat()[0] == 3
    pop.dele(2)
    pop.quit()
    client.noop()
    assert client.untagged_responses.get("EXPUNGE") == [b"2"], client.untagged_responses
    data = ok(client.fetch("1:*", "(BODY.PEEK[TEXT])"))
    bodies = [item[1] for item in data if isinstance(item, tuple)]
    assert bodies == [b"Hello Alice,\r\nthis is the body.\r\n0\r\n", b"Hello Alice,\r\nthis is the body.\r\n2\r\n"]
    client.logout()
