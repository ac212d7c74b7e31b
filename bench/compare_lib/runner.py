"""Steps 3 and 5: start the servers, check them, fill their accounts, run the legs A/B."""

import json
import os
import time

from . import fill, loader, verify
from .accounts import INGEST_PATTERN, download_pattern, imap_mailbox_address
from .scenarios import DOVECOT, DOVECOT_NO_FSYNC, IDLE_SETTLE_SECS, POSTFIX
from .servers.dovecot import Dovecot
from .servers.postern import Postern
from .servers.postfix import PostfixToDovecot

POSTFIX_DRAIN_TIMEOUT_SECS = 600
# The slowest set-up rate of idle sessions the leg's timeout allows for.
HOLD_SET_UPS_PER_SEC_MIN = 20
HOLD_QUIET_SECS = 3
SEED_BASE = 20240601


class Servers:
    """All instances of one run, by name; started together, stopped together."""

    def __init__(self, workdir, accounts, certificate, key, with_no_fsync, dovecot_fsync):
        tls = (certificate, key)
        self.postern = Postern(workdir, accounts, *tls)
        self.dovecot = Dovecot(workdir, accounts, *tls, fsync=dovecot_fsync)
        self.postfix = PostfixToDovecot(workdir, accounts, *tls, self.dovecot)
        self.dovecot_no_fsync = Dovecot(workdir, accounts, *tls, fsync="never") if with_no_fsync else None
        self.by_name = {
            "postern": self.postern,
            DOVECOT: self.dovecot,
            POSTFIX: self.postfix,
            DOVECOT_NO_FSYNC: self.dovecot_no_fsync,
        }

    def all(self):
        return [server for server in self.by_name.values() if server is not None]

    def start(self, log):
        for server in self.all():
            log(f"starting {server.label}")
            server.prepare()
            server.start()

    def stop(self, log):
        for server in reversed(self.all()):
            started = time.monotonic()
            server.stop()
            log(f"stopped {server.label} in {time.monotonic() - started:.1f} s")

    def verify(self, certificate, password, log):
        context = verify.tls_context(certificate)
        log("checking each server: one message in, read back over POP3 (STARTTLS/STLS)")
        verify.verify_postern(self.postern, password, context)
        verify.verify_dovecot(self.dovecot, password, context)
        verify.verify_postfix(self.postfix, self.dovecot, password, context)
        verify.verify_imap(self.postern, password, context)
        verify.verify_imap(self.dovecot, password, context)
        if self.dovecot_no_fsync is not None:
            verify.verify_dovecot(self.dovecot_no_fsync, password, context)

    def fill_accounts(self, accounts, messages_per_user, log):
        """POP3 accounts get their messages; every ingest account one, on every LMTP server."""
        lmtp_servers = [server for server in self.all() if "lmtp" in server.ports]
        jobs = [(server, INGEST_PATTERN, "4k", 1) for server in lmtp_servers]
        for size in accounts.download_sizes:
            for server in (self.postern, self.dovecot):
                jobs.append((server, download_pattern(size), size, messages_per_user))
        for server, pattern, size, count in jobs:
            started = time.monotonic()
            total = fill.fill(server.ports["lmtp"], accounts.numbered(pattern), size, count)
            elapsed = time.monotonic() - started
            log(f"filled {server.label}: {total} messages of {size} to {pattern} in {elapsed:.1f} s")
        for messages in accounts.imap_mailboxes:
            for server in (self.postern, self.dovecot):
                address = imap_mailbox_address(messages)
                started = time.monotonic()
                fill.fill_imap(server.ports["lmtp"], address, messages)
                elapsed = time.monotonic() - started
                log(f"filled {server.label}: {messages} IMAP messages to {address} in {elapsed:.1f} s "
                    f"({messages / elapsed:.0f}/s)")

    def versions(self):
        return {server.label: server.version() for server in self.all()}


def run_leg(servers, scenario, server_name, repeat, mode, accounts, directory, load_cpus):
    server = servers.by_name[server_name]
    name = f"{scenario.key}.{server_name}.{repeat}"
    json_path = directory / f"{name}.json"
    timeout = mode.duration_secs + mode.warmup_secs + loader.LEG_TIMEOUT_MARGIN_SECS
    if scenario.holds_connections:
        # The ramp (two halves, each followed by a settle) comes before the hold.
        timeout += 2 * IDLE_SETTLE_SECS + scenario.connections / HOLD_SET_UPS_PER_SEC_MIN
        # A fresh server (a new pid, before the command names it), so that nothing an earlier
        # leg left (processes kept for reuse, memory its allocator holds) hides what the
        # connections cost; then a moment to settle.
        server.stop()
        server.start()
        time.sleep(HOLD_QUIET_SECS)
    arguments = loader.command(scenario, mode, server, accounts, SEED_BASE + repeat, json_path, load_cpus)
    load_average = os.getloadavg()[0]
    result = loader.run_leg(arguments, json_path, directory / f"{name}.log", timeout)
    result["load_average_at_start"] = load_average
    if server_name == POSTFIX:
        result["queue_drain_secs"] = servers.postfix.wait_for_empty_queue(POSTFIX_DRAIN_TIMEOUT_SECS)
    return result


def run_scenarios(servers, mode, accounts, workdir, load_cpus, log):
    """Legs interleaved: for each repeat, Postern then its competitor, so drift hits both."""
    directory = workdir / "legs"
    directory.mkdir(exist_ok=True)
    results = {}
    for scenario in mode.scenarios:
        legs = results.setdefault(scenario.key, {"postern": [], scenario.competitor: []})
        for repeat in range(mode.repeats):
            for server_name in ("postern", scenario.competitor):
                log(f"{scenario.key}: {server_name}, repeat {repeat + 1}/{mode.repeats}")
                result = run_leg(servers, scenario, server_name, repeat, mode, accounts, directory, load_cpus)
                log("  " + summarise(result, scenario.operation))
                legs[server_name].append(result)
        (workdir / "results.json").write_text(json.dumps(results, indent=1))
    return results


def summarise(result, operation):
    if "failed" in result:
        return "FAILED: " + result["failed"].strip().splitlines()[-1][:200]
    figures = result.get("operations", {}).get(operation, {})
    latency = figures.get("latency_us", {})
    return (
        f"{figures.get('ops_per_sec', 0):.0f} ops/s, {figures.get('mb_per_sec', 0):.1f} MB/s, "
        f"p50 {latency.get('p50', 0) / 1000:.2f} ms, p99 {latency.get('p99', 0) / 1000:.2f} ms, "
        f"errors {figures.get('errors', 0)}"
    )
