"""POP3 against real download clients: Debian's fetchmail (STLS) and getmail6 (POP3S) each
download and delete 1,000 messages delivered over LMTP; fetchmail in keep mode sees the same UIDLs
across sessions and a restart. Then APOP and SASL (PLAIN with initial response, SCRAM-SHA-256 with
a client written here from RFC 5802) through poplib.

fetchmail and getmail are required: a missing one fails the test, it does not skip it.
"""

import base64
import hashlib
import hmac
import os
import pathlib
import poplib
import pwd
import re
import secrets
import shutil
import smtplib
import ssl
import subprocess
import tempfile

import pytest

from conftest import DOMAIN, USERS, Server

ALICE = "alice@example.test"
BOB = "bob@example.test"
SENDER = "sender@example.org"
BULK = 1000
KEPT = 300
CLIENT_TIMEOUT_SECS = 120
SUBJECT = re.compile(rb"^Subject: (\w+) (\d{4})\r?$", re.MULTILINE)


# --- messages ------------------------------------------------------------------------------------


def body_of(tag, index):
    """A body that exercises byte-stuffing (lines ".", "..", ".x") and, every 250th message, one
    large enough (240 KB) to be streamed in several 64 KiB pieces; it ends with a checksum of
    what precedes it."""
    lines = [f"{tag} message {index}, line {n}: " + "abcdefghij"[: index % 11] * (n + 1)
             for n in range(index % 9 + 1)]
    lines += [".", "..", ".leading dot", "From the start of a line", ""]
    if index % 250 == 0:
        lines += [f"{n:06d} " + "z" * 72 for n in range(3000)]
    text = "\r\n".join(lines) + "\r\n"
    return (text + f"Checksum: {hashlib.sha256(text.encode()).hexdigest()}\r\n").encode()


def message_of(user, tag, index):
    return (
        f"From: Sender <{SENDER}>\r\n"
        f"To: <{user}>\r\n"
        f"Subject: {tag} {index:04d}\r\n"
        f"Message-ID: <{tag}-{index}@example.org>\r\n"
        "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
        "\r\n"
    ).encode() + body_of(tag, index)


def deliver(server, user, tag, count):
    """`count` distinct messages to `user` over one LMTP connection."""
    with smtplib.LMTP("127.0.0.1", server.port("lmtp"), timeout=30) as client:
        client.ehlo("mta.example")
        for index in range(count):
            refused = client.sendmail(SENDER, [user], message_of(user, tag, index))
            assert refused == {}, (index, refused)


def assert_received_intact(raw_messages, user, tag, count):
    """Every one of the `count` messages exactly once, body byte for byte (after the client's
    line-ending conversion) with a matching checksum, and the original headers present."""
    seen = set()
    for raw in raw_messages:
        crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        headers, separator, body = crlf.partition(b"\r\n\r\n")
        assert separator, raw[:200]
        match = SUBJECT.search(headers + b"\r\n")
        assert match and match.group(1) == tag.encode(), headers
        index = int(match.group(2))
        assert index not in seen, f"message {index} received twice"
        seen.add(index)
        text, _, checksum = body[:-2].rpartition(b"\r\n")
        digest = hashlib.sha256(text + b"\r\n").hexdigest().encode()
        assert checksum == b"Checksum: " + digest, index
        assert body == body_of(tag, index), f"message {index} body differs"
        for line in message_of(user, tag, index).split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            assert line in headers.split(b"\r\n"), (index, line)
    assert seen == set(range(count)), f"missing: {sorted(set(range(count)) - seen)[:20]}"


# --- poplib helpers ------------------------------------------------------------------------------


def login(server, user):
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=30)
    client.user(user)
    client.pass_(USERS[user])
    return client


def stat(server, user):
    client = login(server, user)
    try:
        return client.stat()
    finally:
        client.quit()


def uidl_map(server, user):
    """{uid: subject line} over one session: the UIDL listing, each uid tied to its message."""
    client = login(server, user)
    try:
        listing = {}
        for line in client.uidl()[1]:
            number, uid = line.split(b" ", 1)
            assert re.fullmatch(rb"[\x21-\x7e]{1,70}", uid), uid  # RFC 1939 §7
            assert client.uidl(int(number)).split()[1:] == [number, uid]
            head = b"\r\n".join(client.top(int(number), 0)[1])
            listing[uid] = SUBJECT.search(head).group(0)
        return listing
    finally:
        client.quit()


