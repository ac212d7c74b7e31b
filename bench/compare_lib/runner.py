"""Steps 3 and 5: start the servers, check them, fill their accounts, run the legs A/B."""

import concurrent.futures
import json
import os
import shutil
import time

from . import fill, loader, verify
from .accounts import INGEST_PATTERN, download_pattern, imap_mailbox_address
from .scenarios import DOVECOT, DOVECOT_NO_FSYNC, POSTFIX
from .servers.dovecot import Dovecot
from .servers.postern import Postern
from .servers.postfix import PostfixToDovecot

POSTFIX_DRAIN_TIMEOUT_SECS = 600
# The slowest set-up rate of idle sessions the leg's timeout allows for.
HOLD_SET_UPS_PER_SEC_MIN = 20
HOLD_QUIET_SECS = 3
SEED_BASE = 20240601
# A fill job's size that means one IMAP mailbox of mixed messages (fill.imap_message).
IMAP_FILL = "imap"
GIB = 1024**3
# A leg does not start with less free space than this in the work dir: the biggest legs
# (1 MiB messages) write about 2 GB each.
MIN_FREE_BYTES = 6 * GIB


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
        """All at once: the instances share nothing but the certificate (Postfix needs Dovecot's
        LMTP port, chosen before, and Dovecot itself only once mail flows)."""
        def start_one(server):
            started = time.monotonic()
            server.prepare()
            server.start()
            log(f"started {server.label} in {time.monotonic() - started:.1f} s")

        in_parallel(start_one, self.all())

    def stop(self, log):
        """Postfix first, so that it does not try to deliver to a Dovecot going away; then the rest
        at once."""
        def stop_one(server):
            started = time.monotonic()
            server.stop()
            log(f"stopped {server.label} in {time.monotonic() - started:.1f} s")

        stop_one(self.postfix)
        in_parallel(stop_one, [server for server in self.all() if server is not self.postfix])

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
        """Every ingest account gets one message on every LMTP server; on Postern and Dovecot the
        POP3 accounts get their messages and the IMAP mailboxes theirs. All at once: Dovecot's
        fills wait on its fsyncs, not on the CPU."""
        lmtp_servers = [server for server in self.all() if "lmtp" in server.ports]
        jobs = [(server, INGEST_PATTERN, "4k", 1) for server in lmtp_servers]
        for server in (self.postern, self.dovecot):
            jobs += [(server, download_pattern(size), size, messages_per_user) for size in accounts.download_sizes]
            jobs += [(server, imap_mailbox_address(messages), IMAP_FILL, messages)
                     for messages in accounts.imap_mailboxes]

        def fill_one(job):
            server, recipients, size, count = job
            port = server.ports["lmtp"]
            started = time.monotonic()
            if size == IMAP_FILL:
                fill.fill_imap(port, recipients, count)
                elapsed = time.monotonic() - started
                log(f"filled {server.label}: {count} IMAP messages to {recipients} in {elapsed:.1f} s "
                    f"({count / elapsed:.0f}/s)")
                return
            total = fill.fill(port, accounts.numbered(recipients), size, count)
            log(f"filled {server.label}: {total} messages of {size} to {recipients} "
                f"in {time.monotonic() - started:.1f} s")

        in_parallel(fill_one, jobs)

    def versions(self):
        return {server.label: server.version() for server in self.all()}


def in_parallel(action, items):
    """action(item) for every item, each in its own thread; re-raises the first failure once all
    have ended, also when Ctrl-C or SIGTERM interrupts the wait (so no server is still starting
    when the caller stops them)."""
    pool = concurrent.futures.ThreadPoolExecutor(max(1, len(items)))
    try:
        jobs = [pool.submit(action, item) for item in items]
        concurrent.futures.wait(jobs)
    finally:
        pool.shutdown(wait=True)
    for job in jobs:
        job.result()


def run_leg(servers, scenario, server_name, repeat, mode, accounts, directory, load_cpus):
    server = servers.by_name[server_name]
    name = f"{scenario.key}.{server_name}.{repeat}"
    json_path = directory / f"{name}.json"
    timeout = mode.duration_secs + mode.warmup_secs + loader.LEG_TIMEOUT_MARGIN_SECS
    if scenario.holds_connections:
        # The ramp (two halves, each followed by a settle) comes before the hold.
        timeout += 2 * mode.idle_settle_secs + scenario.connections / HOLD_SET_UPS_PER_SEC_MIN
        # A fresh server (a new pid, before the command names it), so that nothing an earlier
        # leg left (processes kept for reuse, memory its allocator holds) hides what the
        # connections cost; then a moment to settle (no longer than the mode's settle).
        server.stop()
        server.start()
        time.sleep(min(HOLD_QUIET_SECS, mode.idle_settle_secs))
    arguments = loader.command(scenario, mode, server, accounts, SEED_BASE + repeat, json_path, load_cpus)
    load_average = os.getloadavg()[0]
    result = loader.run_leg(arguments, json_path, directory / f"{name}.log", timeout)
    result["load_average_at_start"] = load_average
    if server_name == POSTFIX:
        result["queue_drain_secs"] = servers.postfix.wait_for_empty_queue(POSTFIX_DRAIN_TIMEOUT_SECS)
    return result


def disk_nearly_full(workdir, scenario, log):
    """True (and says so) when a leg must not start: every server keeps all the mail of the
    run, and a full disk would break the servers and the run's own files."""
    free = shutil.disk_usage(workdir).free
    if free >= MIN_FREE_BYTES:
        return False
    log(f"stopping before {scenario.key}: {free / GIB:.1f} GiB free in {workdir}, less than "
        f"{MIN_FREE_BYTES / GIB:.0f} (the servers keep every message of the run; see bench/README.md "
        "for the space each mode needs); the scenarios not run are reported as problems")
    return True


def run_scenarios(servers, mode, accounts, workdir, load_cpus, log):
    """Legs interleaved: for each repeat, Postern then its competitor, so drift hits both.
    Stops early, keeping only whole scenarios, when the disk is nearly full."""
    directory = workdir / "legs"
    directory.mkdir(exist_ok=True)
    results = {}
    for scenario in mode.scenarios:
        legs = results.setdefault(scenario.key, {"postern": [], scenario.competitor: []})
        for repeat in range(mode.repeats):
            for server_name in ("postern", scenario.competitor):
                if disk_nearly_full(workdir, scenario, log):
                    results.pop(scenario.key)
                    return results
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
