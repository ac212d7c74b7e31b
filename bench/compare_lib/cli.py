"""bench/compare: Postern side by side with Dovecot and Postfix→Dovecot, one command.

Usage: bench/compare [--smoke | --quick | --full] [--repeat N] [--workdir DIR] [--publish] ...
See bench/README.md.
"""

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import shlex
import shutil
import stat
import sys
import time

from . import install, loader, machine, processes, report, runner
from .accounts import Accounts
from .certificate import make_certificate
from .scenarios import DOVECOT_NO_FSYNC, MODES, download_sizes, idle_account_count, imap_mailboxes

# Written into a working directory we created, so a later run may empty it and nothing else.
WORKDIR_MARKER = ".bench-compare"
REPORTS_DIR = processes.ROOT / "bench" / "reports"
README = processes.ROOT / "bench" / "README.md"
# --publish replaces what bench/README.md has between these lines with the new headline.
HEADLINE_START = "<!-- latest headline: written by bench/compare --publish -->"
HEADLINE_END = "<!-- end of latest headline -->"
# Beyond two inotify instances per held connection, for the servers' other processes.
INOTIFY_INSTANCES_SPARE = 1024


def parse_arguments(argv):
    parser = argparse.ArgumentParser(prog="bench/compare", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--smoke", action="store_const", dest="mode", const="smoke",
                      help="minimal, under a minute: one repeat of 1-second legs, each kind of leg once (CI)")
    size.add_argument("--quick", action="store_const", dest="mode", const="quick",
                      help="short legs, 4 KiB messages only")
    size.add_argument("--full", action="store_const", dest="mode", const="full",
                      help="every size, recipient count, connection count and TLS variant")
    parser.set_defaults(mode="standard")
    parser.add_argument("--workdir", type=pathlib.Path, default=pathlib.Path("bench-work"),
                        help="where everything is written (default ./bench-work); emptied first")
    parser.add_argument("--repeat", type=int, help="repeats of each leg (default 3; smoke 1)")
    parser.add_argument("--users", type=int, help="accounts per set (default 100; smoke 32)")
    parser.add_argument("--duration", type=int, help="measured seconds per leg")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per leg")
    parser.add_argument("--dovecot-fsync", choices=("always", "optimized"), default="always",
                        help="Dovecot's mail_fsync for the fsync legs (default always)")
    parser.add_argument("--load-cpus", help="CPUs to pin the load generator to, e.g. 1")
    parser.add_argument("--only", action="append", metavar="PREFIX",
                        help="run only the scenarios whose key starts with PREFIX (e.g. imap); repeatable")
    parser.add_argument("--publish", action="store_true",
                        help="also write bench/reports/<date>.md and its plots")
    parser.add_argument("--no-install", action="store_true",
                        help="skip apt-get and cargo build (use what is there)")
    parser.add_argument("--no-build", action="store_true",
                        help="skip the cargo build only: use target/release as it is (built by another user)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite REPORT.md from the workdir's last results")
    return parser.parse_args(argv)


