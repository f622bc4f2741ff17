"""The lab's inventory: Ansible reads it without a warning of the project's own doing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _checks_inputs

from tests.conftest import ROOT

pytestmark = pytest.mark.static


def ansible_inventory(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".venv" / "collections"))
    program = str(Path(sys.executable).parent / "ansible-inventory")
    return subprocess.run([program, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_lab_inventory_reads_without_warnings() -> None:
    # A variables file inside the inventory directory was read as an inventory source, with a
    # "Skipping '<key>' as this is not a valid group definition" warning for each of its keys.
    result = ansible_inventory("-i", "inventories/lab", "--list")
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    hosts = json.loads(result.stdout)["_meta"]["hostvars"]
    assert len(hosts) == 6, sorted(hosts)
    # No interpreter discovery (and its warning for every host): the interpreter is named.
    missing = [h for h, v in hosts.items() if v.get("ansible_python_interpreter") != "/usr/bin/python3"]
    assert not missing, missing


def test_the_real_packages_vars_stay_outside_the_inventory() -> None:
    assert not (ROOT / "inventories" / "lab" / "real-packages.yml").exists()
    lab = (ROOT / "tools" / "lab").read_text()
    assert "@inventories/lab-real-packages.yml" in lab
    assert (ROOT / "inventories" / "lab-real-packages.yml").is_file()


def test_the_lab_sets_no_role_variable_that_validation_refuses() -> None:
    # validate.yml checks every role variable of the inventory before any host changes: a lab
    # value outside those checks stops `tools/lab up` (and tools/benchmark) at validation.
    found = {}
    for path in sorted((ROOT / "inventories" / "lab" / "group_vars").glob("*.yml")):
        for name, value in (yaml.safe_load(path.read_text()) or {}).items():
            if name.startswith(tuple(f"{role}_" for role in _checks_inputs.ROLES)):
                found[f"{path.name}: {name}"] = _checks_inputs.problems(name, value)
    assert found, "the lab sets no role variable: nothing was checked"
    assert {k: v for k, v in found.items() if v} == {}
