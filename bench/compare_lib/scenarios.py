"""The scenarios each mode runs: which protocol, which load, which server Postern is compared with."""

import dataclasses

# Competitors, by the name of the server object that plays them.
DOVECOT = "dovecot"
DOVECOT_NO_FSYNC = "dovecot-nofsync"
POSTFIX = "postfix"


# idle-connections: the memory is read this long after each half of the set-ups, longer than
# Dovecot's imap_hibernate_timeout so that its idle sessions are hibernated by then.
IDLE_SETTLE_SECS = 8


@dataclasses.dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    protocol: str  # smtp | lmtp | pop3 | imap: the load tool's subcommand and the server port used
    competitor: str
    size: str = "4k"
    recipients: int = 1
    connections: int = 16
    tls: str = "none"
    imap: str = ""  # the load tool's --imap-scenario
    mailbox_messages: int = 0  # IMAP: the large mailbox read (0: the ingest or idle accounts)
    extra: tuple = ()  # further postern-load arguments

    @property
    def operation(self):
        """The load tool's operation whose figures are the headline."""
        if self.protocol == "imap":
            return IMAP_OPERATIONS[self.imap][0]
        return "retr" if self.protocol == "pop3" else "deliver"

    @property
    def secondary_operations(self):
        """Operations shown under the headline one: a POP3 session's login, IMAP's steps."""
        if self.protocol == "imap":
            return IMAP_OPERATIONS[self.imap][1]
        return ("login",) if self.protocol == "pop3" else ()

    @property
    def unit(self):
        if self.protocol == "imap":
            return IMAP_OPERATIONS[self.imap][2]
        return "messages retrieved/s" if self.protocol == "pop3" else "messages acknowledged/s"

    @property
    def counts_octets(self):
        """Whether MB/s means something: messages or listings moved, not a search's answer."""
        return self.imap in ("", "select-fetch-flags", "fetch-envelope", "fetch-body", "append")

    @property
    def latency_headline(self):
        """idle-latency: in a closed loop its rate is only 1 ÷ latency; the headline is the p50."""
        return self.imap == "idle-latency"

    @property
    def holds_connections(self):
        """idle-connections: its figures are memory, not a rate."""
        return self.imap == "idle-connections"


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    duration_secs: int
    warmup_secs: int
    repeats: int
    user_count: int
    fill_messages_per_user: int
    scenarios: tuple
    # idle-connections: seconds after each half of the set-ups before the memory is read.
    idle_settle_secs: int = IDLE_SETTLE_SECS
    # The machine's fdatasync and loopback probes: seconds each (None: their own lengths).
    machine_probe_secs: float = None
    # postern-load's --timeout: an operation slower than this is an error (None: its default).
    operation_timeout_secs: int = None


# --imap-scenario → (headline operation, operations shown under it, unit of the headline rate).
IMAP_OPERATIONS = {
    "select-fetch-flags": ("select-fetch", ("select", "fetch"), "SELECT + UID FETCH 1:* listings/s"),
    "fetch-envelope": ("fetch", (), "FETCHes of ENVELOPE and BODYSTRUCTURE/s"),
    "fetch-body": ("fetch", (), "messages fetched/s"),
    "append": ("append", (), "messages appended/s"),
    "search": ("search", (), "searches/s"),
    "idle-latency": ("notify", ("deliver", "exists"), "deliveries noticed in IDLE/s"),
    "idle-connections": ("idle", (), "sessions set up/s"),
    "qresync-resync": ("resync", ("change",), "cycles/s (STORE on 1% + UNSELECT + SELECT (QRESYNC))"),
    "mix": ("mix", ("fetch", "store", "append", "expunge", "search"), "operations of the random mix/s"),
}


def messages_label(count):
    return f"{count // 1000}k" if count % 1000 == 0 else str(count)


def imap_scenario(kind, what, connections, mailbox_messages=0, tls="none", extra=(), key_extra=""):
    mailbox = f", {messages_label(mailbox_messages)}-message mailbox" if mailbox_messages else ""
    key = f"imap-{kind}{key_extra}" + (f"-{messages_label(mailbox_messages)}" if mailbox_messages else "")
    key += f"-c{connections}" + ("" if tls == "none" else f"-{tls}")
    title = (
        f"IMAP {what}{mailbox}, {connections} connection{'s' if connections > 1 else ''}"
        f"{', STARTTLS' if tls != 'none' else ''} — Postern vs Dovecot IMAP"
    )
    return Scenario(key, title, "imap", DOVECOT, connections=connections, tls=tls, imap=kind,
                    mailbox_messages=mailbox_messages, extra=tuple(extra))


def select_fetch_flags(messages, connections=4):
    return imap_scenario("select-fetch-flags", "SELECT + UID FETCH 1:* (UID FLAGS)", connections, messages)


def fetch_envelope(messages, window=100, connections=4):
    what = f"FETCH {window} messages' ENVELOPE BODYSTRUCTURE" if window else "FETCH 1:* (ENVELOPE BODYSTRUCTURE)"
    return imap_scenario("fetch-envelope", what, connections, messages, extra=("--window", str(window)),
                         key_extra=f"-w{window}" if window else "-all")


