"""Run a command with no network at all: a new network namespace whose only loopback is down.

A build or a browser run that tries to reach anything fails there, instead of reaching out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import ROOT


def offline(
    argv: list[str], timeout: int, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "--net", *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
