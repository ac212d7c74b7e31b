"""Runs postern-load for one leg (one scenario against one server) and reads its JSON."""

import json
import os
import subprocess

from .accounts import DOMAIN, IDLE_PATTERN, INGEST_PATTERN, download_pattern, imap_mailbox_address
from .install import LOAD_BINARY

LEG_TIMEOUT_MARGIN_SECS = 120
ERROR_TAIL_CHARS = 2000


def load_binary():
    """POSTERN_LOAD overrides the binary, for trying another build of the load tool."""
    return os.environ.get("POSTERN_LOAD", str(LOAD_BINARY))


def accounts_of(scenario, accounts):
    """(--users, --user-count) for a leg."""
    if scenario.protocol == "pop3":
        return download_pattern(scenario.size), accounts.count
    if scenario.mailbox_messages:
        return imap_mailbox_address(scenario.mailbox_messages), 1
    if scenario.imap in ("idle-latency", "idle-connections"):
        return IDLE_PATTERN, accounts.idle_count
    return INGEST_PATTERN, accounts.count


def command(scenario, mode, server, accounts, seed, json_path, load_cpus):
    users, user_count = accounts_of(scenario, accounts)
    arguments = [
        load_binary(), scenario.protocol,
        "--host", "127.0.0.1", "--port", str(server.ports[scenario.protocol]), "--tls", scenario.tls,
        "--tls-server-name", "localhost",
        "--from", f"load@{DOMAIN}", "--users", users, "--user-count", str(user_count),
        "--password", accounts.password,
        "--connections", str(scenario.connections),
        "--duration", f"{mode.duration_secs}s", "--warmup", f"{mode.warmup_secs}s",
        "--seed", str(seed), "--json", str(json_path), "--quiet",
    ]
    if scenario.protocol == "pop3":
        arguments += ["--pop3-mode", "retr"]
    elif scenario.protocol == "imap":
        arguments += ["--imap-scenario", scenario.imap, *scenario.extra]
        if scenario.imap == "idle-latency":
            arguments += ["--lmtp-port", str(server.ports["lmtp"])]
        if scenario.holds_connections:
            arguments += ["--server-pid", str(server.pid()), "--settle", f"{mode.idle_settle_secs}s"]
    else:
        arguments += ["--size", scenario.size, "--recipients", str(scenario.recipients)]
    if mode.operation_timeout_secs is not None:
        arguments += ["--timeout", f"{mode.operation_timeout_secs}s"]
    if load_cpus:
        arguments += ["--cpus", load_cpus]
    return arguments


def run_leg(arguments, json_path, log_path, timeout_secs):
    """The load tool's report, or {"failed": reason} when it could not produce one."""
    with open(log_path, "w") as log:
        log.write(" ".join(arguments) + "\n")
        log.flush()
        try:
            result = subprocess.run(arguments, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_secs)
        except subprocess.TimeoutExpired:
            return {"failed": f"postern-load did not finish within {timeout_secs} s"}
    if not json_path.exists():
        tail = log_path.read_text()[-ERROR_TAIL_CHARS:]
        return {"failed": f"postern-load exited {result.returncode}: {tail}"}
    try:
        report = json.loads(json_path.read_text())
    except (OSError, ValueError) as error:
        # A full disk leaves an empty file: the leg failed, the run goes on.
        return {"failed": f"postern-load exited {result.returncode}; its JSON is unreadable: {error}"}
    report["exit_code"] = result.returncode
    return report
