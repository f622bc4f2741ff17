"""kubeha.kubeadm.etcd_member_info through its main(), against a fake of etcd's JSON gateway."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.doc_fragments import _etcd as etcd_fragment
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _etcd
from ansible_collections.kubeha.kubeadm.plugins.modules import etcd_member_info
from fake_etcd import CP1, CP2, CP3, ENDPOINT, LEARNER_CP4, STALE_CP4, FakeEtcd, key_lines, run_module, write_pki


@pytest.fixture
def pki(tmp_path) -> dict:
    return write_pki(tmp_path)


def test_lists_members_with_health_leader_and_quorum(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3, LEARNER_CP4], leader=CP3)
    outcome = run_module(etcd_member_info, pki["params"], fake, monkeypatch)
    assert outcome.kind == "exit", outcome.payload
    result = outcome.payload
    assert result["changed"] is False
    assert [(m["name"], m["learner"], m["leader"], m["health"]) for m in result["members"]] == [
        ("cp1", False, False, "healthy"),
        ("cp2", False, False, "healthy"),
        ("cp3", False, True, "healthy"),
        ("cp4", True, False, "healthy"),
    ]
    assert result["quorum"] == {"voting": 3, "needed": 2, "healthy": 3, "unknown": 0, "ok": True, "tolerates": 1}
    assert result["endpoint"] == ENDPOINT
    # The client certificate the options name, on every request.
    assert {(o["ca_path"], o["client_cert"], o["client_key"]) for o in fake.options} == {
        (pki["params"]["ca_path"], pki["params"]["client_cert"], pki["params"]["client_key"])
    }


def test_check_mode_reads_the_same(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    normal = run_module(etcd_member_info, pki["params"], fake, monkeypatch)
    checked = run_module(etcd_member_info, pki["params"], fake, monkeypatch, check_mode=True)
    assert checked.kind == normal.kind == "exit"
    assert checked.payload == normal.payload
    assert checked.payload["members"][3]["health"] == "unstarted"
    assert fake.removals() == []


def test_endpoint_only_health_for_validation(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP2, CP3)
    fake.no_quorum()
    outcome = run_module(etcd_member_info, {**pki["params"], "health_checks": "endpoint"}, fake, monkeypatch)
    assert outcome.kind == "exit"
    assert outcome.payload["endpoint_member"]["health"] == "unhealthy"
    assert outcome.payload["endpoint_member"]["healthy"] is False
    assert [url for _m, url, _p in fake.calls if url.endswith("/health")] == [ENDPOINT + "/health"]


@pytest.mark.parametrize("how", ["refused", "timeout", "tls"])
def test_unreachable_endpoint_fails_naming_it(pki, monkeypatch, how: str) -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP1, how=how)
    outcome = run_module(etcd_member_info, pki["params"], fake, monkeypatch)
    assert outcome.kind == "fail"
    assert outcome.payload["msg"].startswith("cannot reach etcd at https://127.0.0.1:2379 to list its members")
    assert "\n" not in outcome.payload["msg"]
    dumped = json.dumps(outcome.payload)
    assert all(line not in dumped for line in key_lines(pki["key_pem"]))


def test_missing_client_key_fails_before_any_request(pki, monkeypatch, tmp_path) -> None:
    missing = str(tmp_path / "nowhere.key")
    fake = FakeEtcd([CP1])
    outcome = run_module(etcd_member_info, {**pki["params"], "client_key": missing}, fake, monkeypatch)
    assert outcome.kind == "fail"
    assert outcome.payload["msg"].startswith(f"{missing} (client_key) does not exist on this host")
    assert fake.calls == []


def test_documentation_matches_argument_spec() -> None:
    documented = yaml.safe_load(etcd_member_info.DOCUMENTATION)
    fragment = yaml.safe_load(etcd_fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    assert documented["extends_documentation_fragment"] == ["kubeha.kubeadm._etcd"]
    assert set(documented["options"]) == {"health_checks", "wait_timeout"}
    assert {name: spec["default"] for name, spec in fragment.items()} == {
        name: spec["default"] for name, spec in _etcd.CLIENT_ARGUMENT_SPEC.items()
    }
    assert {name: spec["type"] for name, spec in fragment.items()} == {
        name: spec["type"] for name, spec in _etcd.CLIENT_ARGUMENT_SPEC.items()
    }
    assert documented["attributes"]["idempotent"]["support"] == "full"
    assert documented["attributes"]["check_mode"]["support"] == "full"
    yaml.safe_load(etcd_member_info.EXAMPLES)
    returned = yaml.safe_load(etcd_member_info.RETURN)
    member = set(returned["members"]["contains"])
    assert member == set(_etcd.member_dict(_etcd.parse_members({"members": [CP1]})[0]))
    assert set(returned["quorum"]["contains"]) == set(_etcd.Quorum(3, 3).as_dict())


def test_result_keys_are_documented(pki, monkeypatch) -> None:
    outcome = run_module(etcd_member_info, pki["params"], FakeEtcd([CP1, CP2, CP3]), monkeypatch)
    returned = yaml.safe_load(etcd_member_info.RETURN)
    assert set(outcome.payload) - {"changed"} == set(returned)
