"""Step 1: install what the comparison needs (Debian packages, release builds)."""

import os
import pathlib
import shutil
import subprocess

from .processes import ROOT, CommandFailed, run

DEBIAN_PACKAGES = ["dovecot-core", "dovecot-pop3d", "dovecot-lmtpd", "dovecot-imapd", "postfix", "openssl"]
# Without this, the postfix package asks how to configure the system's own instance; we run a
# private one and want the system's left alone.
POSTFIX_PRESEED = "postfix postfix/main_mailer_type select No configuration\n"
POSTERN_BINARY = ROOT / "target" / "release" / "postern"
LOAD_BINARY = ROOT / "target" / "release" / "postern-load"


def missing_packages():
    missing = []
    for package in DEBIAN_PACKAGES:
        query = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if "install ok installed" not in query.stdout:
            missing.append(package)
    return missing


def install_packages(log):
    missing = missing_packages()
    if not missing:
        return
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing {' '.join(missing)}")
    subprocess.run(["debconf-set-selections"], input=POSTFIX_PRESEED, text=True, check=True)
    run(["apt-get", "update", "-q"], env=environment)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=environment)
    stop_system_services()


def stop_system_services():
    """Debian starts the packages' own daemons; they would compete for the CPU and the disk.
    Through systemctl under systemd; elsewhere (a container) through `service`, which runs the
    init script."""
    systemd = pathlib.Path("/run/systemd/system").is_dir() and shutil.which("systemctl")
    for service in ("dovecot", "postfix"):
        if systemd:
            command = ["systemctl", "stop", service]
        elif shutil.which("service"):
            command = ["service", service, "stop"]
        else:
            return
        subprocess.run(command, capture_output=True)


def build_release(log):
    """Builds both; returns whether postern-load is usable (the servers can be checked without it)."""
    # --locked: Cargo.lock is read, never rewritten (nothing is written outside the workdir but
    # target/).
    log("building postern (release)")
    run(["cargo", "build", "--release", "--locked", "-q", "-p", "postern"], cwd=ROOT)
    log("building postern-load (release)")
    try:
        run(["cargo", "build", "--release", "--locked", "-q", "-p", "postern-loadtest"], cwd=ROOT)
    except CommandFailed as failure:
        log(f"postern-load did not build:\n{str(failure)[-2000:]}")
    return LOAD_BINARY.exists()
