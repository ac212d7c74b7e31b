"""Child processes: started in their own process group, all stopped when the runner exits."""

import atexit
import os
import pathlib
import signal
import socket
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
STOP_TIMEOUT_SECS = 15
GROUP_EXIT_WAIT_SECS = 3
PORT_WAIT_SECS = 30

_running = []
# Process groups made by daemons that call setsid() themselves (Postfix's master).
_groups = []
# Ports free_port() has handed out.
_ports_given = set()


class CommandFailed(RuntimeError):
    pass


def run(command, check=True, **options):
    """Runs a command to completion; its output is shown only when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, **options)
    if check and result.returncode != 0:
        raise CommandFailed(
            f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def start(command, log_path, **options):
    """Starts a long-running process in a new session, so its whole group can be stopped."""
    log_file = open(log_path, "ab")
    process = subprocess.Popen(
        [str(part) for part in command],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        **options,
    )
    log_file.close()
    _running.append(process)
    return process


def stop(process, stop_signal=signal.SIGTERM):
    """Signals the process (a master stops its own workers), waits, then kills its whole group."""
    if process not in _running:
        return
    _running.remove(process)
    if process.poll() is None:
        process.send_signal(stop_signal)
    try:
        process.wait(timeout=STOP_TIMEOUT_SECS)
    except subprocess.TimeoutExpired:
        pass
    # Workers that outlive their master (Dovecot's, Postfix's) are in the same group: give them
    # a moment to notice, then kill whatever is left.
    _wait_for_group_exit(process.pid, GROUP_EXIT_WAIT_SECS)
    _signal_group(process, signal.SIGKILL)
    if process.poll() is None:
        process.wait()


def _wait_for_group_exit(group, timeout_secs):
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline and _live_members(group):
        time.sleep(0.1)


def _live_members(group):
    """Processes of the group that are not zombies (those are only waiting to be reaped)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            members.append(int(entry.name))
    return members


def stop_all():
    for process in list(reversed(_running)):
        stop(process)
    for group in list(_groups):
        stop_group(group)


def track_group(group):
    """A process group to stop at exit, like the processes started here."""
    _groups.append(group)


def stop_group(group, stop_signal=signal.SIGTERM):
    if group in _groups:
        _groups.remove(group)
    try:
        os.killpg(group, stop_signal)
    except (ProcessLookupError, PermissionError):
        return
    _wait_for_group_exit(group, STOP_TIMEOUT_SECS)
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _signal_group(process, stop_signal):
    try:
        os.killpg(process.pid, stop_signal)
    except (ProcessLookupError, PermissionError):
        pass


def _exit_on_signal(number, _frame):
    raise SystemExit(128 + number)


def install_cleanup():
    """Stops every child on normal exit, on an exception and on SIGINT/SIGTERM/SIGHUP."""
    atexit.register(stop_all)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, _exit_on_signal)


def free_port():
    """A port free on 127.0.0.1 now, never one handed out before in this run (the kernel may give
    a closed port again, and the servers bind theirs only later)."""
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def wait_for_port(port, process=None, what="server", timeout_secs=PORT_WAIT_SECS):
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise CommandFailed(f"{what} exited with {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise CommandFailed(f"{what} is not listening on 127.0.0.1:{port} after {timeout_secs} s")
