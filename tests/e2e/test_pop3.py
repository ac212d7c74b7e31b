"""POP3 against the real server with Python's poplib (RFC 1939, 2449, 2595, 5034).

Connections land on either shard (the kernel spreads them); a login whose account lives on the
other shard moves the connection there, so repeated logins exercise both paths.
"""

import base64
import hashlib
import poplib
import socket
import ssl
import subprocess

import pytest

from conftest import USERS

ALICE = "alice@example.test"
BOB = "bob@example.test"


def connect(server):
    return poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)


def test_greeting_capa_and_empty_maildrop(server):
    client = connect(server)
    assert client.getwelcome().startswith(b"+OK")
    capabilities = client.capa()
    for name in ("TOP", "UIDL", "USER", "RESP-CODES", "PIPELINING", "STLS", "SASL"):
        assert name in capabilities, capabilities
    client.user(ALICE)
    client.pass_(USERS[ALICE])
    assert client.stat() == (0, 0)
    assert client.quit().startswith(b"+OK")


def test_every_login_reaches_the_owner_shard(server):
    for _ in range(12):
        for user in (ALICE, BOB):
            client = connect(server)
            client.user(user)
            client.pass_(USERS[user])
            assert client.stat() == (0, 0)
            client.quit()


def test_wrong_password_is_refused_with_auth_code(server):
    client = connect(server)
    client.user(ALICE)
    with pytest.raises(poplib.error_proto) as refused:
        client.pass_("wrong")
    assert refused.value.args[0].startswith(b"-ERR [AUTH]")
    # The connection stays usable.
    client.user(ALICE)
    client.pass_(USERS[ALICE])
    client.quit()


def test_second_session_on_a_maildrop_is_in_use(server):
    first = connect(server)
    first.user(BOB)
    first.pass_(USERS[BOB])
    second = connect(server)
    second.user(BOB)
    with pytest.raises(poplib.error_proto) as refused:
        second.pass_(USERS[BOB])
    assert refused.value.args[0].startswith(b"-ERR [IN-USE]")
    second.quit()
    first.quit()
    # The lock is released with the first session.
    third = connect(server)
    third.user(BOB)
    third.pass_(USERS[BOB])
    third.quit()


def test_stls_then_login(server):
    client = connect(server)
    client.stls(context=server.tls_context())
    assert "STLS" not in client.capa()
    client.user(ALICE)
    client.pass_(USERS[ALICE])
    assert client.stat() == (0, 0)
    client.quit()


def test_pop3s_implicit_tls(server):
    client = poplib.POP3_SSL(
        "localhost", server.port("pop3s"), context=server.tls_context(), timeout=10
    )
    client.user(BOB)
    client.pass_(USERS[BOB])
    assert client.stat() == (0, 0)
    client.quit()


def test_auth_plain_with_initial_response(server):
    with socket.create_connection(("127.0.0.1", server.port("pop3")), timeout=10) as raw:
        reader = raw.makefile("rb")
        assert reader.readline().startswith(b"+OK")
        token = base64.b64encode(f"\0{ALICE}\0{USERS[ALICE]}".encode()).decode()
        raw.sendall(f"AUTH PLAIN {token}\r\nSTAT\r\nQUIT\r\n".encode())
        assert reader.readline().startswith(b"+OK")
        assert reader.readline() == b"+OK 0 0\r\n"
        assert reader.readline().startswith(b"+OK")


def test_pipelined_commands_after_stls_are_not_executed(server):
    with socket.create_connection(("127.0.0.1", server.port("pop3")), timeout=10) as raw:
        reader = raw.makefile("rb")
        reader.readline()
        raw.sendall(f"STLS\r\nUSER {ALICE}\r\n".encode())
        assert reader.readline().startswith(b"+OK")
        tls = server.tls_context().wrap_socket(raw, server_hostname="localhost")
        tls.sendall(b"NOOP\r\n")
        answer = tls.recv(1024)
        # NOOP in AUTHORIZATION is an error, and no USER was recorded before the handshake.
        assert answer.startswith(b"-ERR"), answer
        tls.sendall(f"PASS {USERS[ALICE]}\r\n".encode())
        assert tls.recv(1024).startswith(b"-ERR")


def test_hostile_input_keeps_the_connection_usable(server):
    with socket.create_connection(("127.0.0.1", server.port("pop3")), timeout=10) as raw:
        reader = raw.makefile("rb")
        reader.readline()
        raw.sendall(b"USER " + b"x" * 5000 + b"\r\n")
        assert reader.readline().startswith(b"-ERR")
        raw.sendall(b"US\0ER a\r\n")
        assert reader.readline().startswith(b"-ERR")
        raw.sendall(f"USER {ALICE}\r\nPASS {USERS[ALICE]}\r\n".encode())
        assert reader.readline().startswith(b"+OK")
        assert reader.readline().startswith(b"+OK")
        for command in (b"RETR 0", b"RETR 99999999999999999999", b"DELE 1", b"TOP 1 -1"):
            raw.sendall(command + b"\r\n")
            assert reader.readline().startswith(b"-ERR"), command
        raw.sendall(b"QUIT\r\n")
        assert reader.readline().startswith(b"+OK")


def test_failed_logins_are_delayed_then_refused_per_ip(tmp_path):
    """A doubling delay per failure from one IP, then refusal even of the right password until
    the window passes (one shard: the throttle is per shard)."""
    import time
    from conftest import Server

    server = Server(
        tmp_path,
        shards=1,
        extra_config="[auth]\nfailures_per_ip_max = 3\nfailure_delay_base_ms = 200\n"
        "failure_delay_max_ms = 800\n",
    )
    server.cli("domain", "add", "example.test")
    server.add_user(ALICE, USERS[ALICE])
    server.start()
    try:
        client = connect(server)
        timings = []
        for _ in range(3):
            client.user(ALICE)
            started = time.monotonic()
            with pytest.raises(poplib.error_proto):
                client.pass_("wrong")
            timings.append(time.monotonic() - started)
        # 200 ms, then (200 before + 400 after), then (400 + 800): each failure costs more.
        assert timings[0] >= 0.19 and timings[1] > timings[0] and timings[2] > timings[1], timings
        client.user(ALICE)
        with pytest.raises(poplib.error_proto) as refused:
            client.pass_(USERS[ALICE])
        assert refused.value.args[0].startswith(b"-ERR [AUTH]")
        client.close()
    finally:
        assert server.stop() == 0


def test_login_delay_is_announced_and_enforced(tmp_path):
    """RFC 2449 §6.5, §8.1.1: a second login of the account within the delay is refused."""
    from conftest import Server

    server = Server(tmp_path, extra_config="[limits]\npop3_login_delay_secs = 60\n")
    server.cli("domain", "add", "example.test")
    server.add_user(ALICE, USERS[ALICE])
    server.add_user(BOB, USERS[BOB])
    server.start()
    try:
        client = connect(server)
        assert "LOGIN-DELAY" in client.capa() and client.capa()["LOGIN-DELAY"] == ["60"]
        client.user(ALICE)
        client.pass_(USERS[ALICE])
        client.quit()
        again = connect(server)
        again.user(ALICE)
        with pytest.raises(poplib.error_proto) as refused:
            again.pass_(USERS[ALICE])
        assert refused.value.args[0].startswith(b"-ERR [LOGIN-DELAY]")
        # Other accounts are not affected.
        again.user(BOB)
        again.pass_(USERS[BOB])
        again.quit()
    finally:
        assert server.stop() == 0
