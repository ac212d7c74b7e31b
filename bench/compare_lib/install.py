"""Step 1: install what the comparison needs (Debian packages, release builds)."""

import os
import shutil
import subprocess

from .processes import ROOT, run

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
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing {' '.join(missing)}")
    subprocess.run(sudo + ["debconf-set-selections"], input=POSTFIX_PRESEED, text=True, check=True)
    run(sudo + ["apt-get", "update", "-q"], env=environment)
    run(sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=environment)
    stop_system_services(sudo)


def stop_system_services(sudo):
    """Debian starts the packages' own daemons; they would compete for the CPU and the disk."""
    if shutil.which("systemctl") is None:
        return
    for service in ("dovecot", "postfix"):
        subprocess.run(sudo + ["systemctl", "stop", service], capture_output=True)


def build_release(log, need_load):
    log("building postern (release)")
    run(["cargo", "build", "--release", "-q", "-p", "postern"], cwd=ROOT)
    if need_load:
        log("building postern-load (release)")
        run(["cargo", "build", "--release", "-q", "-p", "postern-loadtest"], cwd=ROOT)
    return LOAD_BINARY.exists()
