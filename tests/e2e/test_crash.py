"""Crash tests: the server is killed with SIGKILL and restarted on the same data dir.

Acknowledged means durable: every message that got its 250 before the kill is there after the
restart, intact; a POP3 session killed between DELE and QUIT deletes nothing.
"""

import hashlib
import poplib
import random
import smtplib
import threading
import time

from conftest import USERS, Server, DOMAIN

ALICE = "alice@example.test"
BOB = "bob@example.test"


def message(tag, size):
    body = "".join(f"{tag} line {i} " + "x" * 60 + "\r\n" for i in range(size // 70 + 1))
    digest = hashlib.sha256(body.encode()).hexdigest()
    return (
        f"From: load@example.test\r\nTo: many\r\nSubject: {tag}\r\nX-Tag: {tag}\r\n"
        f"X-Digest: {digest}\r\n\r\n{body}"
    )


def read_all(server, user):
    """Every message in the user's maildrop, as text, left in place."""
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=30)
    client.user(user)
    client.pass_(USERS[user])
    count, _ = client.stat()
    messages = []
    for number in range(1, count + 1):
        _, lines, _ = client.retr(number)
        messages.append(b"\r\n".join(lines).decode())
    client.quit()
    return messages


def tags_of(messages):
    """The X-Tag of each message whose body matches its X-Digest (an intact message)."""
    tags = set()
    for text in messages:
        head, _, body = text.partition("\r\n\r\n")
        fields = dict(
            line.split(": ", 1) for line in head.split("\r\n") if ": " in line
        )
        assert hashlib.sha256((body + "\r\n").encode()).hexdigest() == fields["X-Digest"] or \
            hashlib.sha256(body.encode()).hexdigest() == fields["X-Digest"], \
            f"message {fields.get('X-Tag')} is damaged"
        tags.add(fields["X-Tag"])
    return tags


def make_server(tmp_path):
    server = Server(tmp_path)
    server.cli("domain", "add", DOMAIN)
    for address, password in USERS.items():
        server.add_user(address, password)
    return server


def test_every_acknowledged_delivery_survives_kill_9(tmp_path):
    server = make_server(tmp_path)
    server.start()
    acknowledged = {ALICE: set(), BOB: set()}
    lock = threading.Lock()
    stop = threading.Event()

    def deliver(worker):
        rng = random.Random(worker)
        sequence = 0
        while not stop.is_set():
            try:
                client = smtplib.LMTP("127.0.0.1", server.port("lmtp"), timeout=10)
                client.ehlo_or_helo_if_needed()
                while not stop.is_set():
                    sequence += 1
                    tag = f"w{worker}-m{sequence}"
                    recipients = rng.sample([ALICE, BOB], rng.randint(1, 2))
                    refused = client.sendmail(
                        "load@example.test", recipients, message(tag, rng.randint(100, 40_000))
                    )
                    with lock:
                        for recipient in recipients:
                            if recipient not in refused:
                                acknowledged[recipient].add(tag)
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)

    workers = [threading.Thread(target=deliver, args=(w,)) for w in range(6)]
    for worker in workers:
        worker.start()
    time.sleep(random.Random().uniform(1.5, 3.0))
    server.kill()
    stop.set()
    for worker in workers:
        worker.join()
    assert acknowledged[ALICE] and acknowledged[BOB], "deliveries were acknowledged before the kill"

    server.start()
    try:
        for user in (ALICE, BOB):
            present = tags_of(read_all(server, user))
            missing = acknowledged[user] - present
            assert not missing, f"{len(missing)} acknowledged messages lost for {user}: {sorted(missing)[:5]}"
    finally:
        assert server.stop() == 0


def test_pop3_killed_between_dele_and_quit_deletes_nothing(tmp_path):
    server = make_server(tmp_path)
    server.start()
    client = smtplib.SMTP("127.0.0.1", server.port("smtp"), timeout=10)
    for number in range(5):
        client.sendmail("load@example.test", [BOB], message(f"keep{number}", 500))
    client.quit()

    pop = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
    pop.user(BOB)
    pop.pass_(USERS[BOB])
    assert pop.stat()[0] == 5
    for number in (1, 2, 3):
        pop.dele(number)
    server.kill()
    pop.close()

    server.start()
    assert tags_of(read_all(server, BOB)) == {f"keep{n}" for n in range(5)}

    # A completed QUIT is durable: after its +OK, a kill does not bring the messages back.
    pop = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
    pop.user(BOB)
    pop.pass_(USERS[BOB])
    for number in (1, 2):
        pop.dele(number)
    assert pop.quit().startswith(b"+OK")
    server.kill()
    server.start()
    try:
        assert len(tags_of(read_all(server, BOB))) == 3
    finally:
        assert server.stop() == 0
