"""kubeha.kubeadm.kubeadm_join through its main(), against the case table beside this file."""

from __future__ import annotations

import pathlib

import pytest
import yaml
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


def test_documentation_matches_argument_spec() -> None:
    documented = yaml.safe_load(kubeadm_join.DOCUMENTATION)["options"]
    yaml.safe_load(kubeadm_join.EXAMPLES)
    returned = yaml.safe_load(kubeadm_join.RETURN)
    assert {"joined_as", "node_state", "failure_category", "commands"} <= set(returned)
    assert set(documented) == {
        "api_server_endpoint", "token", "discovery_token_ca_cert_hashes", "control_plane", "certificate_key",
        "apiserver_advertise_address", "node_name", "cri_socket", "config", "ignore_preflight_errors",
        "kubeadm_path", "reset_on_failure",
    }  # fmt: skip
