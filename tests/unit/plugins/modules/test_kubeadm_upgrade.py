"""kubeha.kubeadm.kubeadm_upgrade through its main(), against the case table beside this file."""

from __future__ import annotations

import pathlib

import pytest
from ansible_collections.kubeha.kubeadm.plugins.modules import kubeadm_upgrade
from conftest import check_outcome, load_cases

CASES = load_cases(pathlib.Path(__file__).with_name("kubeadm_upgrade_cases.yml"))


@pytest.mark.parametrize("case", CASES)
def test_kubeadm_upgrade(harness, case: dict) -> None:
    check_outcome(harness, case, harness.run(kubeadm_upgrade, case))
