"""Every Molecule scenario, run end to end in node containers (see molecule/resources/).

A scenario passes only if Molecule succeeded, its idempotence step ran (changed=0 on the
second converge) and its verifier really ran tests: Molecule's testinfra verifier silently
skips a scenario without tests, which must not count as a pass.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, record_figures

# Cheap and foundational scenarios first; any scenario not listed runs after these.
ORDER = ["loadbalancer", "double_contract", "default", "validate", "cp_loadbalancer", "drills"]
# The drills scenario runs ten drills on one cluster: about 28 min on a quiet 2-core machine.
SCENARIO_TIMEOUT = 45 * 60


def scenarios() -> list[str]:
    found = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))
    return sorted(found, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))


def sequence_of(scenario: str) -> list[str]:
    """The scenario's own test_sequence (empty: Molecule's default)."""
    config = yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text()) or {}
    return list((config.get("scenario") or {}).get("test_sequence") or [])


@pytest.mark.scenario
@pytest.mark.parametrize("scenario", scenarios())
def test_scenario(scenario: str, artifacts: Path) -> None:
    log_path = artifacts / f"molecule-{scenario}.log"
    with log_path.open("w") as log_file:
        result = subprocess.run(
            ["molecule", "test", "--scenario-name", scenario],
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            timeout=SCENARIO_TIMEOUT,
            check=False,
        )
    log = log_path.read_text()
    record_figures(log)
    tail = "\n".join(log.splitlines()[-80:])
    assert result.returncode == 0, f"molecule test -s {scenario} failed (full log: {log_path}):\n{tail}"
    assert f"[{scenario} > idempotence] Executed: Successful" in log, f"{scenario}: no idempotence step ran"
    assert "Skipping, no tests found" not in log, f"{scenario}: the verifier found no tests"
    assert "Verifier completed successfully" in log, f"{scenario}: the verifier did not run"
    if "check" in sequence_of(scenario):
        assert f"[{scenario} > check] Executed: Successful" in log, f"{scenario}: the check step did not run"
