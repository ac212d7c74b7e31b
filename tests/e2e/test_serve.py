"""`postern serve` as an operator meets it: start-up errors, signals, live changes."""

import os
import poplib
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import BINARY, DOMAIN, USERS, Server

ALICE = "alice@example.test"


def run_serve(*args, cwd=None, timeout=30):
    return subprocess.run(
        [BINARY, "serve", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


QUICK_START = r"""
set -eu
ip link set lo up
postern() { "$POSTERN_BIN" "$@"; }
# The README's quick start, verbatim but for the binary's path.
postern domain add example.test
echo 'alice-password' | postern user add alice@example.test --password-stdin
"$POSTERN_BIN" serve > serve.log 2>&1 &
server=$!
for _ in $(seq 50); do grep -q "serving with" serve.log && break; sleep 0.1; done
cat serve.log
printf 'From: bob@example.org\r\nTo: alice@example.test\r\nSubject: Hello\r\n\r\nHello from curl.\r\n' > hello.eml
curl -sS smtp://127.0.0.1:2025 --mail-from bob@example.org --mail-rcpt alice@example.test -T hello.eml
curl -sS pop3://127.0.0.1:2110/ -u alice@example.test:alice-password
echo "--- message 1"
curl -sS pop3://127.0.0.1:2110/1 -u alice@example.test:alice-password
echo "--- over TLS"
curl -sS --ssl-reqd --cacert postern-data/tls/self-signed.crt smtp://localhost:2587 \
  -u alice@example.test:alice-password --mail-from alice@example.test \
  --mail-rcpt alice@example.test -T hello.eml
curl -sS --cacert postern-data/tls/self-signed.crt pop3s://localhost:2995/ -u alice@example.test:alice-password
echo "--- over IMAP"
curl -sS 'imap://127.0.0.1:2143/INBOX;UID=1' -u alice@example.test:alice-password
curl -sS --cacert postern-data/tls/self-signed.crt 'imaps://localhost:2993/INBOX;UID=2' \
  -u alice@example.test:alice-password
kill -TERM $server
code=0
wait $server || code=$?
echo "exit $code"
cat serve.log
"""


def test_quick_start_on_embedded_defaults_with_curl(tmp_path):
    """The README's quick start on the embedded defaults: relative data dir, fixed ports
    (standard + 2000). It runs in a network namespace of its own (unshare), so a program
    holding one of those ports on this machine can't interfere."""
    result = subprocess.run(
        ["unshare", "-rn", "sh", "-c", QUICK_START],
        cwd=tmp_path, capture_output=True, text=True, timeout=90,
        env={**os.environ, "POSTERN_BIN": BINARY},
    )
    text = result.stdout
    assert result.returncode == 0, text + result.stderr
    for line in (
        "listening for smtp on 127.0.0.1:2025 (STARTTLS)",
        "listening for submission on 127.0.0.1:2587 (STARTTLS)",
        "listening for submissions on 127.0.0.1:2465 (TLS)",
        "listening for lmtp on 127.0.0.1:2024",
        "listening for pop3 on 127.0.0.1:2110 (STARTTLS)",
        "listening for pop3s on 127.0.0.1:2995 (TLS)",
        "listening for imap on 127.0.0.1:2143 (STARTTLS)",
        "listening for imaps on 127.0.0.1:2993 (TLS)",
    ):
        assert line in text, text
    listing, _, rest = text.partition("--- message 1")
    assert "1 " in listing, text
    message, _, tls_part = rest.partition("--- over TLS")
    tls_part, _, imap_part = tls_part.partition("--- over IMAP")
    assert imap_part.count("Hello from curl.") == 2, text
    assert "Subject: Hello" in message and "Hello from curl." in message, text
    assert "Received: from" in message and "Return-Path: <bob@example.org>" in message, text
    assert "1 " in tls_part and "2 " in tls_part, text
    assert "exit 0" in text and "postern: stopped" in text, text
    assert (tmp_path / "postern-data" / "tls" / "self-signed.crt").exists()


def test_bad_config_names_file_line_and_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text('data_dir = "x"\n\n[[listener]]\nprotocol = "pop5"\naddress = "127.0.0.1:1"\n')
    result = run_serve("--config", str(config))
    assert result.returncode == 1
    assert str(config) in result.stderr
    assert "line 4" in result.stderr
    assert "pop5" in result.stderr and "`pop3s`" in result.stderr


def test_missing_config_file_is_named(tmp_path):
    result = run_serve("--config", str(tmp_path / "nope.toml"))
    assert result.returncode == 1
    assert "nope.toml" in result.stderr


def test_busy_port_is_named(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    config = tmp_path / "busy.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[[listener]]\nprotocol = "pop3"\naddress = "127.0.0.1:{port}"\n'
    )
    result = run_serve("--config", str(config))
    holder.close()
    assert result.returncode == 1
    assert f"port {port} (pop3 on 127.0.0.1:{port}) is in use" in result.stderr


def test_unwritable_data_dir_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    config = tmp_path / "c.toml"
    config.write_text(f'data_dir = "{blocker / "data"}"\n')
    result = run_serve("--config", str(config))
    assert result.returncode == 1
    assert str(blocker / "data") in result.stderr


def test_a_different_shard_count_on_a_data_dir_is_refused(tmp_path):
    server = Server(tmp_path, shards=2)
    server.start()
    assert server.stop() == 0
    result = run_serve("--config", str(server.config), "--shards", "3")
    assert result.returncode == 1
    assert "postern partitions remap --shards 3" in result.stderr
    assert "2 shards" in result.stderr


def test_bad_shards_argument_is_a_usage_error(tmp_path):
    result = run_serve("--shards", "0", cwd=tmp_path)
    assert result.returncode == 2


def test_second_signal_exits_at_once(tmp_path):
    server = Server(tmp_path)
    server.cli("domain", "add", DOMAIN)
    server.add_user(ALICE, USERS[ALICE])
    server.start()
    # An open session keeps the first SIGTERM waiting for its grace period...
    client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert server.process.poll() is None
    # ...and a second signal ends it at once.
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=5) == 1
    server.process = None
    client.close()


def test_accounts_change_while_the_server_runs(server):
    server.add_user("carol@example.test", "carol-secret")
    deadline = time.monotonic() + 10
    while True:
        client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
        client.user("carol@example.test")
        try:
            client.pass_("carol-secret")
            break
        except poplib.error_proto:
            client.close()
            assert time.monotonic() < deadline, "new account never became usable"
            time.sleep(0.3)
    client.quit()
    server.cli("user", "del", "carol@example.test")
    deadline = time.monotonic() + 10
    while True:
        client = poplib.POP3("127.0.0.1", server.port("pop3"), timeout=10)
        client.user("carol@example.test")
        try:
            client.pass_("carol-secret")
        except poplib.error_proto:
            client.close()
            break
        client.quit()
        assert time.monotonic() < deadline, "deleted account kept working"
        time.sleep(0.3)


def served_certificate(server):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", server.port("pop3s")), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            return tls.getpeercert(binary_form=True)


def test_sighup_reloads_certificates_for_new_connections(tmp_path):
    certificate = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"

    def make(name):
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(certificate), "-days", "2",
             "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
            check=True, capture_output=True,
        )

    make("first.test")
    server = Server(
        tmp_path,
        extra_config=f'[tls]\ncertificate = [ {{ certificate = "{certificate}", key = "{key}" }} ]\n',
    )
    server.start()
    try:
        first = served_certificate(server)
        # A connection established before the reload keeps working through it.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        established = poplib.POP3_SSL("127.0.0.1", server.port("pop3s"), context=context, timeout=10)
        make("second.test")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while served_certificate(server) == first:
            assert time.monotonic() < deadline, "certificate not reloaded"
            time.sleep(0.2)
        assert b"second.test" in served_certificate(server)
        assert "SASL" in established.capa()
        established.quit()
    finally:
        assert server.stop() == 0


def test_a_listener_serves_its_own_certificate(tmp_path):
    def make(name):
        cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
            check=True, capture_output=True,
        )
        return f'{{ certificate = "{cert}", key = "{key}" }}'

    global_pair, own_pair = make("global.test"), make("pop3s.test")
    pop3s, imaps = Server(tmp_path).port("pop3s"), Server(tmp_path).port("submissions")
    config = tmp_path / "listeners.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[tls]\ncertificate = [ {global_pair} ]\n'
        f'[[listener]]\nprotocol = "pop3s"\naddress = "127.0.0.1:{pop3s}"\ncertificate = [ {own_pair} ]\n'
        f'[[listener]]\nprotocol = "submissions"\naddress = "127.0.0.1:{imaps}"\n'
    )
    process = subprocess.Popen([BINARY, "serve", "--config", str(config)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while not process.stdout.readline().startswith("postern: serving with"):
            assert process.poll() is None, process.stderr.read()

        def certificate_on(port):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="any.test") as tls:
                    return tls.getpeercert(binary_form=True)

        assert b"pop3s.test" in certificate_on(pop3s)
        assert b"global.test" in certificate_on(imaps)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
