"""End-to-end fixtures: the real `postern` binary on free loopback ports with a temporary data dir.

`server` starts one with two shards, a domain `example.test` and two accounts (alice, bob), and
stops it with SIGTERM after the test, checking that it exits 0. Clients are the real ones:
Python's smtplib/poplib/imaplib and Debian's swaks, fetchmail and the like.
"""

import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BINARY = os.environ.get("POSTERN_BIN", str(ROOT / "target" / "debug" / "postern"))
PROTOCOLS = ["smtp", "submission", "submissions", "lmtp", "imap", "imaps", "pop3", "pop3s"]
DOMAIN = "example.test"
USERS = {"alice@example.test": "alice-secret", "bob@example.test": "bob secret with spaces"}
START_TIMEOUT_SECS = 30
STOP_TIMEOUT_SECS = 20


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    def __init__(self, root, shards=2, extra_config=""):
        self.root = pathlib.Path(root)
        self.data_dir = self.root / "data"
        self.shards = shards
        self.ports = {}
        while len(set(self.ports.values())) < len(PROTOCOLS):
            self.ports = {protocol: free_port() for protocol in PROTOCOLS}
        self.config = self.root / "postern.toml"
        listeners = "".join(
            f'\n[[listener]]\nprotocol = "{protocol}"\naddress = "127.0.0.1:{port}"\n'
            for protocol, port in self.ports.items()
        )
        self.config.write_text(
            f'data_dir = "{self.data_dir}"\nshutdown_grace_secs = 5\nlog = "info"\n'
            f"{extra_config}\n{listeners}"
        )
        self.process = None
        self.output = []

    def cli(self, *args, input=None, check=True):
        result = subprocess.run(
            [BINARY, *args, "--data-dir", str(self.data_dir)],
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"postern {' '.join(args)}: {result.stderr}")
        return result

    def add_user(self, address, password):
        self.cli("user", "add", address, "--password-stdin", input=password + "\n")

    def start(self):
        self.process = subprocess.Popen(
            [BINARY, "serve", "--config", str(self.config), "--shards", str(self.shards)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("postern: serving with"):
                return
        self.process.kill()
        raise AssertionError("server did not start: " + "".join(self.output) + self.process.stderr.read())

    def stop(self):
        """SIGTERM, then the exit code (0 for an orderly stop)."""
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_SECS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code

    def kill(self):
        """SIGKILL: what a crash looks like."""
        self.process.kill()
        self.process.wait()
        self.process = None

    def port(self, protocol):
        return self.ports[protocol]

    def tls_context(self):
        """Trusts the server's self-signed certificate, for the name "localhost"."""
        context = ssl.create_default_context(cafile=str(self.data_dir / "tls" / "self-signed.crt"))
        return context


@pytest.fixture
def server(tmp_path):
    instance = Server(tmp_path)
    instance.cli("domain", "add", DOMAIN)
    for address, password in USERS.items():
        instance.add_user(address, password)
    instance.start()
    yield instance
    code = instance.stop()
    assert code in (0, None), f"server exit code {code}"
    # Every server preallocates its log segments (256 MiB each) and pytest keeps the temporary
    # directories of its last runs: a passing test's mail is removed at once.
    shutil.rmtree(instance.data_dir, ignore_errors=True)
