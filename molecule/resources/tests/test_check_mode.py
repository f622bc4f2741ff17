"""Shared verify test: check mode on the converged hosts reports no change.

Every scenario lists this file in `verifier.additional_files_or_dirs`. It re-runs the
scenario's converge playbook with `--check` against Molecule's inventory and configuration
(the verifier inherits ANSIBLE_CONFIG and MOLECULE_* from Molecule) and reads the recap.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def test_check_mode_on_converged_hosts_reports_no_change() -> None:
    scenario = Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"])
    converge = os.environ.get("KUBEHA_CONVERGE_PLAYBOOK", str(scenario / "converge.yml"))
    result = subprocess.run(
        ["ansible-playbook", "--check", "-i", os.environ["MOLECULE_INVENTORY_FILE"], converge],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    recap = {m["host"]: m for m in RECAP_LINE.finditer(result.stdout)}
    assert result.returncode == 0, f"check mode run failed:\n{output[-4000:]}"
    assert recap, f"no play recap in check mode output:\n{output[-4000:]}"
    changed = {host: int(m["changed"]) for host, m in recap.items() if int(m["changed"])}
    assert not changed, f"check mode on converged hosts reported changes {changed}:\n{output[-6000:]}"
