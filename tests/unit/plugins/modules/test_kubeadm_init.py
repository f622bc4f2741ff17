"""kubeha.kubeadm.kubeadm_init through its main(), against the case table beside this file."""

from __future__ import annotations

import pathlib

import pytest
import yaml
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


def test_documentation_matches_argument_spec() -> None:
    documented = yaml.safe_load(kubeadm_init.DOCUMENTATION)["options"]
    yaml.safe_load(kubeadm_init.EXAMPLES)
    returned = yaml.safe_load(kubeadm_init.RETURN)
    assert {"join_credentials", "node_state", "failure_category", "commands"} <= set(returned)
    assert set(documented) == {
        "control_plane_endpoint", "pod_network_cidr", "service_cidr", "kubernetes_version",
        "apiserver_advertise_address", "node_name", "cri_socket", "config", "upload_certs",
        "ignore_preflight_errors", "kubeadm_path", "join_credentials", "token_ttl", "token_min_ttl", "token_reuse",
        "reset_on_failure",
    }  # fmt: skip
    assert documented["ignore_preflight_errors"]["default"] == []
