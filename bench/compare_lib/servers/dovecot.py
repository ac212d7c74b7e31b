"""Dovecot 2.3: a standalone instance with its own dovecot.conf, nothing included from /etc.

LMTP and POP3 (and IMAP) on 127.0.0.1 TCP ports, passwd-file accounts with {PLAIN} passwords,
Maildir under the working directory. Dovecot's `mail_fsync`: `always` (the default here) fsyncs
after every write, the message file and the index, before LMTP answers 250; `optimized` (Dovecot's
own default) fsyncs what data safety needs, the message file included; the no-fsync variant sets
`never`.
Tuned as a busy installation would be, from Dovecot's performance documentation: login processes
in high-performance mode (one process serves many connections), and the lmtp and pop3 processes
kept and reused instead of forked per connection.

IMAP: one imap process per logged-in connection (Dovecot's design: `client_limit = 1`). For
many idle clients Dovecot offers hibernation: after `imap_hibernate_timeout` in IDLE the
connection moves to the imap-hibernate process (which watches the mailbox for it) and the imap
process ends (Dovecot's default `service_count = 1`: a process reused instead would stay, idle,
until `idle_kill`); that is on here, as a site with thousands of IDLE clients would run it. It
needs an inotify instance per imap process: the runner raises the kernel's per-user limit.
`mail_max_userip_connections` (10 by default) is raised, since the reading legs open many
connections to one account. Indexes are Dovecot's defaults (in the Maildir, on the same disk);
no full-text search plugin, so SEARCH TEXT reads the message files.
"""

import os
import pwd
import signal

from ..processes import free_port, run, start, stop, wait_for_port

DOVECOT_BINARY = "/usr/sbin/dovecot"
# Dovecot will not access mail as root; Debian's `mail` user (uid 8) exists on every system.
MAIL_USER = "mail"
PROTOCOLS = ("lmtp", "pop3", "imap")
# IDLE sessions move to imap-hibernate after this long (Dovecot's default is 0: never).
IMAP_HIBERNATE_TIMEOUT_SECS = 5
# imap processes at once: one per connection not (yet) hibernated.
IMAP_PROCESS_LIMIT = 4096
# Connections the hibernation process and each login process may hold.
CLIENT_LIMIT = 20_000


class Dovecot:
    def __init__(self, workdir, accounts, certificate, key, fsync="always"):
        self.fsync = fsync
        suffix = "-nofsync" if fsync == "never" else ""
        self.name = "dovecot" + suffix
        self.label = "Dovecot (no fsync)" if fsync == "never" else "Dovecot"
        self.root = workdir / self.name
        self.config = self.root / "dovecot.conf"
        self.mail_root = self.root / "mail"
        self.accounts = accounts
        self.certificate, self.key = certificate, key
        self.ports = {protocol: free_port() for protocol in PROTOCOLS}
        self.process = None

    def home_of(self, address):
        return str(self.mail_root / address)

    def prepare(self):
        for directory in ("run", "state", "log", "mail"):
            (self.root / directory).mkdir(parents=True, exist_ok=True)
        # Dovecot refuses a base_dir that other users cannot reach; its login processes run as
        # dovenull and its internal ones as dovecot.
        (self.root / "run").chmod(0o755)
        mail_user = pwd.getpwnam(MAIL_USER)
        os.chown(self.mail_root, mail_user.pw_uid, mail_user.pw_gid)
        self.accounts.write_passwd_file(self.root / "users.passwd", self.home_of)
        self.config.write_text(self.config_text())
        run([DOVECOT_BINARY, "-c", str(self.config), "-n"])

    def config_text(self):
        return f"""# Written by bench/compare: a standalone Dovecot for benchmarking, nothing from /etc.
instance_name = bench-{self.name}
base_dir = {self.root}/run
state_dir = {self.root}/state
log_path = {self.root}/log/dovecot.log
info_log_path = {self.root}/log/dovecot-info.log
protocols = lmtp pop3 imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.certificate}
ssl_key = <{self.key}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_uid = {MAIL_USER}
mail_gid = {MAIL_USER}
first_valid_uid = {pwd.getpwnam(MAIL_USER).pw_uid}
first_valid_gid = {pwd.getpwnam(MAIL_USER).pw_gid}
mail_fsync = {self.fsync}
default_process_limit = 1024
default_client_limit = 4096
default_vsz_limit = 1G
pop3_uidl_format = %08Xu%08Xv
imap_hibernate_timeout = {IMAP_HIBERNATE_TIMEOUT_SECS}s

protocol imap {{
  mail_max_userip_connections = {CLIENT_LIMIT}
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.root}/users.passwd
}}
userdb {{
  driver = passwd-file
  args = {self.root}/users.passwd
}}
{self.services_text()}"""

    def services_text(self):
        cpus = os.cpu_count() or 1
        return f"""
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.ports["lmtp"]}
  }}
  service_count = 0
  process_min_avail = {cpus}
}}
service pop3 {{
  service_count = 0
  process_min_avail = {cpus}
}}
service imap {{
  service_count = 1
  process_limit = {IMAP_PROCESS_LIMIT}
  process_min_avail = {cpus}
  extra_groups = $default_internal_group
  unix_listener imap-master {{
    user = $default_internal_user
  }}
}}
service auth {{
  client_limit = {CLIENT_LIMIT}
}}
service imap-hibernate {{
  client_limit = {CLIENT_LIMIT}
  unix_listener imap-hibernate {{
    mode = 0660
    group = $default_internal_group
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.ports["pop3"]}
  }}
  inet_listener pop3s {{
    port = 0
  }}
  service_count = 0
  process_min_avail = {cpus}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.ports["imap"]}
  }}
  inet_listener imaps {{
    port = 0
  }}
  service_count = 0
  process_min_avail = {cpus}
  client_limit = {CLIENT_LIMIT}
}}
"""

    def start(self):
        self.process = start([DOVECOT_BINARY, "-F", "-c", self.config], self.root / "log" / "master.log")
        for protocol, port in self.ports.items():
            wait_for_port(port, self.process, f"{self.label} {protocol}")

    def pid(self):
        """The master's pid: the imap, login and hibernation processes are its descendants."""
        return self.process.pid if self.process is not None else None

    def stop(self):
        if self.process is not None:
            stop(self.process, signal.SIGTERM)
            self.process = None

    def version(self):
        return "Dovecot " + run([DOVECOT_BINARY, "--version"], check=False).stdout.strip()
