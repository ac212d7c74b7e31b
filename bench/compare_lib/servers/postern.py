"""Postern: data dir, config and logs under <workdir>/postern; fsync before every 250 (always on)."""

import signal

from ..accounts import DOMAIN
from ..install import POSTERN_BINARY
from ..processes import free_port, run, start, stop, wait_for_port

PROTOCOLS = ("smtp", "lmtp", "pop3", "imap")
# The idle-connections legs open up to 10,000 connections from 127.0.0.1 (the default is 200).
CONNECTIONS_PER_IP_MAX = 20_000


class Postern:
    name = "postern"
    label = "Postern"
    fsync = "always (group commit; no setting turns it off)"

    def __init__(self, workdir, accounts, certificate, key):
        self.root = workdir / "postern"
        self.data_dir = self.root / "data"
        self.config = self.root / "postern.toml"
        self.accounts = accounts
        self.certificate, self.key = certificate, key
        self.ports = {protocol: free_port() for protocol in PROTOCOLS}
        self.process = None

    def prepare(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self.config_text())
        if not (self.data_dir / "directory.json").exists():
            self.cli("domain", "add", DOMAIN)
            passwd = self.accounts.write_passwd_file(self.root / "users.passwd")
            self.cli("user", "import", "--passwd-file", str(passwd))

    def config_text(self):
        listeners = "".join(
            f'\n[[listener]]\nprotocol = "{protocol}"\naddress = "127.0.0.1:{port}"\n'
            for protocol, port in self.ports.items()
        )
        return (
            "# Written by bench/compare.\n"
            f'data_dir = "{self.data_dir}"\n'
            'log = "warn"\n'
            "shutdown_grace_secs = 5\n\n"
            "[limits]\n"
            f"connections_per_ip_max = {CONNECTIONS_PER_IP_MAX}\n\n"
            "[tls]\n"
            f'certificate = [{{ certificate = "{self.certificate}", key = "{self.key}" }}]\n'
            f"{listeners}"
        )

    def cli(self, *arguments):
        return run([str(POSTERN_BINARY), *arguments, "--data-dir", str(self.data_dir)])

    def start(self):
        self.process = start([POSTERN_BINARY, "serve", "--config", self.config], self.root / "postern.log")
        for protocol, port in self.ports.items():
            wait_for_port(port, self.process, f"postern {protocol}")

    def pid(self):
        return self.process.pid if self.process is not None else None

    def stop(self):
        if self.process is not None:
            stop(self.process, signal.SIGTERM)
            self.process = None

    def version(self):
        return run([str(POSTERN_BINARY), "--version"], check=False).stdout.strip() or "postern"
