"""Installing a Debian package the tooling needs (Prometheus, Chromium), when it is missing and we are root.

apt-get runs non-interactively with a lock timeout, so a busy dpkg is an error, never a hang; a
policy-rc.d keeps a package's own systemd service from starting (we run the binaries ourselves).
A fresh machine often has no package lists yet, so a failed install is retried once after
``apt-get update``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ops.paths import ProvisionError

APT_TIMEOUT_SECONDS = 600


def can_install() -> bool:
    """Whether :func:`install` can work here: root, on a system with apt-get."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def install(packages: list[str]) -> None:
    """``apt-get install -y --no-install-recommends PACKAGES``; raises ProvisionError with apt's output on failure."""
    named = " ".join(packages)
    print(f"installing {named}: apt-get install -y --no-install-recommends {named} ...", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=60", *packages]
    policy = Path("/usr/sbin/policy-rc.d")
    added_policy = False
    try:
        if not policy.exists():
            policy.write_text(f"#!/bin/sh\n# added by ops/apt.py while installing {named}\nexit 101\n")
            policy.chmod(0o755)
            added_policy = True
        for attempt in range(2):
            result = subprocess.run(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=APT_TIMEOUT_SECONDS,
                check=False,
            )
            if result.returncode == 0 or attempt == 1:
                break
            subprocess.run(
                ["apt-get", "update", "-o", "DPkg::Lock::Timeout=60"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=APT_TIMEOUT_SECONDS,
                check=False,
            )
    except subprocess.TimeoutExpired:
        raise ProvisionError(f"apt-get install {named} took over {APT_TIMEOUT_SECONDS}s; gave up.") from None
    finally:
        if added_policy:
            policy.unlink(missing_ok=True)
    if result.returncode != 0:
        raise ProvisionError(
            f"Installing {named} failed (apt-get install):\n" + (result.stdout + result.stderr)[-2000:]
        )
