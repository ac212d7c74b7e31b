"""Step 6: REPORT.md with the machine, a headline table, a table and a latency plot per scenario."""

from . import svg
from .fill import IMAP_SENDERS, IMAP_TEXT_EVERY, IMAP_TOPICS
from .servers.dovecot import IMAP_HIBERNATE_TIMEOUT_SECS
from .statistics import PERCENTILES, ratio, summarise, summarise_hold

COMPETITOR_LABELS = {"dovecot": "Dovecot", "postfix": "Postfix→Dovecot", "dovecot-nofsync": "Dovecot (no fsync)"}

DOVECOT_FSYNC_TEXT = {
    "always": "`mail_fsync = always`: every write (the Maildir file, the index) is fsynced before 250",
    "optimized": "`mail_fsync = optimized` (Dovecot's default): the Maildir file is fsynced before 250",
}
DURABILITY_NOTES = """\
## What "acknowledged" means for each server

- **Postern** answers 250 only after the message is in its log and the log is fsynced (group
  commit: one fdatasync covers every message waiting for it). Postern has no setting that turns
  this off, so it has no no-fsync leg; its fsync figures are compared with Dovecot's no-fsync ones.
- **Dovecot LMTP** runs with {dovecot_fsync}. The *no fsync* legs use `mail_fsync = never` and are labelled so; they show what
  Dovecot does when the disk is taken out of the path, not a safe configuration.
- **Postfix→Dovecot**: Postfix answers 250 to DATA once its queue file is fsynced (that is
  Postfix's durability promise); it then relays to that Dovecot over LMTP in the
  background. The figures are Postfix's 250s; *queue drain* is how long Postfix still needed,
  after the load stopped, to hand everything to Dovecot.
- **POP3**: each server's download accounts were filled over its own LMTP with the same
  messages before the first leg; RETR does not delete, so every leg reads the same mailboxes.
"""

IMAP_NOTES = """\
## IMAP: what the legs read, and the Dovecot settings that matter

- **Mailboxes**: the reading legs use one account whose INBOX was filled, on each server over its
  own LMTP, with the same messages (the order can differ a little: eight connections filled it):
  about 3–4 KiB each, 75% text/plain, 20% multipart/alternative, 5% multipart/mixed with an
  attachment; {senders} senders, {topics} subjects (`SUBJECT invoice` matches 1 in {topics},
  `FROM sender7@` 1 in {senders}), and the word `needle` in the body of 1 message in {text_every}.
  All of a leg's connections log in to that one account (Dovecot's
  `mail_max_userip_connections` is raised for it). APPEND goes to the ingest accounts' INBOX;
  the IDLE legs use accounts of their own (`idle1..K@`), one per connection.
- **mail_fsync** matters only to APPEND (and to the LMTP deliveries of idle-latency): with
  {dovecot_fsync} Dovecot's tagged OK to APPEND comes after the fsyncs, as Postern's comes after
  its log's fdatasync.
- **Indexes**: Dovecot's defaults: `dovecot.index`, `.log` and `.cache` inside the Maildir, on
  the same disk. The first SELECT after the fill builds the index, and the first FETCH of
  ENVELOPE/BODYSTRUCTURE or SEARCH of a header fills `dovecot.index.cache` by parsing every message
  file; the warm-up of the first leg absorbs that (only later legs are fully warm: compare
  repeats). Without a full-text search plugin (`fts`), `SEARCH TEXT` reads every message file on
  each search (from the page cache here). Postern answers flags and sizes from its in-memory
  index, ENVELOPE and BODYSTRUCTURE from the MIME analysis stored at ingest, and SEARCH TEXT by
  scanning message octets.
- **IDLE**: Dovecot learns of a delivery through inotify, then waits a fixed 500 ms
  (`NOTIFY_DELAY_MSECS` in lib-storage's `mailbox-watch.c`, not a setting) so that it reports a
  burst of changes at once; Postern wakes the session when the delivery is committed. In the
  idle-latency legs *latency* is from reading the LMTP 250 to reading `* n EXISTS` (0 when the
  EXISTS came first); *exists* counts from the start of the delivery. In a closed loop the
  rate is only the inverse of that latency, so the headline gives the p50.
- **QRESYNC resync** (qresync-resync, RFC 7162): each connection sent `ENABLE QRESYNC`, selected the
  mailbox and noted UIDVALIDITY and HIGHESTMODSEQ; a second connection of its own (opened at the
  start, which cleared `\\Flagged` on that connection's share of the messages) then changes the flags
  of 1% of the messages per operation (`STORE set +FLAGS.SILENT (\\Flagged)` on 100 random
  messages of the 10k, then `-FLAGS.SILENT` on the same set; the connections' sets never
  overlap), untimed. The timed *resync* is `UNSELECT` then `SELECT INBOX (QRESYNC (uidvalidity
  modseq))` read to its tagged OK; it must list at least the changed messages as `* n FETCH`
  (more when other connections' changes fell in the same interval), and its HIGHESTMODSEQ is
  the next resync's starting point. The headline rate counts whole cycles (each connection's STORE
  and then its resync, one after the other), so it includes the untimed STORE; the latencies
  are the resync's alone, and *change* is the STORE's, shown for reference. With Dovecot's
  `mail_fsync = always` each STORE is written to `dovecot.index.log` with an fsync, and a
  resync can wait for another connection's STORE to release the index. The
  flags the leg leaves set are at most one set per connection (later reading legs see them).
- **Processes and hibernation**: Dovecot serves each logged-in IMAP connection with its own imap
  process (`service_count = 1`, Dovecot's default for imap); `imap_hibernate_timeout =
  {hibernate}s` moves a session that IDLEs that long to the imap-hibernate process and ends its
  imap process. Each imap process in IDLE needs an inotify instance (past the kernel's per-user
  limit Dovecot disables inotify for the session, which then polls every 30 s and is never
  hibernated): {inotify}. Each idle-connections leg starts on a freshly restarted server (so
  nothing an earlier leg left, kept processes or allocator caches, hides the cost) and reads
  memory {settle}. Memory is the server's process and all its
  descendants, read from /proc: RSS counts shared pages once per process (so it overstates a
  many-process server), PSS shares them out; *per connection* is all the growth ÷ connections,
  *second half* the growth while the second half of the connections was opened (what one more
  idle connection costs, without what was loaded once, like the mailbox index).
"""