def chosen_mode(arguments):
    mode = MODES[arguments.mode]
    overrides = {
        "repeats": arguments.repeat,
        "user_count": arguments.users,
        "duration_secs": arguments.duration,
        "warmup_secs": arguments.warmup,
    }
    mode = dataclasses.replace(mode, **{key: value for key, value in overrides.items() if value is not None})
    if arguments.only:
        chosen = tuple(s for s in mode.scenarios if any(s.key.startswith(prefix) for prefix in arguments.only))
        if not chosen:
            raise SystemExit(f"--only {' '.join(arguments.only)} matches no scenario of mode {mode.name}")
        mode = dataclasses.replace(mode, scenarios=chosen)
    return mode


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def prepare_workdir(workdir):
    """Empties a workdir this tool made before; refuses to touch any other non-empty directory."""
    workdir = workdir.resolve()
    check_reachable(workdir)
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / WORKDIR_MARKER).exists():
            raise SystemExit(f"{workdir} is not empty and was not made by bench/compare; choose another --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / WORKDIR_MARKER).write_text("made by bench/compare; emptied by its next run\n")
    return workdir


class Steps:
    """Wall time of each step of a run, logged at its end and kept in run.json: where the time
    goes (the smoke run has to stay under a minute)."""

    def __init__(self):
        self.secs = {}

    @contextlib.contextmanager
    def timed(self, name):
        started = time.monotonic()
        try:
            yield
        finally:
            self.secs[name] = round(self.secs.get(name, 0) + time.monotonic() - started, 1)

    def text(self):
        return ", ".join(f"{name} {secs:.1f} s" for name, secs in self.secs.items())


def probe_lengths(mode):
    """Keyword arguments for the machine's probes: the mode's length, or their own."""
    return {} if mode.machine_probe_secs is None else {"secs": mode.machine_probe_secs}


def check_reachable(workdir):
    """Dovecot's and Postfix's unprivileged users (mail, dovenull, postfix) must pass through every
    folder above the workdir; a checkout under /root (mode 700) would fail later, less clearly."""
    for folder in workdir.parents:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            raise SystemExit(f"{folder} is not searchable by other users, so Dovecot and Postfix could "
                             f"not reach {workdir}; choose a --workdir elsewhere (for example under /tmp)")


def measure_machine(workdir, mode):
    log("measuring the machine: fdatasync rate, loopback bandwidth")
    description = machine.describe(workdir)
    description["fdatasync_per_sec"] = machine.fdatasync_rate(workdir, **probe_lengths(mode))
    description["loopback_mb_per_sec"] = machine.loopback_bandwidth(**probe_lengths(mode))
    log(f"  fdatasync {description['fdatasync_per_sec']:.0f}/s, loopback {description['loopback_mb_per_sec']:.0f} MB/s")
    return description


def measure(arguments, mode, workdir, load_before_build, steps):
    """Everything that needs servers; returns the run description and the legs' results."""
    accounts = Accounts(
        mode.user_count,
        tuple(download_sizes(mode)),
        imap_mailboxes=tuple(imap_mailboxes(mode)),
        idle_count=idle_account_count(mode, mode.user_count),
    )
    run = {
        "date": datetime.date.today().isoformat(),
        "command": "bench/compare " + shlex.join(sys.argv[1:]),
        "mode": dataclasses.asdict(mode) | {"scenarios": [scenario.key for scenario in mode.scenarios]},
        "machine": {},
        "dovecot_fsync": arguments.dovecot_fsync,
        "only": arguments.only,
    }
    with steps.timed("machine"):
        run["machine"] = measure_machine(workdir, mode) | {"load_average_before_build": load_before_build}
    held = [scenario.connections for scenario in mode.scenarios if scenario.holds_connections]
    if held:
        before, during = machine.raise_inotify_instances(2 * max(held) + INOTIFY_INSTANCES_SPARE, log)
        run["inotify_max_user_instances"] = {"before": before, "during": during}
    with steps.timed("certificate"):
        certificate, key = make_certificate(workdir / "tls")
    with_no_fsync = any(scenario.competitor == DOVECOT_NO_FSYNC for scenario in mode.scenarios)
    servers = runner.Servers(workdir, accounts, certificate, key, with_no_fsync, arguments.dovecot_fsync)
    try:
        with steps.timed("start"):
            servers.start(log)
            run["versions"] = servers.versions()
        with steps.timed("verify"):
            servers.verify(certificate, accounts.password, log)
        log("all servers deliver and serve mail")
        save_run(workdir, run)
        if not pathlib.Path(loader.load_binary()).exists():
            raise SystemExit(f"{loader.load_binary()} is missing: the servers work, nothing was measured")
        with steps.timed("fill"):
            servers.fill_accounts(accounts, mode.fill_messages_per_user, log)
        with steps.timed("legs"):
            legs = runner.run_scenarios(servers, mode, accounts, workdir, arguments.load_cpus, log)
    finally:
        with steps.timed("stop"):
            servers.stop(log)
    return run, legs


def save_run(workdir, run):
    (workdir / "run.json").write_text(json.dumps(run, indent=1))


def load_saved(workdir):
    run = json.loads((workdir / "run.json").read_text())
    legs = json.loads((workdir / "results.json").read_text())
    mode = dataclasses.replace(
        MODES[run["mode"]["name"]],
        **{key: value for key, value in run["mode"].items() if key not in ("name", "scenarios")},
    )
    # A run limited with --only reports the scenarios it ran.
    ran = run["mode"].get("scenarios")
    if ran is not None:
        mode = dataclasses.replace(mode, scenarios=tuple(s for s in mode.scenarios if s.key in ran))
    return run, mode, legs


def write_report(workdir, run, mode, legs, publish, partial=False):
    plots = report.write_plots(mode, report.summarise_all(mode, legs), workdir / "plots")
    path = workdir / "REPORT.md"
    path.write_text(report.render(run, mode, legs, plots, "plots/"))
    log(f"report: {path}")
    if publish:
        # A quick, smoke or --only run never replaces a full standard report of the same day.
        name = run["date"] if mode.name == "standard" else f"{run['date']}-{mode.name}"
        for prefix in run.get("only") or ():
            name += "-" + "".join(c if c.isalnum() or c == "-" else "_" for c in prefix)
        published = REPORTS_DIR / f"{name}.md"
        plots_dir = REPORTS_DIR / name
        report.write_plots(mode, report.summarise_all(mode, legs), plots_dir)
        published.write_text(report.render(run, mode, legs, plots, f"{name}/"))
        if partial:
            log(f"published: {published}; {README}'s headline is left alone (a run with --only)")
        else:
            update_readme(report.readme_headline(run, mode, legs, f"reports/{published.name}"))
            log(f"published: {published}, headline in {README}")
    print("\n" + report.headline_rows(mode, legs))


def update_readme(headline):
    text = README.read_text()
    if HEADLINE_START not in text or HEADLINE_END not in text:
        log(f"{README} has no headline markers; not updated")
        return
    before, rest = text.split(HEADLINE_START, 1)
    after = rest.split(HEADLINE_END, 1)[1]
    README.write_text(f"{before}{HEADLINE_START}\n{headline}\n{HEADLINE_END}{after}")


def main(argv=None):
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    processes.install_cleanup()
    if arguments.report_only:
        workdir = arguments.workdir.resolve()
        run, mode, legs = load_saved(workdir)
        write_report(workdir, run, mode, legs, arguments.publish, partial=bool(run.get("only")))
        return 0
    if os.geteuid() != 0:
        raise SystemExit("bench/compare runs as root: its Postfix and Dovecot instances need it")
    mode = chosen_mode(arguments)
    workdir = prepare_workdir(arguments.workdir)
    load_before_build = os.getloadavg()
    steps = Steps()
    if not arguments.no_install:
        with steps.timed("install"):
            install.install_packages(log)
    if not (arguments.no_install or arguments.no_build):
        with steps.timed("build"):
            if not install.build_release(log):
                log("no postern-load: the servers will be checked but not measured")
    if not install.POSTERN_BINARY.exists():
        raise SystemExit(f"{install.POSTERN_BINARY} is missing: build it (cargo build --release -p postern)")
    started = time.monotonic()
    run, legs = measure(arguments, mode, workdir, load_before_build, steps)
    with steps.timed("machine"):
        run["machine"]["fdatasync_per_sec_at_end"] = machine.fdatasync_rate(workdir, **probe_lengths(mode))
    run["machine"]["load_average_at_end"] = os.getloadavg()
    with steps.timed("report"):
        run["elapsed_secs"] = round(time.monotonic() - started)
        save_run(workdir, run)
        write_report(workdir, run, mode, legs, arguments.publish, partial=bool(arguments.only))
    run["step_secs"] = steps.secs
    save_run(workdir, run)
    log(f"{time.monotonic() - started:.0f} s after install and build; by step: {steps.text()}")
    return exit_code(mode, legs)


def exit_code(mode, legs):
    """1 when a leg failed or measured nothing, or the IMAP mix saw an answer contradict its
    model, so CI notices a harness that rotted."""
    problems = []
    for scenario in mode.scenarios:
        if scenario.key not in legs:
            problems.append(f"{scenario.key}: not run (the run stopped early)")
        for server, results in legs.get(scenario.key, {}).items():
            for result in results:
                figures = result.get("operations", {}).get(scenario.operation, {})
                if "failed" in result or figures.get("count", 0) == 0:
                    problems.append(f"{scenario.key} against {server}: {result.get('failed', 'nothing measured')}")
                # The mix checks every answer: a violation is a server (or model) bug, not noise.
                violations = result.get("operations", {}).get("check", {}).get("errors", 0)
                if scenario.imap == "mix" and violations:
                    problems.append(f"{scenario.key} against {server}: {violations} consistency violations")
    for problem in problems:
        log("problem: " + problem.strip().splitlines()[0][:300])
    return 1 if problems else 0
