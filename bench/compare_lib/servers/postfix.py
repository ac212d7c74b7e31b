"""Postfix relaying to Dovecot LMTP: a private instance whose config and queue are in the workdir.

Postfix answers 250 to DATA once cleanup has written the queue file and fsynced it; delivery to
Dovecot over LMTP (which fsyncs again) happens afterwards. So "acknowledged" for this pair means
Postfix's 250, and the time for its queue to drain is measured separately.
"""

import os
import pwd
import signal
import time

from ..accounts import DOMAIN
from ..processes import free_port, run, start, stop, stop_group, track_group, wait_for_port

POSTFIX_BINARY = "/usr/sbin/postfix"
QUEUE_FOLDERS = ("maildrop", "incoming", "active", "deferred", "hold")
DRAIN_POLL_SECS = 0.2
# In the queue directory, tells postfix-script's start to skip its integrity checks (it removes it).
QUICK_START_MARKER = "quick-start"
# master.cf services: name, type, private, unprivileged, chroot, wakeup, process limit, command.
# No chroot anywhere: the queue is outside /var/spool/postfix.
SERVICES = [
    ("cleanup", "unix", "n", "-", "n", "-", "0", "cleanup"),
    ("qmgr", "unix", "n", "-", "n", "300", "1", "qmgr"),
    ("tlsmgr", "unix", "-", "-", "n", "1000?", "1", "tlsmgr"),
    ("rewrite", "unix", "-", "-", "n", "-", "-", "trivial-rewrite"),
    ("bounce", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("defer", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("trace", "unix", "-", "-", "n", "-", "0", "bounce"),
    ("verify", "unix", "-", "-", "n", "-", "1", "verify"),
    ("flush", "unix", "n", "-", "n", "1000?", "0", "flush"),
    ("proxymap", "unix", "-", "-", "n", "-", "-", "proxymap"),
    ("smtp", "unix", "-", "-", "n", "-", "-", "smtp"),
    ("relay", "unix", "-", "-", "n", "-", "-", "smtp"),
    ("showq", "unix", "n", "-", "n", "-", "-", "showq"),
    ("error", "unix", "-", "-", "n", "-", "-", "error"),
    ("retry", "unix", "-", "-", "n", "-", "-", "error"),
    ("discard", "unix", "-", "-", "n", "-", "-", "discard"),
    ("lmtp", "unix", "-", "-", "n", "-", "-", "lmtp"),
    ("anvil", "unix", "-", "-", "n", "-", "1", "anvil"),
    ("scache", "unix", "-", "-", "n", "-", "1", "scache"),
    ("postlog", "unix-dgram", "n", "-", "n", "-", "1", "postlogd"),
]


class PostfixToDovecot:
    name = "postfix"
    label = "Postfix→Dovecot"
    fsync = "queue file fsynced before 250; Dovecot fsyncs again on LMTP delivery"

    def __init__(self, workdir, accounts, certificate, key, dovecot):
        self.root = workdir / "postfix"
        self.config_dir = self.root / "etc"
        self.queue_dir = self.root / "queue"
        self.accounts = accounts
        self.certificate, self.key = certificate, key
        self.dovecot = dovecot
        self.ports = {"smtp": free_port()}
        self.process = None
        self.master_group = None

    def prepare(self):
        for directory in (self.config_dir, self.queue_dir, self.root / "data", self.root / "log"):
            directory.mkdir(parents=True, exist_ok=True)
        # Postfix writes its data directory (master.lock, TLS caches) as the mail_owner.
        owner = pwd.getpwnam("postfix")
        os.chown(self.root / "data", owner.pw_uid, owner.pw_gid)
        mailboxes = "".join(f"{address} ok\n" for address in self.accounts.addresses())
        (self.config_dir / "virtual_mailboxes").write_text(mailboxes)
        (self.config_dir / "main.cf").write_text(self.main_cf())
        (self.config_dir / "master.cf").write_text(self.master_cf())

    def main_cf(self):
        lmtp_port = self.dovecot.ports["lmtp"]
        return f"""# Written by bench/compare: a private Postfix that relays {DOMAIN} to Dovecot LMTP.
compatibility_level = 3.6
config_directory = {self.config_dir}
queue_directory = {self.queue_dir}
data_directory = {self.root}/data
maillog_file = {self.root}/log/postfix.log
maillog_file_prefixes = {self.root}/log
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.{DOMAIN}
mydomain = {DOMAIN}
myorigin = {DOMAIN}
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_maps = texthash:{self.config_dir}/virtual_mailboxes
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
default_process_limit = 1024
smtpd_client_connection_count_limit = 1024
smtpd_tls_cert_file = {self.certificate}
smtpd_tls_key_file = {self.key}
smtpd_tls_security_level = may
"""

    def master_cf(self):
        smtpd = f"127.0.0.1:{self.ports['smtp']} inet n - n - - smtpd\n"
        return "# Written by bench/compare.\n" + smtpd + "".join(" ".join(row) + "\n" for row in SERVICES)

    def postfix(self, *arguments, check=True):
        return run([POSTFIX_BINARY, "-c", str(self.config_dir), *arguments], check=check)

    def start(self):
        # `postfix check` creates the queue's folders and fails with its reasons; the marker file
        # tells `start-fg` the same checks were just run (postfix-script's quick-start), which
        # would otherwise run them again (a second or two).
        self.postfix("check")
        (self.queue_dir / QUICK_START_MARKER).touch()
        self.process = start(
            [POSTFIX_BINARY, "-c", self.config_dir, "start-fg"], self.root / "log" / "master.log"
        )
        wait_for_port(self.ports["smtp"], self.process, "Postfix smtpd")
        # The master calls setsid(), leaving the group started above: track its own group too.
        self.master_group = self.master_pid()
        if self.master_group is not None:
            track_group(self.master_group)

    def master_pid(self):
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if self.process is not None:
            # SIGTERM to the master's group is what `postfix stop` does to the master (which
            # passes it on), without the script's 1-second polls.
            if self.master_group is not None:
                stop_group(self.master_group)
            else:
                self.postfix("stop", check=False)
            stop(self.process, signal.SIGTERM)
            self.process = None

    def queued_messages(self):
        return sum(
            1 for folder in QUEUE_FOLDERS for path in (self.queue_dir / folder).rglob("*") if path.is_file()
        )

    def wait_for_empty_queue(self, timeout_secs):
        """Seconds until the queue is empty (all delivered to Dovecot), or None on timeout."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_secs:
            if self.queued_messages() == 0:
                return time.monotonic() - started
            time.sleep(DRAIN_POLL_SECS)
        return None

    def version(self):
        result = run(["/usr/sbin/postconf", "-d", "-h", "mail_version"], check=False)
        return "Postfix " + result.stdout.strip()
