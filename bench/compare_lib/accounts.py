"""The accounts every server gets: the same names, one plain password, one passwd-file."""

import dataclasses

DOMAIN = "bench.test"
PASSWORD = "bench-password"
# Ingest scenarios deliver to user1..userN.
INGEST_PATTERN = "user%d@" + DOMAIN
# Used only to check that each server works; it is not among the measured accounts.
PROBE_ADDRESS = "probe@" + DOMAIN
# IMAP idle-connections: one account per held connection.
IDLE_PATTERN = "idle%d@" + DOMAIN


def download_pattern(size):
    """POP3 accounts, a set per message size, filled once with the same messages on every server,
    so the mailboxes read are identical whatever the ingest scenarios delivered elsewhere."""
    return f"pop{size}-%d@{DOMAIN}"


def imap_mailbox_address(messages):
    """The one account whose INBOX holds `messages` messages for the IMAP reading legs."""
    return f"box{messages}@{DOMAIN}"


@dataclasses.dataclass(frozen=True)
class Accounts:
    count: int
    download_sizes: tuple = ()
    # IMAP: message counts of the large mailboxes (one account each), and the idle accounts.
    imap_mailboxes: tuple = ()
    idle_count: int = 0
    password: str = PASSWORD

    def numbered(self, pattern):
        return [pattern % number for number in range(1, self.count + 1)]

    def addresses(self):
        addresses = self.numbered(INGEST_PATTERN)
        for size in self.download_sizes:
            addresses += self.numbered(download_pattern(size))
        addresses += [imap_mailbox_address(messages) for messages in self.imap_mailboxes]
        addresses += [IDLE_PATTERN % number for number in range(1, self.idle_count + 1)]
        return addresses + [PROBE_ADDRESS]

    def write_passwd_file(self, path, home_of=None):
        """Dovecot's passwd-file format, which `postern user import` also reads."""
        lines = []
        for address in self.addresses():
            home = home_of(address) if home_of else ""
            lines.append(f"{address}:{{PLAIN}}{self.password}::::{home}::\n")
        path.write_text("".join(lines))
        return path