def fetch_body(messages, connections=16, tls="none"):
    return imap_scenario("fetch-body", "FETCH BODY.PEEK[] of random messages", connections, messages, tls)


def append(size="4k", connections=16):
    return imap_scenario("append", f"APPEND of {size} messages", connections, extra=("--size", size),
                         key_extra=f"-{size}")


def search(key, messages, connections=4):
    label = key.split()[0].lower()
    return imap_scenario("search", f"SEARCH {key}", connections, messages, extra=("--search", key),
                         key_extra=f"-{label}")


def qresync_resync(messages, connections=4):
    return imap_scenario("qresync-resync", "QRESYNC resync after 1% of the flags changed", connections, messages)


def mix(messages, connections=4):
    """imaptest-like: a random mix of FETCH, STORE, APPEND, EXPUNGE, SEARCH and NOOP on the large
    mailbox, the connections sharing it, every answer checked against each session's model of the
    mailbox (a failed check is an error of the leg). It changes the mailbox: it runs after the
    reading legs."""
    return imap_scenario("mix", "random mix (FETCH, STORE, APPEND, EXPUNGE, SEARCH, NOOP), checked",
                         connections, messages)


def idle_latency(connections=16):
    return imap_scenario("idle-latency", "IDLE: LMTP 250 → * EXISTS", connections)


def idle_connections(count):
    """The settle time (--settle) is the mode's: the loader adds it."""
    return imap_scenario("idle-connections", "idle sessions held (server memory)", count)


def imap_quick(messages):
    return (
        select_fetch_flags(messages),
        fetch_envelope(messages),
        fetch_body(messages),
        append(),
        search("SUBJECT invoice", messages),
        search("TEXT needle", messages),
        qresync_resync(messages),
        idle_latency(),
        mix(messages),
    )


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


# CI's check that the harness still works, under a minute: every kind of leg once, 1-second
# legs without warm-up, short probes and settles, and a 5-second operation timeout so that a
# hung session costs seconds, not the load tool's default 30. Its figures mean little.
SMOKE = Mode("smoke", 1, 0, 1, 32, 3, (
    ingest("lmtp", DOVECOT),
    ingest("smtp", POSTFIX),
    download(),
    ingest("lmtp", DOVECOT_NO_FSYNC),
    *imap_quick(300),
    idle_connections(64),
), idle_settle_secs=1, machine_probe_secs=0.5, operation_timeout_secs=5)
QUICK = Mode("quick", 5, 2, 3, 100, 10, (
    ingest("lmtp", DOVECOT),
    ingest("smtp", POSTFIX),
    download(),
    ingest("lmtp", DOVECOT_NO_FSYNC),
    *imap_quick(10_000),
    idle_connections(1000),
))
IMAP_STANDARD = (
    select_fetch_flags(10_000),
    select_fetch_flags(100_000),
    fetch_envelope(10_000),
    fetch_envelope(10_000, window=0, connections=2),
    fetch_body(10_000),
    fetch_body(10_000, tls="starttls"),
    append(),
    search("SUBJECT invoice", 10_000),
    search("FROM sender7@", 10_000),
    search("TEXT needle", 10_000),
    qresync_resync(10_000),
    idle_latency(),
    mix(10_000),
    idle_connections(10_000),
)
STANDARD = Mode("standard", 10, 2, 3, 100, 20, (
    ingest("lmtp", DOVECOT),
    ingest("smtp", POSTFIX),
    ingest("smtp", POSTFIX, tls="starttls"),
    download(),
    download(tls="starttls"),
    ingest("lmtp", DOVECOT_NO_FSYNC),
    *IMAP_STANDARD,
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
    ingest("smtp", POSTFIX, size="1m"),
    ingest("smtp", POSTFIX, recipients=10),
    ingest("smtp", POSTFIX, connections=1),
    ingest("smtp", POSTFIX, connections=128),
    ingest("smtp", POSTFIX, tls="starttls"),
    ingest("smtp", POSTFIX, size="64k", tls="starttls"),
    download(),
    download(size="64k"),
    download(tls="starttls"),
    ingest("lmtp", DOVECOT_NO_FSYNC),
    ingest("lmtp", DOVECOT_NO_FSYNC, size="64k"),
    *IMAP_STANDARD,
    append("64k"),
))
MODES = {mode.name: mode for mode in (SMOKE, QUICK, STANDARD, FULL)}


def download_sizes(mode):
    """Message sizes the POP3 accounts must be filled with, one account set per size."""
    return sorted({scenario.size for scenario in mode.scenarios if scenario.protocol == "pop3"})


def imap_mailboxes(mode):
    """Message counts of the large IMAP mailboxes the mode reads, one account each."""
    return sorted({scenario.mailbox_messages for scenario in mode.scenarios if scenario.mailbox_messages})


def idle_account_count(mode, user_count):
    """Accounts for IDLE: one per held connection, and enough for idle-latency's connections."""
    counts = [scenario.connections for scenario in mode.scenarios if scenario.imap in ("idle-connections", "idle-latency")]
    if not counts:
        return 0
    return max(counts + [user_count])
