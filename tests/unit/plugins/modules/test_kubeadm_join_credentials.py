"""kubeha.kubeadm.kubeadm_join_credentials through its main(), against the case table beside this file."""

from __future__ import annotations

import pathlib

import pytest
from ansible_collections.kubeha.kubeadm.plugins.modules import kubeadm_join_credentials
from conftest import check_outcome, load_cases

CASES = load_cases(pathlib.Path(__file__).with_name("kubeadm_join_credentials_cases.yml"))


@pytest.mark.parametrize("case", CASES)
def test_kubeadm_join_credentials(harness, case: dict) -> None:
    check_outcome(harness, case, harness.run(kubeadm_join_credentials, case))


def test_missing_kubeadm_fails_cleanly(harness) -> None:
    case = {
        "node": ["admin.conf", "kubelet.conf", "manifests/kube-apiserver.yaml", "manifests/etcd.yaml", "pki/ca.crt"],
        "params": {"kubeadm_path": str(harness.root / "nowhere" / "kubeadm")},
    }
    outcome = harness.run(kubeadm_join_credentials, case)
    assert outcome.kind == "fail"
    assert outcome.payload["msg"].startswith("kubeadm not found or not executable")
