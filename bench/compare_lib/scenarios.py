"""The scenarios each mode runs: which protocol, which load, which server Postern is compared with."""

import dataclasses

# Competitors, by the name of the server object that plays them.
DOVECOT = "dovecot"
DOVECOT_NO_FSYNC = "dovecot-nofsync"
POSTFIX = "postfix"


@dataclasses.dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    protocol: str  # smtp | lmtp | pop3: the load tool's subcommand and the server port used
    competitor: str
    size: str = "4k"
    recipients: int = 1
    connections: int = 16
    tls: str = "none"

    @property
    def operation(self):
        """The load tool's operation whose figures are the headline."""
        return "retr" if self.protocol == "pop3" else "deliver"

    @property
    def secondary_operations(self):
        """Operations shown under the headline one: a POP3 session's login."""
        return ("login",) if self.protocol == "pop3" else ()

    @property
    def unit(self):
        return "messages retrieved/s" if self.protocol == "pop3" else "messages acknowledged/s"


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    duration_secs: int
    warmup_secs: int
    repeats: int
    user_count: int
    fill_messages_per_user: int
    scenarios: tuple


INGEST_COMPETITOR_TITLES = {
    DOVECOT: "Dovecot LMTP",
    DOVECOT_NO_FSYNC: "Dovecot LMTP, no fsync",
    POSTFIX: "Postfix→Dovecot",
}


def ingest(protocol, competitor, size="4k", recipients=1, connections=16, tls="none"):
    server = INGEST_COMPETITOR_TITLES[competitor]
    suffix = ("" if tls == "none" else f"-{tls}") + ("-nofsync" if competitor == DOVECOT_NO_FSYNC else "")
    key = f"{protocol}-{size}-r{recipients}-c{connections}{suffix}"
    title = (
        f"{protocol.upper()} ingest, {size}, {recipients} recipient{'s' if recipients > 1 else ''}, "
        f"{connections} connections{', ' + tls.upper() if tls != 'none' else ''} — Postern vs {server}"
    )
    return Scenario(key, title, protocol, competitor, size, recipients, connections, tls)


def download(size="4k", connections=16, tls="none"):
    suffix = "" if tls == "none" else f"-{tls}"
    title = (
        f"POP3 RETR, {size} messages, {connections} connections"
        f"{', STLS' if tls != 'none' else ''} — Postern vs Dovecot POP3"
    )
    return Scenario(f"pop3-retr-{size}-c{connections}{suffix}", title, "pop3", DOVECOT, size, 1, connections, tls)


SMOKE = Mode("smoke", 2, 1, 1, 32, 3, (
    ingest("lmtp", DOVECOT),
    ingest("smtp", POSTFIX),
    download(),
    ingest("lmtp", DOVECOT_NO_FSYNC),
))
QUICK = Mode("quick", 5, 2, 3, 100, 10, (
    ingest("lmtp", DOVECOT),
    ingest("smtp", POSTFIX),
    download(),
    ingest("lmtp", DOVECOT_NO_FSYNC),
))
STANDARD = Mode("standard", 10, 2, 3, 100, 20, (
    ingest("lmtp", DOVECOT),
    ingest("smtp", POSTFIX),
    ingest("smtp", POSTFIX, tls="starttls"),
    download(),
    download(tls="starttls"),
    ingest("lmtp", DOVECOT_NO_FSYNC),
))
FULL = Mode("full", 10, 2, 3, 100, 20, (
    ingest("lmtp", DOVECOT),
    ingest("lmtp", DOVECOT, size="64k"),
    ingest("lmtp", DOVECOT, size="1m"),
    ingest("lmtp", DOVECOT, recipients=10),
    ingest("lmtp", DOVECOT, size="64k", recipients=10),
    ingest("lmtp", DOVECOT, connections=1),
    ingest("lmtp", DOVECOT, connections=128),
    ingest("smtp", POSTFIX),
    ingest("smtp", POSTFIX, size="64k"),
    ingest("smtp", POSTFIX, recipients=10),
    ingest("smtp", POSTFIX, connections=128),
    ingest("smtp", POSTFIX, tls="starttls"),
    download(),
    download(size="64k"),
    download(tls="starttls"),
    ingest("lmtp", DOVECOT_NO_FSYNC),
    ingest("lmtp", DOVECOT_NO_FSYNC, size="64k"),
))
MODES = {mode.name: mode for mode in (SMOKE, QUICK, STANDARD, FULL)}


def download_sizes(mode):
    """Message sizes the POP3 accounts must be filled with, one account set per size."""
    return sorted({scenario.size for scenario in mode.scenarios if scenario.protocol == "pop3"})
