"""Step 4: what the figures must be read against — the machine, its disk's fdatasync rate and
its loopback bandwidth."""

import atexit
import os
import pathlib
import platform
import socket
import subprocess
import threading
import time

FDATASYNC_SECS = 3.0
FDATASYNC_BLOCK_OCTETS = 4096
LOOPBACK_SECS = 2.0
LOOPBACK_CHUNK_OCTETS = 1 << 20


def describe(workdir):
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "memory_gib": round(memory_kib() / (1 << 20), 1),
        "kernel": platform.release(),
        "os": os_name(),
        "disk": disk_of(workdir),
        "load_average": os.getloadavg(),
    }


def cpu_model():
    for line in read_lines("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_kib():
    for line in read_lines("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return 0


def os_name():
    for line in read_lines("/etc/os-release"):
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return platform.system()


def disk_of(path):
    """The workdir's mount: device, file system, size, and whether the kernel calls it rotational."""
    result = subprocess.run(
        ["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "--target", str(path)],
        capture_output=True, text=True,
    )
    fields = result.stdout.split()
    source, fstype = (fields + ["unknown", "unknown"])[:2]
    statistics = os.statvfs(path)
    return {
        "device": source,
        "filesystem": fstype,
        "size_gib": round(statistics.f_blocks * statistics.f_frsize / (1 << 30), 1),
        "free_gib": round(statistics.f_bavail * statistics.f_frsize / (1 << 30), 1),
        "rotational": rotational(source),
    }


def rotational(device):
    name = os.path.basename(os.path.realpath(device)) if device.startswith("/dev/") else ""
    for candidate in (name, name.rstrip("0123456789"), name.rsplit("p", 1)[0]):
        path = f"/sys/class/block/{candidate}/queue/rotational"
        if candidate and os.path.exists(path):
            return read_lines(path)[0].strip() == "1"
    return None


def fdatasync_rate(directory, secs=FDATASYNC_SECS):
    """4 KiB appends, each followed by fdatasync, for a few seconds: syncs per second."""
    path = directory / "fdatasync-probe"
    block = os.urandom(FDATASYNC_BLOCK_OCTETS)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    count = 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < secs:
            os.write(descriptor, block)
            os.fdatasync(descriptor)
            count += 1
        elapsed = time.monotonic() - started
    finally:
        os.close(descriptor)
        path.unlink()
    return count / elapsed


def loopback_bandwidth(secs=LOOPBACK_SECS):
    """One TCP connection over 127.0.0.1, one thread writing and one reading: MB/s received."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        sender = socket.create_connection(listener.getsockname())
        receiver, _ = listener.accept()
    stop = threading.Event()
    writer = threading.Thread(target=send_until, args=(sender, stop), daemon=True)
    writer.start()
    buffer = bytearray(LOOPBACK_CHUNK_OCTETS)
    received = 0
    started = time.monotonic()
    while time.monotonic() - started < secs:
        received += receiver.recv_into(buffer)
    elapsed = time.monotonic() - started
    stop.set()
    receiver.close()
    writer.join()
    sender.close()
    return received / elapsed / 1e6


def send_until(connection, stop):
    chunk = bytes(LOOPBACK_CHUNK_OCTETS)
    try:
        while not stop.is_set():
            connection.sendall(chunk)
    except OSError:
        pass


def read_lines(path):
    try:
        with open(path) as file:
            return file.readlines()
    except OSError:
        return []


INOTIFY_INSTANCES = pathlib.Path("/proc/sys/fs/inotify/max_user_instances")


def raise_inotify_instances(needed, log):
    """Dovecot takes an inotify instance per imap process in IDLE; past the kernel's per-user
    limit (128 by default) it disables inotify for the session, which then polls and is never
    hibernated. Raised for the run, as a site with many IDLE clients would, and restored at exit.
    Returns (before, during)."""
    before = int(INOTIFY_INSTANCES.read_text())
    if before >= needed:
        return before, before
    INOTIFY_INSTANCES.write_text(f"{needed}\n")
    atexit.register(INOTIFY_INSTANCES.write_text, f"{before}\n")
    log(f"fs.inotify.max_user_instances raised from {before} to {needed} for this run")
    return before, needed
