"""Runs postern-load for one leg (one scenario against one server) and reads its JSON."""

import json
import os
import subprocess

from .accounts import DOMAIN, INGEST_PATTERN, download_pattern
from .install import LOAD_BINARY

LEG_TIMEOUT_MARGIN_SECS = 120
ERROR_TAIL_CHARS = 2000


def load_binary():
    """POSTERN_LOAD overrides the binary, for trying another build of the load tool."""
    return os.environ.get("POSTERN_LOAD", str(LOAD_BINARY))


def command(scenario, mode, port, accounts, seed, json_path, load_cpus):
    users = download_pattern(scenario.size) if scenario.protocol == "pop3" else INGEST_PATTERN
    arguments = [
        load_binary(), scenario.protocol,
        "--host", "127.0.0.1", "--port", str(port), "--tls", scenario.tls,
        "--from", f"load@{DOMAIN}", "--users", users, "--user-count", str(accounts.count),
        "--password", accounts.password,
        "--connections", str(scenario.connections),
        "--duration", f"{mode.duration_secs}s", "--warmup", f"{mode.warmup_secs}s",
        "--seed", str(seed), "--json", str(json_path), "--quiet",
    ]
    if scenario.protocol == "pop3":
        arguments += ["--pop3-mode", "retr"]
    else:
        arguments += ["--size", scenario.size, "--recipients", str(scenario.recipients)]
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
    report = json.loads(json_path.read_text())
    report["exit_code"] = result.returncode
    return report
