"""kubeha.kubeadm.kubeadm_init through its main(), against the case table beside this file."""

from __future__ import annotations

import pathlib

import pytest
from ansible_collections.kubeha.kubeadm.plugins.modules import kubeadm_init
from conftest import check_outcome, load_cases

CASES = load_cases(pathlib.Path(__file__).with_name("kubeadm_init_cases.yml"))


@pytest.mark.parametrize("case", CASES)
def test_kubeadm_init(harness, case: dict) -> None:
    check_outcome(harness, case, harness.run(kubeadm_init, case))


def test_missing_kubeadm_fails_cleanly(harness, monkeypatch) -> None:
    case = {"node": [], "params": {"kubeadm_path": str(harness.root / "nowhere" / "kubeadm")}}
    outcome = harness.run(kubeadm_init, case)
    assert outcome.kind == "fail"
    assert outcome.payload["msg"].startswith("kubeadm not found or not executable")


def test_check_mode_needs_no_kubeadm(harness) -> None:
    case = {"node": [], "check_mode": True, "params": {"kubeadm_path": "/nowhere/kubeadm"}}
    outcome = harness.run(kubeadm_init, case)
    assert (outcome.kind, outcome.payload["changed"]) == ("exit", True)
