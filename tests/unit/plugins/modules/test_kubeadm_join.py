"""kubeha.kubeadm.kubeadm_join through its main(), against the case table beside this file."""

from __future__ import annotations

import pathlib

import pytest
from ansible_collections.kubeha.kubeadm.plugins.modules import kubeadm_join
from conftest import check_outcome, load_cases

CASES = load_cases(pathlib.Path(__file__).with_name("kubeadm_join_cases.yml"))


@pytest.mark.parametrize("case", CASES)
def test_kubeadm_join(harness, case: dict) -> None:
    check_outcome(harness, case, harness.run(kubeadm_join, case))


def test_secret_options_are_no_log() -> None:
    """token and certificate_key are kept out of logs; the CA pins explicitly are not secrets."""
    source = pathlib.Path(kubeadm_join.__file__).read_text()
    assert '"token": {"type": "str", "no_log": True}' in source
    assert '"certificate_key": {"type": "str", "no_log": True}' in source
    assert '"discovery_token_ca_cert_hashes": {"type": "list", "elements": "str", "no_log": False}' in source
