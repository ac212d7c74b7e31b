"""IMAP against real clients: Debian's mbsync (isync), mutt, offlineimap and fetchmail work
against Postern without errors or warnings, each over TLS (IMAPS or STARTTLS) trusting only the
server's self-signed certificate.

mbsync syncs 1,000 messages delivered over LMTP into a Maildir byte for byte, then carries flag
changes, deletions and new messages both ways, and a third run finds nothing to do; it also syncs
a whole account (the special-use folders made locally, a local folder made on the server).
offlineimap does the two-way sync with 300 messages. mutt, driven through a pseudo-terminal with
COMPRESS=DEFLATE and QRESYNC on, copies, moves into a folder it creates on TRYCREATE, pipes, flags
and deletes, then resyncs from its header cache after another client's changes. fetchmail
downloads with keep and without. What each client did is checked on the server with imaplib and
on the client's side in its files.

The clients are required: a missing one fails the test, it does not skip it.
"""

import collections
import fcntl
import imaplib
import os
import pty
import re
import select
import shutil
import signal
import smtplib
import struct
import subprocess
import termios
import time

import pytest

from conftest import USERS

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@example.org"
BULK = 1000
OFFLINE_BULK = 300
CLIENT_TIMEOUT_SECS = 120
SUBJECT = re.compile(rb"^Subject: ([a-z]+ \d{4})\r?$", re.MULTILINE)
# Maildir flag letters (https://cr.yp.to/proto/maildir.html) and the IMAP flags they stand for.
MAILDIR_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen",
                 "T": "\\Deleted"}
SEEN = frozenset({"\\Seen"})
FLAGGED = frozenset({"\\Flagged"})
NONE = frozenset()


# --- messages ------------------------------------------------------------------------------------


def body_of(tag, index):
    """A body with what trips clients up: a line starting "From ", dot lines, 8-bit UTF-8, a tab,
    trailing blanks, a 900-octet line, an empty last line and, every 250th message, 200 KB."""
    lines = [f"{tag} message {index}, line {n}: " + "abcdefghij"[: index % 11] * (n + 1)
             for n in range(index % 7 + 1)]
    lines += ["From the start of a line", ".", "..", ".leading dot", "Grüße aus Köln – ✓",
              "\ta tab, and trailing blanks   ", "x" * 900, ""]
    if index % 250 == 0:
        lines += [f"{n:06d} " + "z" * 72 for n in range(2500)]
    return ("\r\n".join(lines) + "\r\n").encode()