def require(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed (Debian package: tests/run installs it)")
    return path


# --- fetchmail -----------------------------------------------------------------------------------


class Fetchmail:
    """fetchmail over STLS, trusting only the server's self-signed certificate, handing each
    message to an MDA that stores it in its own file."""

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
            f'poll 127.0.0.1 service {server.port("pop3")} protocol POP3 uidl auth password\n'
            f'    user "{user}" password "{USERS[user]}"\n'
            "    sslproto 'TLS1.2+' sslcertck\n"
            f'    sslcertfile "{server.data_dir}/tls/self-signed.crt"\n'
            # fetchmail checks DNS names only, not the certificate's 127.0.0.1 IP address.
            '    sslcommonname "localhost"\n'
            f'    norewrite mda "{mda}"\n'
        )
        self.rcfile.chmod(0o600)

    def run(self, *options):
        environment = dict(os.environ, HOME=str(self.home), FETCHMAILHOME=str(self.home))
        result = subprocess.run(
            [self.binary, "--nodetach", "--verbose", "--fetchmailrc", str(self.rcfile), *options],
            env=environment,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT_SECS,
        )
        transcript = result.stdout + result.stderr
        # The upgrade really happened, before any credential was sent.
        stls, user = transcript.find("POP3> STLS"), transcript.find("POP3> USER")
        assert 0 <= stls < user, transcript[-3000:]
        return result.returncode, transcript

    def files(self):
        return sorted(self.inbox.iterdir())

    def messages(self):
        return [path.read_bytes() for path in self.files()]


def test_fetchmail_downloads_and_deletes_1000_messages(server, tmp_path):
    fetchmail = Fetchmail(server, tmp_path, ALICE)
    deliver(server, ALICE, "fetch", BULK)
    assert stat(server, ALICE)[0] == BULK

    code, transcript = fetchmail.run("--nokeep")
    assert code == 0, transcript[-3000:]
    assert f"{BULK} messages for {ALICE}" in transcript, transcript[-3000:]
    assert_received_intact(fetchmail.messages(), ALICE, "fetch", BULK)
    assert transcript.count("POP3> DELE ") == BULK
    assert "POP3> QUIT" in transcript
    # DELE took effect at QUIT.
    assert stat(server, ALICE) == (0, 0)

    # A second run finds nothing: fetchmail's exit status 1 is "no mail".
    code, transcript = fetchmail.run("--nokeep")
    assert code == 1, transcript[-3000:]
    assert "No mail for" in transcript, transcript[-3000:]
    assert len(fetchmail.files()) == BULK


def test_fetchmail_keeps_mail_and_uidls_survive_sessions_and_restart(server, tmp_path):
    fetchmail = Fetchmail(server, tmp_path, ALICE)
    deliver(server, ALICE, "kept", KEPT)
    before = stat(server, ALICE)

    code, transcript = fetchmail.run("--keep")
    assert code == 0, transcript[-3000:]
    assert "POP3> UIDL" in transcript and "POP3> DELE" not in transcript
    assert_received_intact(fetchmail.messages(), ALICE, "kept", KEPT)
    assert stat(server, ALICE) == before

    first = uidl_map(server, ALICE)
    assert len(first) == KEPT
    assert uidl_map(server, ALICE) == first
    # fetchmail remembers the UIDLs it has seen: a second keep run retrieves nothing, and so
    # does one after a restart, whose UIDLs name the very same messages.
    code, transcript = fetchmail.run("--keep")
    assert code == 1 and "POP3> RETR" not in transcript, transcript[-3000:]
    assert server.stop() == 0
    server.start()
    assert uidl_map(server, ALICE) == first
    code, transcript = fetchmail.run("--keep")
    assert code == 1 and "POP3> RETR" not in transcript, transcript[-3000:]
    assert len(fetchmail.files()) == KEPT
    assert stat(server, ALICE) == before


# --- getmail6 ------------------------------------------------------------------------------------


