"""Every key the kubeadm modules return is documented in their RETURN, nested dicts included.

validate-modules checks options against the argument spec, but nothing checks results against
RETURN: this runs every case of each module's table and compares what came back.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.modules import (
    kubeadm_certs,
    kubeadm_init,
    kubeadm_join,
    kubeadm_join_credentials,
    kubeadm_node_info,
    kubeadm_upgrade,
)
from conftest import load_cases

HERE = pathlib.Path(__file__).parent
# Keys Ansible itself defines for every module result.
COMMON_KEYS = {"changed", "failed", "msg", "warnings", "invocation"}
MODULES = {
    "kubeadm_certs": kubeadm_certs,
    "kubeadm_init": kubeadm_init,
    "kubeadm_join": kubeadm_join,
    "kubeadm_join_credentials": kubeadm_join_credentials,
    "kubeadm_node_info": kubeadm_node_info,
    "kubeadm_upgrade": kubeadm_upgrade,
}


def undocumented(result: dict[str, Any], documented: dict[str, Any], where: str = "") -> list[str]:
    missing = []
    for key, value in result.items():
        if not where and key in COMMON_KEYS:
            continue
        if key not in documented:
            missing.append(where + key)
        elif isinstance(value, dict) and "contains" in documented[key]:
            missing += undocumented(value, documented[key]["contains"], f"{where}{key}.")
    return missing


def cases() -> list[Any]:
    found = []
    for name in MODULES:
        for case in load_cases(HERE / f"{name}_cases.yml"):
            found.append(pytest.param(name, case.values[0], id=f"{name}: {case.id}"))
    return found


@pytest.mark.parametrize(("name", "case"), cases())
def test_result_keys_are_documented(harness, name: str, case: dict) -> None:
    module = MODULES[name]
    documented = yaml.safe_load(module.RETURN)
    yaml.safe_load(module.EXAMPLES)
    outcome = harness.run(module, case)
    assert not undocumented(outcome.payload, documented), f"{name} returns keys its RETURN does not document"