ROTATIONAL_TEXT = {True: "rotational flag set", False: "non-rotational", None: "rotational flag unknown"}


def cell(spread, digits=0):
    if spread is None:
        return "–"
    if spread.low == spread.high:
        return f"{spread.median:.{digits}f}"
    return f"{spread.median:.{digits}f} ({spread.low:.{digits}f}–{spread.high:.{digits}f})"


def ratio_cell(value):
    return "–" if value is None else f"{value:.2f}×"


def machine_section(machine, versions, loads_at_legs):
    disk = machine["disk"]
    rotational = ROTATIONAL_TEXT[disk["rotational"]]
    rows = [
        ("CPUs", f"{machine['cpus']} × {machine['cpu_model']}"),
        ("memory", f"{machine['memory_gib']} GiB"),
        ("OS, kernel", f"{machine['os']}, Linux {machine['kernel']}"),
        ("workdir disk", f"{disk['device']} ({disk['filesystem']}, {disk['size_gib']} GiB, {rotational})"),
        ("fdatasync rate", fdatasync_text(machine)),
        ("loopback bandwidth", f"{machine['loopback_mb_per_sec']:.0f} MB/s (one TCP stream over 127.0.0.1)"),
        ("load average (1, 5, 15 min)", load_text(machine)),
    ]
    if loads_at_legs:
        rows.append(("1-minute load at the legs' starts (includes this run)",
                     f"{min(loads_at_legs):.1f}–{max(loads_at_legs):.1f}"))
    rows += [(f"{label} version", version) for label, version in versions.items()]
    lines = ["## Machine", "", "| | |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def leg_loads(legs):
    return [
        result["load_average_at_start"]
        for servers in legs.values() for results in servers.values() for result in results
        if "load_average_at_start" in result
    ]


def busy_warning(machine):
    """Other work on the machine competes with the servers; say so where nobody can miss it.

    Only the load before the build is surely other work: later averages include the run's own
    processes (Dovecot's sixteen busy lmtp processes alone make a load of sixteen)."""
    before = machine.get("load_average_before_build", machine["load_average"])[0]
    if before <= machine["cpus"] / 2:
        return ""
    return (
        f"> **The machine was busy**: 1-minute load average {before:.1f} on {machine['cpus']} CPUs "
        f"before the run: absolute figures are low and noisy; the interleaved ratios "
        "are the part to read. Run it again on an idle machine before quoting numbers.\n"
    )


def load_text(machine):
    """Other work on the machine shows here; on a busy machine, figures are noisier and lower."""
    text = ""
    if "load_average_before_build" in machine:
        text += "before the build " + ", ".join(f"{value:.2f}" for value in machine["load_average_before_build"]) + "; "
    text += "at start " + ", ".join(f"{value:.2f}" for value in machine["load_average"])
    if "load_average_at_end" in machine:
        text += "; at end " + ", ".join(f"{value:.2f}" for value in machine["load_average_at_end"])
    return text


def fdatasync_text(machine):
    text = f"{machine['fdatasync_per_sec']:.0f} /s before the runs"
    if "fdatasync_per_sec_at_end" in machine:
        text += f", {machine['fdatasync_per_sec_at_end']:.0f} /s after"
    return text + " (one writer: 4 KiB appends, each followed by fdatasync)"


def headline_section(mode, summaries):
    lines = ["## Headline (medians)", ""]
    holds = [scenario for scenario in mode.scenarios if scenario.holds_connections]
    rates = [scenario for scenario in mode.scenarios if not scenario.holds_connections]
    if rates:
        lines += [
            "| scenario | Postern ops/s | other ops/s | Postern ÷ other | Postern p99 ms | other p99 ms |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
    for scenario in rates:
        postern, other = summaries[scenario.key]
        if scenario.latency_headline:
            mine, theirs = postern.latency_ms["p50"], other.latency_ms["p50"]
            lines.append(
                f"| {scenario.title} (p50 ms, not ops/s) | {cell(mine, 2)} ms | {cell(theirs, 2)} ms | "
                f"{ratio_cell(ratio(mine, theirs))} | "
                f"{cell(postern.latency_ms['p99'], 2)} | {cell(other.latency_ms['p99'], 2)} |"
            )
            continue
        lines.append(
            f"| {scenario.title} | {cell(postern.ops_per_sec)} | {cell(other.ops_per_sec)} | "
            f"{ratio_cell(ratio(postern.ops_per_sec, other.ops_per_sec))} | "
            f"{cell(postern.latency_ms['p99'], 2)} | {cell(other.latency_ms['p99'], 2)} |"
        )
    if holds:
        lines += [
            *([""] if rates else []),
            "| idle IMAP connections | Postern held | Dovecot held | Postern KiB/connection | "
            "Dovecot KiB/connection | Postern ÷ Dovecot |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for scenario in holds:
            postern, other = summaries[scenario.key]
            lines.append(
                f"| {scenario.connections} sessions in IDLE, PSS of the second half | {cell(postern.held)} | "
                f"{cell(other.held)} | {cell(postern.pss_kib_marginal, 1)} | {cell(other.pss_kib_marginal, 1)} | "
                f"{ratio_cell(ratio(postern.pss_kib_marginal, other.pss_kib_marginal))} |"
            )
    return "\n".join(lines) + "\n"


def secondary_rows(scenario, legs):
    """Rows for the scenario's other operations (POP3 logins): rate and latency."""
    rows = []
    runs = legs.get(scenario.key, {})
    for operation in scenario.secondary_operations:
        mine = summarise(runs.get("postern", []), operation)
        theirs = summarise(runs.get(scenario.competitor, []), operation)
        # IMAP's steps run once per operation: their rate is the headline's.
        if operation == "login":
            rows.append((f"{operation}s/s", mine.ops_per_sec, theirs.ops_per_sec, 0))
        for name in ("p50", "p99"):
            rows.append((f"{operation} {name} latency, ms", mine.latency_ms[name], theirs.latency_ms[name], 2))
    return rows


def scenario_section(scenario, postern, other, plot_link, extra_rows=()):
    label = COMPETITOR_LABELS[scenario.competitor]
    rows = [(scenario.unit, postern.ops_per_sec, other.ops_per_sec, 0)]
    if scenario.counts_octets:
        rows.append(("MB/s", postern.mb_per_sec, other.mb_per_sec, 1))
    rows += [(f"{name} latency, ms", postern.latency_ms[name], other.latency_ms[name], 2) for name, _ in PERCENTILES]
    if postern.fetch_lines_per_op is not None or other.fetch_lines_per_op is not None:
        rows.append(("octets per operation", postern.octets_per_op, other.octets_per_op, 0))
        rows.append(("`* n FETCH` lines per operation", postern.fetch_lines_per_op, other.fetch_lines_per_op, 1))
    rows += list(extra_rows)
    lines = [
        f"### {scenario.title}", "",
        f"Median (min–max) over {max(postern.runs, other.runs)} repeat(s); "
        f"ratios are Postern ÷ {label} of the medians (above 1 is better for throughput, below 1 for latency).", "",
        f"| | Postern | {label} | Postern ÷ {label} |",
        "| --- | --- | --- | --- |",
    ]
    for name, mine, theirs, digits in rows:
        lines.append(f"| {name} | {cell(mine, digits)} | {cell(theirs, digits)} | {ratio_cell(ratio(mine, theirs))} |")
    lines.append(
        f"| operations (errors) | {postern.operations} ({postern.errors}) | "
        f"{other.operations} ({other.errors}) | |"
    )
    lines.append(
        f"| load generator CPU | {cell(percent(postern.generator_cpu))} % | {cell(percent(other.generator_cpu))} % | |"
    )
    if other.queue_drain_secs is not None:
        lines.append(f"| Postfix queue drain after the run, s | | {cell(other.queue_drain_secs, 1)} | |")
    for name, summary in (("Postern", postern), (label, other)):
        for failure in summary.failures:
            lines.append(f"\n**{name}: a leg failed:** `{failure.strip().splitlines()[-1][:300]}`")
    if plot_link:
        lines += ["", f"![latency, {scenario.title}]({plot_link})"]
    return "\n".join(lines) + "\n"


def inotify_text(limits):
    if not limits:
        return "the run left `fs.inotify.max_user_instances` as it was"
    if limits["before"] == limits["during"]:
        return f"`fs.inotify.max_user_instances` was {limits['before']}, enough for these legs"
    return (f"the runner raised `fs.inotify.max_user_instances` from {limits['before']} to "
            f"{limits['during']} for the run, as such a site would, and restored it afterwards")


def hold_section(scenario, postern, other):
    """idle-connections: memory, not rates; lower is better throughout."""
    label = COMPETITOR_LABELS[scenario.competitor]
    rows = [
        ("connections held (of attempted)", postern.held, other.held, 0),
        ("answered DONE after the hold", postern.alive_at_end, other.alive_at_end, 0),
        ("server processes while held", postern.processes_held, other.processes_held, 0),
        ("server RSS before, MiB", postern.rss_mib_before, other.rss_mib_before, 1),
        ("server RSS held, MiB", postern.rss_mib_held, other.rss_mib_held, 1),
        ("RSS per connection, KiB", postern.rss_kib_per_connection, other.rss_kib_per_connection, 1),
        ("PSS per connection, KiB", postern.pss_kib_per_connection, other.pss_kib_per_connection, 1),
        ("RSS per connection, second half, KiB", postern.rss_kib_marginal, other.rss_kib_marginal, 1),
        ("PSS per connection, second half, KiB", postern.pss_kib_marginal, other.pss_kib_marginal, 1),
        ("set-up p50 (connect, LOGIN, SELECT, IDLE), ms", postern.set_up_ms["p50"], other.set_up_ms["p50"], 2),
        ("set-up p99, ms", postern.set_up_ms["p99"], other.set_up_ms["p99"], 2),
    ]
    lines = [
        f"### {scenario.title}", "",
        f"Median (min–max) over {max(postern.runs, other.runs)} repeat(s) of {scenario.connections} "
        f"connections attempted; ratios are Postern ÷ {label} (below 1: Postern uses less).", "",
        f"| | Postern | {label} | Postern ÷ {label} |",
        "| --- | --- | --- | --- |",
    ]
    for name, mine, theirs, digits in rows:
        lines.append(f"| {name} | {cell(mine, digits)} | {cell(theirs, digits)} | {ratio_cell(ratio(mine, theirs))} |")
    for name, summary in (("Postern", postern), (label, other)):
        for limit in summary.limited_by:
            lines.append(f"\n**{name} held fewer than attempted; the first failure:** `{limit[:300]}`")
        for failure in summary.failures:
            lines.append(f"\n**{name}: a leg failed:** `{failure.strip().splitlines()[-1][:300]}`")
    return "\n".join(lines) + "\n"


def percent(spread):
    if spread is None:
        return None
    return type(spread)(spread.median * 100, spread.low * 100, spread.high * 100)


def summarise_all(mode, legs):
    summaries = {}
    for scenario in mode.scenarios:
        runs = legs.get(scenario.key, {})
        summary = summarise_hold if scenario.holds_connections else (
            lambda results, operation=scenario.operation: summarise(results, operation))
        summaries[scenario.key] = (
            summary(runs.get("postern", [])),
            summary(runs.get(scenario.competitor, [])),
        )
    return summaries


def write_plots(mode, summaries, directory):
    """One SVG per scenario; returns {scenario key: file name}."""
    names = {}
    for scenario in mode.scenarios:
        if scenario.holds_connections:
            continue
        postern, other = summaries[scenario.key]
        series = [
            ("Postern", medians(postern.latency_ms)),
            (COMPETITOR_LABELS[scenario.competitor], medians(other.latency_ms)),
        ]
        image = svg.latency_plot(scenario.title, series)
        if image:
            name = f"{scenario.key}.svg"
            directory.mkdir(parents=True, exist_ok=True)
            (directory / name).write_text(image)
            names[scenario.key] = name
    return names


def medians(latency_ms):
    return {label: spread.median for label, spread in latency_ms.items() if spread is not None}


def render(run, mode, legs, plot_names, plots_link_prefix):
    summaries = summarise_all(mode, legs)
    parts = [
        f"# Postern vs Dovecot and Postfix→Dovecot — {run['date']}", "",
        f"`{run['command']}` — mode **{mode.name}**: {mode.repeats} repeat(s) of each leg, "
        f"{mode.duration_secs} s measured after {mode.warmup_secs} s of warm-up, legs interleaved "
        f"(Postern, other, Postern, other, …); {mode.user_count} accounts per set, one plain password, "
        f"the same self-signed certificate for every server; all on 127.0.0.1. "
        f"The load generator (`postern-load`) runs on the same machine and its CPU use is shown. "
        f"The whole run took {run.get('elapsed_secs', '?')} s.", "",
        busy_warning(run["machine"]),
        machine_section(run["machine"], run["versions"], leg_loads(legs)),
        headline_section(mode, summaries),
        DURABILITY_NOTES.format(dovecot_fsync=DOVECOT_FSYNC_TEXT[run.get("dovecot_fsync", "always")]),
    ]
    if any(scenario.protocol == "imap" for scenario in mode.scenarios):
        parts.append(IMAP_NOTES.format(
            senders=IMAP_SENDERS, topics=len(IMAP_TOPICS), text_every=IMAP_TEXT_EVERY,
            dovecot_fsync=DOVECOT_FSYNC_TEXT[run.get("dovecot_fsync", "always")].split(":")[0],
            hibernate=IMAP_HIBERNATE_TIMEOUT_SECS, settle=settle_text(mode.idle_settle_secs),
            inotify=inotify_text(run.get("inotify_max_user_instances")),
        ))
    parts += ["## Scenarios", ""]
    for scenario in mode.scenarios:
        postern, other = summaries[scenario.key]
        if scenario.holds_connections:
            parts.append(hold_section(scenario, postern, other))
            continue
        name = plot_names.get(scenario.key)
        link = f"{plots_link_prefix}{name}" if name else None
        parts.append(scenario_section(scenario, postern, other, link, secondary_rows(scenario, legs)))
    return "\n".join(parts)


def settle_text(settle_secs):
    """When the idle-connections legs read memory, and whether Dovecot had hibernated by then."""
    text = f"{settle_secs} s after each half of the set-ups"
    if settle_secs > IMAP_HIBERNATE_TIMEOUT_SECS:
        return text + ", so Dovecot's sessions are hibernated by then"
    return (text + f", before Dovecot's {IMAP_HIBERNATE_TIMEOUT_SECS} s `imap_hibernate_timeout`: "
            "its sessions still have their imap processes (this mode's figures say little)")


def headline_rows(mode, legs):
    """The headline table alone, for the terminal."""
    return headline_section(mode, summarise_all(mode, legs))


def readme_headline(run, mode, legs, report_link):
    """What bench/README.md shows of the latest published report: the machine and the headline."""
    machine = run["machine"]
    table = headline_section(mode, summarise_all(mode, legs)).split("\n", 2)[2]
    return (
        f"From [{run['date']}]({report_link}), `{run['command']}`, on {machine['cpus']} × "
        f"{machine['cpu_model']}, {machine['memory_gib']} GiB, Linux {machine['kernel']}, "
        f"{machine['disk']['filesystem']} on {machine['disk']['device']} "
        f"(fdatasync {machine['fdatasync_per_sec']:.0f}/s, loopback {machine['loopback_mb_per_sec']:.0f} MB/s). "
        f"Medians (min–max) of {mode.repeats} interleaved repeats:\n\n{table}"
    )