def message_of(user, tag, index):
    return (
        f"From: Sender <{SENDER}>\r\n"
        f"To: <{user}>\r\n"
        f"Subject: {tag} {index:04d}\r\n"
        f"Message-ID: <{tag}-{index}@example.org>\r\n"
        "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    ).encode() + body_of(tag, index)


def key(tag, index):
    """The Subject that names a message: what both sides are matched by."""
    return f"{tag} {index:04d}"


def key_of(raw):
    match = SUBJECT.search(raw)
    assert match, raw[:300]
    return match.group(1).decode()


def deliver(server, user, tag, indices):
    """Messages `tag` `indices` to `user` over one LMTP connection."""
    with smtplib.LMTP("127.0.0.1", server.port("lmtp"), timeout=30) as client:
        client.ehlo("mta.example")
        for index in indices:
            refused = client.sendmail(SENDER, [user], message_of(user, tag, index))
            assert refused == {}, (index, refused)


def assert_as_delivered(stored, user, tag, indices):
    """The mailbox ({subject: Message}) holds exactly those LMTP deliveries: Return-Path and
    Received in front, then the message as sent, byte for byte."""
    assert sorted(stored) == [key(tag, index) for index in indices], sorted(stored)[:10]
    for index in indices:
        raw = stored[key(tag, index)].raw
        assert raw.startswith(f"Return-Path: <{SENDER}>\r\nReceived: ".encode()), raw[:200]
        assert raw.endswith(message_of(user, tag, index)), key(tag, index)


def lf(data):
    """Line ends as a Maildir or a pipe has them."""
    return data.replace(b"\r\n", b"\n")


def without_fields(raw, unwanted):
    """`raw` without the header fields (folded lines included) for which `unwanted(field)` holds,
    and how many there were: for the fields a client adds (mbsync's X-TUID, fetchmail's
    Received)."""
    newline = b"\r\n" if raw.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    head, separator, body = raw.partition(newline * 2)
    fields = []
    for line in head.split(newline):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += newline + line
        else:
            fields.append(line)
    kept = [field for field in fields if not unwanted(field)]
    return newline.join(kept) + separator + body, len(fields) - len(kept)


def without_tuid(raw):
    """mbsync marks each message it stores, on either side, with one X-TUID field."""
    stripped, count = without_fields(raw, lambda field: field.startswith(b"X-TUID: "))
    assert count <= 1, raw[:500]
    return stripped


# --- the server side, through imaplib ------------------------------------------------------------

Message = collections.namedtuple("Message", "uid flags raw")


def imap_login(server, user):
    client = imaplib.IMAP4("127.0.0.1", server.port("imap"), timeout=30)
    client.login(user, USERS[user])
    return client


def ok(response):
    status, data = response
    assert status == "OK", (status, data)
    return data


def mailbox(server, user, name="INBOX"):
    """{subject: Message(uid, flags, raw)} of the messages in mailbox `name`, read with EXAMINE
    and BODY.PEEK so that reading changes nothing."""
    client = imap_login(server, user)
    try:
        if int(ok(client.select(name, readonly=True))[0]) == 0:
            return {}
        entries = []
        for item in ok(client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")):
            if isinstance(item, tuple):
                entries.append([item[0], item[1]])
            elif entries:
                entries[-1][0] += item  # what follows the literal, e.g. b")" or b" FLAGS (...))"
        messages = {}
        for text, raw in entries:
            uid = int(re.search(rb"UID (\d+)", text).group(1))
            flags = frozenset(re.search(rb"FLAGS \(([^)]*)\)", text).group(1).decode().split())
            subject = key_of(raw)
            assert subject not in messages, f"{subject} twice in {name}"
            messages[subject] = Message(uid, flags - {"\\Recent"}, raw)
        return messages
    finally:
        client.logout()


def change_on_server(server, user, state, add_flags, expunge, append):
    """In one session: +FLAGS on messages ({subject: "(\\Flag ...)"}), \\Deleted and EXPUNGE on
    others ([subject]), and APPENDs ([(flags or None, raw)])."""
    client = imap_login(server, user)
    try:
        ok(client.select("INBOX"))
        for subject, flags in add_flags.items():
            ok(client.uid("STORE", str(state[subject].uid), "+FLAGS.SILENT", flags))
        if expunge:
            uids = ",".join(str(state[subject].uid) for subject in expunge)
            ok(client.uid("STORE", uids, "+FLAGS.SILENT", "(\\Deleted)"))
            ok(client.expunge())
        for flags, raw in append:
            ok(client.append("INBOX", flags, None, raw))
    finally:
        client.logout()


# --- the client side: Maildirs and processes -----------------------------------------------------

Local = collections.namedtuple("Local", "path flags")


def maildir(folder):
    """{subject: Local(path, flags)} of the messages in a Maildir folder, flags from file names."""
    messages = {}
    for subdirectory in ("new", "cur"):
        for path in (folder / subdirectory).iterdir():
            letters = path.name.partition(":2,")[2]
            flags = frozenset(MAILDIR_FLAGS[letter] for letter in letters
                              if letter in MAILDIR_FLAGS)
            subject = key_of(path.read_bytes())
            assert subject not in messages, f"{subject} twice in {folder}"
            messages[subject] = Local(path, flags)
    return messages


def set_maildir_flags(path, letters):
    """What a mail reader does to flag a message: move it to cur/ with the letters, sorted."""
    base, _, old = path.name.partition(":2,")
    new = "".join(sorted(set(old) | set(letters)))
    path.rename(path.parent.parent / "cur" / f"{base}:2,{new}")


def add_to_maildir(folder, name, raw):
    """A new message the way a mail reader writes one: into tmp/, then renamed into new/."""
    temporary = folder / "tmp" / name
    temporary.write_bytes(raw)
    temporary.rename(folder / "new" / name)


def snapshot(root):
    """Every message file of the Maildir folders under `root` (itself one, or a tree of them):
    name and bytes."""
    return {str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.parent.name in ("new", "cur")}


def require(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (Debian package: tests/run installs it)")
    return path


def run(command, home):
    """(exit code, stdout, stderr) of a client run with HOME set to `home`."""
    result = subprocess.run(
        command,
        env=dict(os.environ, HOME=str(home)),
        capture_output=True,
        timeout=CLIENT_TIMEOUT_SECS,
    )
    return (result.returncode, result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"))


def differences(actual, expected):
    """A short account of how two {subject: ...} dicts differ, for assertion messages."""
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    wrong = sorted(k for k in set(actual) & set(expected) if actual[k] != expected[k])
    return {"missing": missing[:10], "extra": extra[:10],
            "wrong": [(k, actual[k], expected[k]) for k in wrong[:10]]}


def assert_flags(server_state, local_state, expected):
    """Both sides hold exactly the messages of `expected` ({subject: flags}), with those flags."""
    on_server = {subject: message.flags for subject, message in server_state.items()}
    assert on_server == expected, differences(on_server, expected)
    on_client = {subject: local.flags for subject, local in local_state.items()}
    assert on_client == expected, differences(on_client, expected)


# --- mbsync --------------------------------------------------------------------------------------


class Mbsync:
    """mbsync between the account's INBOX (or, with `every_folder`, all its mailboxes) and
    Maildirs, everything propagated both ways and expunged on both sides, over IMAPS or STARTTLS
    with only the self-signed certificate trusted. Runs with -Dn: the IMAP conversation (no
    payloads) lands on stdout."""

    def __init__(self, server, root, user, ssl_type, every_folder=False):
        self.binary = require("mbsync")
        self.home = root / "mbsync"
        self.home.mkdir()
        self.root = root / "Mail"
        self.root.mkdir()
        self.inbox = self.root / "INBOX"
        if every_folder:
            boxes = "Far :far:\nNear :near:\nPatterns *\n"
        else:
            boxes = "Far :far:INBOX\nNear :near:INBOX\n"
        port = server.port("imaps" if ssl_type == "IMAPS" else "imap")
        self.config = self.home / "mbsyncrc"
        self.config.write_text(
            "IMAPAccount postern\n"
            "Host localhost\n"
            f"Port {port}\n"
            f'User "{user}"\n'
            f'Pass "{USERS[user]}"\n'
            f"SSLType {ssl_type}\n"
            f"CertificateFile {server.data_dir}/tls/self-signed.crt\n"
            "\nIMAPStore far\n"
            "Account postern\n"
            "\nMaildirStore near\n"
            f"Path {self.root}/\n"
            f"Inbox {self.inbox}\n"
            "SubFolders Verbatim\n"
            "\nChannel postern\n"
            f"{boxes}"
            "Create Both\n"
            "Expunge Both\n"
            "SyncState *\n"
            "Sync All\n"
        )

    def run(self):
        """One sync; it must succeed with nothing at all on stderr (no warning, no error) and
        every command answered OK. Returns the transcript."""
        code, transcript, errors = run([self.binary, "-Dn", "-c", str(self.config), "-a"],
                                       self.home)
        assert code == 0, (errors, transcript[-3000:])
        assert errors == "", (errors, transcript[-3000:])
        refused = re.findall(r"^\d+ (?:NO|BAD) .*$", transcript, re.MULTILINE)
        assert not refused, refused
        return transcript

    @staticmethod
    def commands(transcript):
        return re.findall(r">>> \d+ ([^\r\n]*)", transcript)


def test_mbsync_two_way_sync_of_1000_messages_over_imaps(server, tmp_path):
    mbsync = Mbsync(server, tmp_path, ALICE, "IMAPS")
    deliver(server, ALICE, "sync", range(BULK))
    delivered = mailbox(server, ALICE)
    assert_as_delivered(delivered, ALICE, "sync", range(BULK))

    # First run: everything arrives, byte for byte (LF line ends, one X-TUID field added).
    mbsync.run()
    local = maildir(mbsync.inbox)
    assert len(local) == BULK
    for subject, message in delivered.items():
        assert without_tuid(local[subject].path.read_bytes()) == lf(message.raw), subject
    assert_flags(mailbox(server, ALICE), local, {subject: NONE for subject in delivered})

    # Changes on both sides: flags, deletions and new messages.
    for index in range(0, 50):
        set_maildir_flags(local[key("sync", index)].path, "S")
    for index in range(50, 70):
        set_maildir_flags(local[key("sync", index)].path, "FS")
    for index in range(70, 90):
        local[key("sync", index)].path.unlink()
    for index in range(90, 95):
        set_maildir_flags(local[key("sync", index)].path, "T")  # trashed: expunged on both sides
    for index in range(200, 205):
        set_maildir_flags(local[key("sync", index)].path, "S")  # and \Flagged on the server
    for index in range(10):
        add_to_maildir(mbsync.inbox, f"{int(time.time())}.new{index}.localhost",
                       lf(message_of(ALICE, "local", index)))
    change_on_server(
        server, ALICE, delivered,
        add_flags={
            **{key("sync", index): "(\\Seen)" for index in range(100, 150)},
            **{key("sync", index): "(\\Flagged \\Answered)" for index in range(150, 160)},
            **{key("sync", index): "(\\Flagged)" for index in range(200, 205)},
        },
        expunge=[key("sync", index) for index in range(160, 180)],
        append=[("(\\Seen)" if index < 5 else None, message_of(ALICE, "remote", index))
                for index in range(10)],
    )

    # Second run: both sides agree.
    transcript = mbsync.run()
    commands = mbsync.commands(transcript)
    assert sum(command.startswith("APPEND") for command in commands) == 10, commands
    expected = {key("sync", index): NONE for index in range(BULK)
                if not 70 <= index < 95 and not 160 <= index < 180}
    expected.update({key("sync", index): SEEN for index in range(0, 50)})
    expected.update({key("sync", index): SEEN | FLAGGED for index in range(50, 70)})
    expected.update({key("sync", index): SEEN for index in range(100, 150)})
    expected.update({key("sync", index): FLAGGED | {"\\Answered"} for index in range(150, 160)})
    expected.update({key("sync", index): SEEN | FLAGGED for index in range(200, 205)})
    expected.update({key("remote", index): SEEN if index < 5 else NONE for index in range(10)})
    expected.update({key("local", index): NONE for index in range(10)})
    after = mailbox(server, ALICE)
    local = maildir(mbsync.inbox)
    assert_flags(after, local, expected)
    assert len(expected) == BULK - 45 + 20
    for subject, message in after.items():
        assert without_tuid(local[subject].path.read_bytes()) == lf(without_tuid(message.raw))
        if subject.startswith("sync"):
            # Untouched on the server: same UID, same bytes.
            assert message.uid == delivered[subject].uid and message.raw == delivered[subject].raw
    for index in range(10):
        pushed = after[key("local", index)].raw
        assert without_tuid(pushed) == message_of(ALICE, "local", index)
        pulled = local[key("remote", index)].path.read_bytes()
        assert without_tuid(pulled) == lf(message_of(ALICE, "remote", index))

    # Third run: nothing to do, and nothing done on either side.
    files = snapshot(mbsync.inbox)
    transcript = mbsync.run()
    changing = [command for command in mbsync.commands(transcript)
                if re.match(r"(UID )?(APPEND|STORE|EXPUNGE|COPY|MOVE)\b|.*BODY", command)]
    assert not changing, changing
    assert snapshot(mbsync.inbox) == files
    assert mailbox(server, ALICE) == after


def test_mbsync_over_starttls_syncs_every_folder(server, tmp_path):
    """LMTP deliveries read back byte for byte; the special-use folders made locally, a local
    folder made on the server; an incremental run fetches only what is new."""
    mbsync = Mbsync(server, tmp_path, BOB, "STARTTLS", every_folder=True)
    deliver(server, BOB, "lmtp", range(5))  # message 0 is a large one
    client = imap_login(server, BOB)
    ok(client.append("Sent", "(\\Seen)", None, message_of(BOB, "sent", 0)))
    client.logout()

    transcript = mbsync.run()
    commands = mbsync.commands(transcript)
    assert commands[0] == "STARTTLS", commands[:3]
    assert commands[2].startswith(("LOGIN", "AUTHENTICATE")), commands[:3]
    folders = sorted(path.name for path in mbsync.root.iterdir())
    assert folders == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"], folders
    stored = mailbox(server, BOB)
    assert_as_delivered(stored, BOB, "lmtp", range(5))
    local = maildir(mbsync.inbox)
    assert sorted(local) == sorted(stored)
    for subject, message in stored.items():
        assert without_tuid(local[subject].path.read_bytes()) == lf(message.raw), subject
    sent = maildir(mbsync.root / "Sent")
    assert list(sent) == [key("sent", 0)] and sent[key("sent", 0)].flags == SEEN
    assert without_tuid(sent[key("sent", 0)].path.read_bytes()) == lf(message_of(BOB, "sent", 0))

    # A folder made locally is created on the server; a new delivery is the one message fetched.
    folder = mbsync.root / "Lists" / "rust"
    for subdirectory in ("cur", "new", "tmp"):
        (folder / subdirectory).mkdir(parents=True)
    add_to_maildir(folder, f"{int(time.time())}.list.localhost", lf(message_of(BOB, "list", 0)))
    deliver(server, BOB, "lmtp", [5])
    commands = mbsync.commands(mbsync.run())
    assert 'CREATE "Lists/rust"' in commands, commands
    fetches = [command for command in commands if "BODY" in command]
    assert len(fetches) == 1, commands
    listed = mailbox(server, BOB, "Lists/rust")
    assert list(listed) == [key("list", 0)]
    assert without_tuid(listed[key("list", 0)].raw) == message_of(BOB, "list", 0)
    stored = mailbox(server, BOB)
    assert_as_delivered(stored, BOB, "lmtp", range(6))
    local = maildir(mbsync.inbox)
    assert sorted(local) == sorted(stored)
    assert without_tuid(local[key("lmtp", 5)].path.read_bytes()) == lf(stored[key("lmtp", 5)].raw)

    # Nothing new: no message moves either way.
    files = snapshot(mbsync.root)
    changing = [command for command in mbsync.commands(mbsync.run())
                if re.match(r"(UID )?(APPEND|STORE|EXPUNGE|COPY|MOVE|CREATE|DELETE)\b|.*BODY",
                            command)]
    assert not changing, changing
    assert snapshot(mbsync.root) == files
    assert mailbox(server, BOB) == stored


# --- offlineimap ---------------------------------------------------------------------------------


class Offlineimap:
    """offlineimap (offlineimap3) between the account's INBOX and a Maildir over IMAPS."""

    def __init__(self, server, root, user):
        self.binary = require("offlineimap")
        self.home = root / "offlineimap"
        self.home.mkdir()
        self.inbox = root / "Mail" / "INBOX"
        self.config = self.home / "offlineimaprc"
        self.config.write_text(
            "[general]\n"
            "accounts = postern\n"
            f"metadata = {self.home}/metadata\n"
            "\n[Account postern]\n"
            "localrepository = local\n"
            "remoterepository = remote\n"
            "\n[Repository local]\n"
            "type = Maildir\n"
            f"localfolders = {root}/Mail\n"
            "\n[Repository remote]\n"
            "type = IMAP\n"
            "remotehost = localhost\n"
            f"remoteport = {server.port('imaps')}\n"
            f"remoteuser = {user}\n"
            f"remotepass = {USERS[user]}\n"
            "ssl = yes\n"
            f"sslcacertfile = {server.data_dir}/tls/self-signed.crt\n"
            "folderfilter = lambda folder: folder == 'INBOX'\n"
        )

    def run(self):
        """One sync: exit code 0 and neither an error nor a warning. Returns the output."""
        code, output, errors = run(
            [self.binary, "-c", str(self.config), "-o", "-u", "basic"], self.home
        )
        transcript = output + errors
        assert code == 0, transcript[-3000:]
        problems = re.findall(r".*\b(?:ERROR|WARNING|Traceback)\b.*", transcript, re.IGNORECASE)
        assert not problems, (problems, transcript[-3000:])
        return transcript


def test_offlineimap_two_way_sync_over_imaps(server, tmp_path):
    offlineimap = Offlineimap(server, tmp_path, BOB)
    deliver(server, BOB, "offline", range(OFFLINE_BULK))
    delivered = mailbox(server, BOB)
    assert_as_delivered(delivered, BOB, "offline", range(OFFLINE_BULK))

    transcript = offlineimap.run()
    assert transcript.count("Copy message UID") == OFFLINE_BULK, transcript[-3000:]
    local = maildir(offlineimap.inbox)
    for subject, message in delivered.items():
        assert local[subject].path.read_bytes() == lf(message.raw), subject
    assert_flags(mailbox(server, BOB), local, {subject: NONE for subject in delivered})

    for index in range(0, 30):
        set_maildir_flags(local[key("offline", index)].path, "S")
    for index in range(30, 40):
        set_maildir_flags(local[key("offline", index)].path, "FS")
    for index in range(40, 60):
        local[key("offline", index)].path.unlink()
    for index in range(5):
        add_to_maildir(offlineimap.inbox, f"{int(time.time())}.new{index}.localhost",
                       lf(message_of(BOB, "local", index)))
    change_on_server(
        server, BOB, delivered,
        add_flags={
            **{key("offline", index): "(\\Seen)" for index in range(100, 120)},
            **{key("offline", index): "(\\Flagged)" for index in range(120, 130)},
        },
        expunge=[key("offline", index) for index in range(130, 150)],
        append=[("(\\Seen)" if index < 2 else None, message_of(BOB, "remote", index))
                for index in range(5)],
    )

    offlineimap.run()
    expected = {key("offline", index): NONE for index in range(OFFLINE_BULK)
                if not 40 <= index < 60 and not 130 <= index < 150}
    expected.update({key("offline", index): SEEN for index in range(0, 30)})
    expected.update({key("offline", index): SEEN | FLAGGED for index in range(30, 40)})
    expected.update({key("offline", index): SEEN for index in range(100, 120)})
    expected.update({key("offline", index): FLAGGED for index in range(120, 130)})
    expected.update({key("remote", index): SEEN if index < 2 else NONE for index in range(5)})
    expected.update({key("local", index): NONE for index in range(5)})
    after = mailbox(server, BOB)
    local = maildir(offlineimap.inbox)
    assert_flags(after, local, expected)
    for subject, message in after.items():
        assert local[subject].path.read_bytes() == lf(message.raw), subject
        if subject.startswith("offline"):
            assert message.uid == delivered[subject].uid and message.raw == delivered[subject].raw
    for index in range(5):
        # With UIDPLUS offlineimap adds no header of its own: the upload is the file, in CRLF.
        assert after[key("local", index)].raw == message_of(BOB, "local", index)

    files = snapshot(offlineimap.inbox)
    transcript = offlineimap.run()
    for action in ("Copy message", "Deleting", "Adding flag", "Removing flag"):
        assert action not in transcript, transcript[-3000:]
    assert snapshot(offlineimap.inbox) == files
    assert mailbox(server, BOB) == after


# --- fetchmail -----------------------------------------------------------------------------------

# fetchmail's own remark about the user it runs as: about this machine, not about the server.
FETCHMAIL_ROOT_WARNING = "fetchmail: WARNING: Running as root is discouraged."


class Fetchmail:
    """fetchmail over IMAP with STARTTLS, trusting only the server's self-signed certificate,
    handing each message to an MDA that stores it in its own file."""

    def __init__(self, server, root, user):
        self.binary = require("fetchmail")
        self.home = root / "fetchmail"
        self.home.mkdir(mode=0o700)
        self.inbox = root / "fetched"
        self.inbox.mkdir()
        mda = self.home / "mda.sh"
        mda.write_text(f'#!/bin/sh\nexec cat > "$(mktemp {self.inbox}/msg.XXXXXXXXXX)"\n')
        mda.chmod(0o755)
        self.rcfile = self.home / "fetchmailrc"
        self.rcfile.write_text(
            "set no syslog\n"
            f'poll localhost service {server.port("imap")} protocol IMAP auth password\n'
            f'    user "{user}" password "{USERS[user]}"\n'
            "    sslproto 'TLS1.2+' sslcertck\n"
            f'    sslcertfile "{server.data_dir}/tls/self-signed.crt"\n'
            f'    norewrite mda "{mda}"\n'
        )
        self.rcfile.chmod(0o600)

    def run(self, *options):
        """(exit code, transcript); STARTTLS came before LOGIN, and neither the server refused a
        command nor fetchmail warned or reported an error."""
        code, output, errors = run(
            [self.binary, "--nodetach", "--verbose", "--fetchmailrc", str(self.rcfile),
             *options],
            self.home,
        )
        transcript = (output + errors).replace(FETCHMAIL_ROOT_WARNING, "")
        starttls, login = transcript.find("IMAP> A0001 STARTTLS"), transcript.find(" LOGIN ")
        assert 0 <= starttls < login, transcript[-3000:]
        problems = re.findall(r".*(?:warning|error|IMAP< A\d+ (?:NO|BAD)).*", transcript,
                              re.IGNORECASE)
        assert not problems, (problems, transcript[-3000:])
        return code, transcript

    def files(self):
        return set(self.inbox.iterdir())


def fetched_as(raw):
    """A file fetchmail delivered, less the Received field fetchmail puts in."""
    stripped, count = without_fields(
        raw, lambda field: field.startswith(b"Received: ") and b"(fetchmail-" in field
    )
    assert count == 1, raw[:500]
    return stripped


def assert_fetched(paths, stored):
    """Each file is one of the `stored` messages ({subject: Message}), byte for byte, all there."""
    received = {}
    for path in paths:
        raw = fetched_as(path.read_bytes())
        subject = key_of(raw)
        assert subject not in received, f"{subject} fetched twice"
        received[subject] = raw
    assert sorted(received) == sorted(stored), differences(received, stored)
    for subject, message in stored.items():
        assert received[subject] == lf(message.raw), subject


def test_fetchmail_over_imap_keeps_then_deletes(server, tmp_path):
    fetchmail = Fetchmail(server, tmp_path, ALICE)
    deliver(server, ALICE, "fetch", range(40))
    first = mailbox(server, ALICE)
    assert_as_delivered(first, ALICE, "fetch", range(40))

    # keep: every message fetched and marked \Seen, none removed.
    code, transcript = fetchmail.run("--keep")
    assert code == 0, transcript[-3000:]
    assert f"40 messages for {ALICE}" in transcript, transcript[-3000:]
    assert_fetched(fetchmail.files(), first)
    after = mailbox(server, ALICE)
    assert {s: m.flags for s, m in after.items()} == {s: SEEN for s in first}
    assert all(after[s].raw == first[s].raw and after[s].uid == first[s].uid for s in first)

    # Seen messages are not fetched again: exit status 1 is "no mail".
    code, transcript = fetchmail.run("--keep")
    assert code == 1, transcript[-3000:]
    assert f"40 messages (40 seen) for {ALICE}" in transcript, transcript[-3000:]
    assert " FETCH " not in transcript, transcript[-3000:]
    assert len(fetchmail.files()) == 40

    # nokeep: the new (unseen) messages are fetched and expunged, the seen ones stay.
    deliver(server, ALICE, "fetch", range(40, 50))
    new = {s: m for s, m in mailbox(server, ALICE).items() if s not in first}
    assert len(new) == 10
    earlier = fetchmail.files()
    code, transcript = fetchmail.run("--nokeep")
    assert code == 0, transcript[-3000:]
    assert f"50 messages (40 seen) for {ALICE}" in transcript, transcript[-3000:]
    assert transcript.count(" BODY.PEEK[TEXT]") == 10, transcript[-3000:]
    assert "EXPUNGE" in transcript
    assert_fetched(fetchmail.files() - earlier, new)
    assert mailbox(server, ALICE) == after

    # nokeep and all: the seen ones too; the mailbox ends empty.
    earlier = fetchmail.files()
    code, transcript = fetchmail.run("--nokeep", "--all")
    assert code == 0, transcript[-3000:]
    assert f"40 messages for {ALICE}" in transcript, transcript[-3000:]
    assert_fetched(fetchmail.files() - earlier, first)
    assert mailbox(server, ALICE) == {}


# --- mutt ----------------------------------------------------------------------------------------


def in_terminal(command, env, rows=60, columns=160):
    """Runs `command` on a pseudo-terminal (mutt needs one) until it exits or the client timeout
    passes. Returns (exit code or None when it had to be killed, everything it wrote)."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(command[0], command, env)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    output = bytearray()
    deadline = time.monotonic() + CLIENT_TIMEOUT_SECS
    try:
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the program has closed the terminal
                    chunk = b""
                if not chunk:
                    break
                output += chunk
    finally:
        os.close(fd)
    while time.monotonic() < deadline + 5:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), bytes(output)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None, bytes(output)


class Mutt:
    """mutt on a pseudo-terminal, keys pushed with -e, over STARTTLS with only the self-signed
    certificate trusted; COMPRESS=DEFLATE and QRESYNC on, with a header cache to resync from.
    Its IMAP conversation goes to ~/.muttdebug0 (-d 2)."""

    def __init__(self, server, root, user):
        self.binary = require("mutt")
        self.home = root / "mutt"
        self.home.mkdir()
        (self.home / "cache").mkdir()
        self.pipe = self.home / "pipe.sh"
        self.pipe.write_text('#!/bin/sh\nexec cat > "$(mktemp "$1/msg.XXXXXXXXXX")"\n')
        self.pipe.chmod(0o755)
        self.muttrc = self.home / "muttrc"
        self.muttrc.write_text(
            f'set folder = "imap://localhost:{server.port("imap")}/"\n'
            'set spoolfile = "+INBOX"\n'
            f'set imap_user = "{user}"\n'
            f'set imap_pass = "{USERS[user]}"\n'
            # mutt 2.2 picks SCRAM-SHA-256-PLUS when offered but cannot hand gsasl the TLS
            # channel binding, and falls back to LOGIN silently: name the mechanism to test.
            'set imap_authenticators = "scram-sha-256"\n'
            "set ssl_starttls = yes\n"
            "set ssl_force_tls = yes\n"
            f'set ssl_ca_certificates_file = "{server.data_dir}/tls/self-signed.crt"\n'
            f'set certificate_file = "{self.home}/certificates"\n'
            "set imap_deflate = yes\n"
            "set imap_qresync = yes\n"
            f'set header_cache = "{self.home}/cache/"\n'
            'set message_cachedir = ""\n'
            'set record = ""\n'
            'set postponed = ""\n'
            "set confirmcreate = no\n"
            "set confirmappend = no\n"
            "set delete = yes\n"
            "set move = no\n"
            "set quit = yes\n"
            "set wait_key = no\n"
            "set imap_check_subscribed = no\n"
            "set sort = date\n"
            "set pipe_split = yes\n"
            "set pipe_decode = no\n"
            'set pipe_sep = ""\n'
        )

    def pipe_to(self, pattern, name):
        """Keys that pipe the messages matching `pattern`, raw, one file each, into a new
        directory `name`; returns (keys, directory)."""
        directory = self.home / name
        directory.mkdir()
        keys = (f"<tag-pattern>{pattern}<enter><tag-prefix><pipe-message>{self.pipe} {directory}"
                "<enter><untag-pattern>~A<enter>")
        return keys, directory

    def run(self, keys, refusals_allowed=()):
        """One session running `keys` then <quit>: exit code 0, no error on the screen, STARTTLS
        then SCRAM-SHA-256, DEFLATE if offered, and every command answered OK except for NO
        with one of the `refusals_allowed` response codes. Returns the IMAP conversation."""
        debug = self.home / ".muttdebug0"
        if debug.exists():
            debug.unlink()
        env = dict(os.environ, HOME=str(self.home), TERM="vt100")
        code, screen = in_terminal([self.binary, "-n", "-d", "2", "-F", str(self.muttrc), "-e",
                                    f'push "{keys}<quit>"'], env)
        conversation = debug.read_text(errors="replace") if debug.exists() else ""
        assert code == 0, (code, screen[-2000:], conversation[-3000:])
        assert not re.search(rb"[Ee]rror|[Ff]ailed|[Ww]arning", screen), screen[-2000:]
        assert re.search(r"> a0000 STARTTLS\n", conversation), conversation[:3000]
        assert re.search(r"> a\d+ AUTHENTICATE SCRAM-SHA-256 ", conversation), conversation[:5000]
        if "COMPRESS=DEFLATE" in conversation:
            assert re.search(r"> (a\d+) COMPRESS DEFLATE\n.*< \1 OK", conversation, re.DOTALL)
        replies = re.findall(r"< (a\d{4}) (OK|NO|BAD)\b(.*)", conversation)
        assert replies, conversation[-3000:]
        refused = [reply for reply in replies if reply[1] != "OK"]
        allowed = "|".join(refusals_allowed) or "(?!)"
        assert all(status == "NO" and re.match(rf" \[({allowed})\]", text)
                   for _, status, text in refused), refused
        return conversation


def piped(directory):
    """{subject: bytes} of the messages mutt piped into `directory`."""
    messages = {}
    for path in directory.iterdir():
        raw = path.read_bytes()
        assert key_of(raw) not in messages, f"{key_of(raw)} piped twice"
        messages[key_of(raw)] = raw
    return messages


def test_mutt_copies_moves_pipes_flags_deletes_then_resyncs(server, tmp_path):
    mutt = Mutt(server, tmp_path, BOB)
    deliver(server, BOB, "mutt", range(12))
    before = mailbox(server, BOB)
    assert_as_delivered(before, BOB, "mutt", range(12))
    original = {subject: message.raw for subject, message in before.items()}

    pipe_all, everything = mutt.pipe_to("~A", "piped")
    conversation = mutt.run(
        # Copy four messages to an existing folder (UID COPY on the server).
        "<tag-pattern>~s 'mutt 000[0-3]'<enter><tag-prefix><copy-message>=Archive<enter>"
        "<untag-pattern>~A<enter>"
        # Move two to a folder that does not exist yet: COPY, [TRYCREATE], CREATE, COPY.
        "<tag-pattern>~s 'mutt 000[45]'<enter><tag-prefix><save-message>=Projects/2026<enter>"
        "<untag-pattern>~A<enter>"
        + pipe_all +
        "<tag-pattern>~s 'mutt 0006'<enter><tag-prefix><flag-message>"
        "<untag-pattern>~A<enter>"
        "<tag-pattern>~s 'mutt 0007'<enter><tag-prefix><delete-message>"
        "<sync-mailbox>",
        # mutt probes the new folder with STATUS first.
        refusals_allowed=("TRYCREATE", "NONEXISTENT"),
    )
    assert re.search(r"< a\d+ NO \[TRYCREATE\]", conversation), conversation[-3000:]

    archive = mailbox(server, BOB, "Archive")
    assert {s: m.raw for s, m in archive.items()} == {
        key("mutt", index): original[key("mutt", index)] for index in range(4)
    }
    projects = mailbox(server, BOB, "Projects/2026")
    assert {s: m.raw for s, m in projects.items()} == {
        key("mutt", index): original[key("mutt", index)] for index in (4, 5)
    }
    inbox = mailbox(server, BOB)
    assert sorted(inbox) == [key("mutt", index) for index in range(12) if index not in (4, 5, 7)]
    assert [s for s, m in inbox.items() if "\\Flagged" in m.flags] == [key("mutt", 6)]
    assert all(inbox[s].raw == original[s] and inbox[s].uid == before[s].uid for s in inbox)
    expected = {subject: lf(raw) for subject, raw in original.items()}
    assert piped(everything) == expected, differences(piped(everything), expected)

    # Meanwhile, another client flags, unflags and expunges, and mail arrives. The next session
    # starts from mutt's header cache and resyncs (QRESYNC when offered): what it pipes must be
    # the mailbox as it is now.
    client = imap_login(server, BOB)
    ok(client.select("INBOX"))
    ok(client.uid("STORE", str(inbox[key("mutt", 0)].uid), "+FLAGS", "(\\Flagged)"))
    ok(client.uid("STORE", str(inbox[key("mutt", 6)].uid), "-FLAGS", "(\\Flagged)"))
    ok(client.uid("STORE", str(inbox[key("mutt", 1)].uid), "+FLAGS", "(\\Deleted)"))
    ok(client.expunge())
    client.logout()
    deliver(server, BOB, "mutt", [12])

    pipe_all, everything = mutt.pipe_to("~A", "piped-again")
    pipe_flagged, flagged = mutt.pipe_to("~F", "flagged")
    conversation = mutt.run(pipe_all + pipe_flagged)
    if "QRESYNC" in conversation:
        assert "ENABLE QRESYNC" in conversation and "CHANGEDSINCE" in conversation
    now = mailbox(server, BOB)
    assert sorted(now) == [key("mutt", index) for index in range(13)
                           if index not in (1, 4, 5, 7)]
    expected = {subject: lf(message.raw) for subject, message in now.items()}
    assert piped(everything) == expected, differences(piped(everything), expected)
    assert sorted(piped(flagged)) == [key("mutt", 0)]