# getmail6 (Debian's 6.18.11) loses a wakeup when a delivery child exits before the parent waits
# for it, then sits out its 180 s socket timeout (getmail6/getmail6 issues #226, #245): a client
# bug, hit a few times per 1,000 deliveries here. getmail runs unchanged except for that wait,
# which this wrapper makes remember a notification that came first.
GETMAIL_WITH_LATCHED_CHILD_WAIT = """
import runpy, sys, threading, time
import getmailcore.baseclasses as base

class LatchedCondition(threading.Condition):
    notified = False
    def notify_all(self):
        self.notified = True
        super().notify_all()
    def wait(self, timeout=None):
        deadline = time.monotonic() + (timeout or 60)
        while not self.notified and time.monotonic() < deadline:
            super().wait(0.05)
        return self.notified

base.Condition = LatchedCondition
sys.argv[0] = sys.argv[1]
del sys.argv[1]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def getmail_command(*arguments):
    getmail = require("getmail")
    with open(getmail, "rb") as script:
        interpreter = script.readline()[2:].decode().split()
    return [*interpreter, "-c", GETMAIL_WITH_LATCHED_CHILD_WAIT, getmail, *arguments]


@pytest.fixture
def getmail_maildir(tmp_path):
    """(Maildir path, delivery user). getmail refuses to deliver as root, so as root the test
    has it deliver as `nobody`, into a Maildir under /tmp (pytest's own tree is 0700)."""
    owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
    if owner:
        path = pathlib.Path(tempfile.mkdtemp(prefix="postern-getmail-"))
    else:
        path = tmp_path / "Maildir"
    for directory in (path, path / "cur", path / "new", path / "tmp"):
        directory.mkdir(exist_ok=True)
        if owner:
            os.chown(directory, owner.pw_uid, owner.pw_gid)
    yield path, owner.pw_name if owner else None
    if owner:
        shutil.rmtree(path)


def test_getmail_downloads_and_deletes_1000_messages_over_pop3s(server, tmp_path, getmail_maildir):
    command = getmail_command()
    maildir, delivery_user = getmail_maildir
    deliver(server, BOB, "getm", BULK)
    assert stat(server, BOB)[0] == BULK

    home = tmp_path / "getmail"
    home.mkdir()
    certificate = server.data_dir / "tls" / "self-signed.crt"
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(certificate.read_text())).hexdigest()
    user = f"user = {delivery_user}\n" if delivery_user else ""
    (home / "getmailrc").write_text(
        "[retriever]\n"
        "type = SimplePOP3SSLRetriever\n"
        "server = localhost\n"
        f"port = {server.port('pop3s')}\n"
        f"username = {BOB}\n"
        f"password = {USERS[BOB]}\n"
        f"ca_certs = {certificate}\n"
        f'ssl_fingerprints = ("{fingerprint}",)\n'
        "\n[destination]\n"
        "type = Maildir\n"
        f"path = {maildir}/\n"
        f"{user}"
        "\n[options]\n"
        "delete = true\n"
        "read_all = true\n"
        "verbose = 1\n"
    )
    result = subprocess.run(
        [*command, "--getmaildir", str(home), "--rcfile", "getmailrc"],
        env=dict(os.environ, HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT_SECS,
    )
    transcript = result.stdout + result.stderr
    assert result.returncode == 0, transcript[-3000:]
    assert f"{BULK} messages (" in transcript, transcript[-3000:]
    assert transcript.count("delivered, deleted") == BULK, transcript[-3000:]
    delivered = [path.read_bytes() for path in (maildir / "new").iterdir()]
    assert_received_intact(delivered, BOB, "getm", BULK)
    assert stat(server, BOB) == (0, 0)


def test_retr_over_tls_of_a_message_that_grows_past_64_kib_when_stuffed(server):
    """Byte-stuffing makes a 64 KiB piece of the message a little longer; over TLS that piece
    must still arrive whole (it reaches fetchmail and getmail6 through body_of's large bodies)."""
    message = message_of(ALICE, "large", 0)
    assert len(message) > 128 * 1024 and b"\r\n.\r\n" in message
    deliver(server, ALICE, "large", 1)
    for mode in ("pop3", "stls", "pop3s"):
        if mode == "pop3s":
            client = poplib.POP3_SSL(
                "localhost", server.port("pop3s"), context=server.tls_context(), timeout=10
            )
        else:
            client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
            if mode == "stls":
                client.stls(context=server.tls_context())
        client.user(ALICE)
        client.pass_(USERS[ALICE])
        lines = client.retr(1)[1]
        assert (b"\r\n".join(lines) + b"\r\n").endswith(message), mode
        client.quit()


# --- APOP ----------------------------------------------------------------------------------------

CAROL = f"carol@{DOMAIN}"
CAROL_SECRET = "carol-secret"


def test_apop_for_plain_secrets_only(tmp_path):
    instance = Server(tmp_path, extra_config="[auth]\napop = true\n")
    instance.cli("domain", "add", DOMAIN)
    instance.add_user(ALICE, USERS[ALICE])
    passwd = tmp_path / "passwd"
    passwd.write_text(f"{CAROL}:{{PLAIN}}{CAROL_SECRET}\n")
    instance.cli("user", "import", "--passwd-file", str(passwd))
    instance.start()
    try:
        deliver(instance, CAROL, "apop", 3)

        def connect():
            client = poplib.POP3("127.0.0.1", instance.port("pop3"), timeout=10)
            assert re.search(rb"<[^<>@]+@[^<>]+>", client.getwelcome()), client.getwelcome()
            return client

        client = connect()
        assert client.apop(CAROL, CAROL_SECRET).startswith(b"+OK")
        assert client.stat()[0] == 3
        assert client.quit().startswith(b"+OK")

        refusals = []
        for user, secret in ((CAROL, "wrong"), (ALICE, USERS[ALICE])):
            client = connect()
            with pytest.raises(poplib.error_proto) as refused:
                client.apop(user, secret)
            refusals.append(refused.value.args[0])
            # The session stays in AUTHORIZATION and usable.
            client.user(CAROL)
            client.pass_(CAROL_SECRET)
            assert client.stat()[0] == 3
            client.quit()
        # An argon2 account fails exactly like a wrong secret: nothing tells them apart.
        assert all(refusal.startswith(b"-ERR [AUTH]") for refusal in refusals), refusals
        assert refusals[0] == refusals[1], refusals
    finally:
        assert instance.stop() == 0


def test_default_server_offers_no_apop(server):
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
    assert not re.search(rb"<.*@.*>", client.getwelcome()), client.getwelcome()
    with pytest.raises(poplib.error_proto):
        client.apop(ALICE, USERS[ALICE])  # poplib refuses: no timestamp
    digest = hashlib.md5(b"<1.2@localhost>" + USERS[ALICE].encode()).hexdigest()
    with pytest.raises(poplib.error_proto) as refused:
        client._shortcmd(f"APOP {ALICE} {digest}")
    assert refused.value.args[0].startswith(b"-ERR")
    client.user(ALICE)
    client.pass_(USERS[ALICE])
    client.quit()


# --- SASL after STLS -----------------------------------------------------------------------------


def stls(server):
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
    client.stls(context=server.tls_context())
    return client


def test_auth_plain_with_initial_response_after_stls(server):
    client = stls(server)
    assert "PLAIN" in client.capa()["SASL"]
    token = base64.b64encode(f"\0{BOB}\0{USERS[BOB]}".encode()).decode()
    assert client._shortcmd(f"AUTH PLAIN {token}").startswith(b"+OK")
    assert client.stat() == (0, 0)
    client.quit()


def b64(data):
    return base64.b64encode(data).decode()


def scram_sha_256(client, user, password):
    """RFC 5802 client side over POP3 AUTH (RFC 5034), initial response included. Returns the
    final server reply; raises poplib.error_proto on -ERR."""
    nonce = b64(secrets.token_bytes(18))
    saslname = user.replace("=", "=3D").replace(",", "=2C")
    first_bare = f"n={saslname},r={nonce}"
    challenge = client._shortcmd(f"AUTH SCRAM-SHA-256 {b64(('n,,' + first_bare).encode())}")
    assert challenge.startswith(b"+ "), challenge
    server_first = base64.b64decode(challenge[2:]).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    assert fields["r"].startswith(nonce) and len(fields["r"]) > len(nonce), server_first
    salted = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(fields["s"]), int(fields["i"])
    )
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    final_bare = f"c={b64(b'n,,')},r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.digest(hashlib.sha256(client_key).digest(), auth_message, "sha256")
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    outcome = client._shortcmd(b64(f"{final_bare},p={b64(proof)}".encode()))
    # RFC 5034 §4: the server's final message comes as a challenge, then an empty response.
    assert outcome.startswith(b"+ "), outcome
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    expected = "v=" + b64(hmac.digest(server_key, auth_message, "sha256"))
    assert base64.b64decode(outcome[2:]).decode() == expected, "server signature mismatch"
    return client._shortcmd("")


def test_scram_sha_256_after_stls(server):
    deliver(server, ALICE, "scram", 2)
    for user, count in ((ALICE, 2), (BOB, 0)):
        client = stls(server)
        assert "SCRAM-SHA-256" in client.capa()["SASL"]
        assert scram_sha_256(client, user, USERS[user]).startswith(b"+OK")
        assert client.stat()[0] == count
        if count:
            lines = client.retr(2)[1]
            assert (b"\r\n".join(lines) + b"\r\n").endswith(message_of(ALICE, "scram", 1))
        client.quit()

    client = stls(server)
    with pytest.raises(poplib.error_proto) as refused:
        scram_sha_256(client, ALICE, "not her password")
    assert refused.value.args[0].startswith(b"-ERR [AUTH]"), refused.value.args
    # Still in AUTHORIZATION: a correct exchange on the same connection succeeds.
    assert scram_sha_256(client, ALICE, USERS[ALICE]).startswith(b"+OK")
    client.quit()
