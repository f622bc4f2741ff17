"""kubeha.kubeadm.etcd_member through its main(), against a fake of etcd's JSON gateway."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.modules import etcd_member
from fake_etcd import CP1, CP2, CP3, LEARNER_CP4, STALE_CP4, FakeEtcd, key_lines, run_module, write_pki

STALE_PEER = "https://10.0.0.14:2380"


@pytest.fixture
def pki(tmp_path) -> dict:
    return write_pki(tmp_path)


def _assert_no_key(pki: dict, payload: dict) -> None:
    dumped = json.dumps(payload)
    assert all(line not in dumped for line in key_lines(pki["key_pem"])), "private key content in the result"


def test_stale_member_removed_once(pki, monkeypatch) -> None:
    """The member an interrupted join left behind goes; a second run changes nothing."""
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    params = {**pki["params"], "peer_url": STALE_PEER, "state": "absent"}
    first = run_module(etcd_member, params, fake, monkeypatch)
    assert first.kind == "exit", first.payload
    assert first.payload["changed"] is True
    assert [m["started"] for m in first.payload["removed"]] == [False]
    assert fake.removals() == [STALE_CP4["ID"]]
    second = run_module(etcd_member, params, fake, monkeypatch)
    assert second.kind == "exit"
    assert second.payload["changed"] is False
    assert second.payload["removed"] == []
    assert fake.removals() == [STALE_CP4["ID"]]


def test_check_mode_predicts_the_removal(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    params = {**pki["params"], "peer_url": STALE_PEER}
    outcome = run_module(etcd_member, params, fake, monkeypatch, check_mode=True)
    assert outcome.kind == "exit"
    assert outcome.payload["changed"] is True
    assert fake.removals() == []
    assert fake.names() == ["", "cp1", "cp2", "cp3"]


def test_check_mode_on_an_absent_member_reports_no_change(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    outcome = run_module(etcd_member, {**pki["params"], "peer_url": STALE_PEER}, fake, monkeypatch, check_mode=True)
    assert outcome.kind == "exit"
    assert outcome.payload["changed"] is False


@pytest.mark.parametrize("check_mode", [False, True])
def test_refuses_a_removal_that_breaks_quorum(pki, monkeypatch, check_mode: bool) -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP3, how="refused")
    outcome = run_module(etcd_member, {**pki["params"], "name": "cp2"}, fake, monkeypatch, check_mode=check_mode)
    assert outcome.kind == "fail"
    assert "would break etcd's quorum" in outcome.payload["msg"]
    assert "Nothing was changed" in outcome.payload["msg"]
    assert outcome.payload["quorum"]["ok"] is False
    assert fake.removals() == []
    _assert_no_key(pki, outcome.payload)


def test_allow_quorum_loss(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3])
    fake.down(CP3, how="refused")
    outcome = run_module(etcd_member, {**pki["params"], "name": "cp2", "allow_quorum_loss": True}, fake, monkeypatch)
    assert outcome.kind == "exit"
    assert outcome.payload["changed"] is True
    assert fake.names() == ["cp1", "cp3"]


def test_learner_removed_while_others_are_down(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3, LEARNER_CP4])
    fake.down(CP3)
    outcome = run_module(etcd_member, {**pki["params"], "peer_url": STALE_PEER}, fake, monkeypatch)
    assert outcome.kind == "exit"
    assert outcome.payload["removed"][0]["learner"] is True
    assert fake.names() == ["cp1", "cp2", "cp3"]


@pytest.mark.parametrize("how", ["refused", "timeout", "tls", "http_error"])
def test_unreachable_endpoint_fails_without_the_key(pki, monkeypatch, how: str) -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    fake.down(CP1, how=how)
    outcome = run_module(etcd_member, {**pki["params"], "peer_url": STALE_PEER}, fake, monkeypatch)
    assert outcome.kind == "fail"
    assert "etcd at https://127.0.0.1:2379" in outcome.payload["msg"]
    assert fake.removals() == []
    _assert_no_key(pki, outcome.payload)


def test_etcd_refusing_fails_without_the_key(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1, CP2, CP3, STALE_CP4])
    fake.remove_error = (500, {"error": "etcdserver: re-configuration failed due to not enough started members"})
    outcome = run_module(etcd_member, {**pki["params"], "peer_url": STALE_PEER}, fake, monkeypatch)
    assert outcome.kind == "fail"
    assert "not enough started members" in outcome.payload["msg"]
    _assert_no_key(pki, outcome.payload)


def test_peer_url_and_name_exclude_each_other(pki, monkeypatch) -> None:
    fake = FakeEtcd([CP1])
    outcome = run_module(etcd_member, {**pki["params"], "peer_url": STALE_PEER, "name": "cp4"}, fake, monkeypatch)
    assert outcome.kind == "fail"
    assert "mutually exclusive" in outcome.payload["msg"]
    outcome = run_module(etcd_member, dict(pki["params"]), fake, monkeypatch)
    assert outcome.kind == "fail"
    assert "one of the following is required" in outcome.payload["msg"]
    assert fake.calls == []


def test_documentation_matches_argument_spec() -> None:
    documented = yaml.safe_load(etcd_member.DOCUMENTATION)
    assert documented["extends_documentation_fragment"] == ["kubeha.kubeadm._etcd"]
    assert set(documented["options"]) == {"state", "peer_url", "name", "allow_quorum_loss"}
    assert documented["attributes"]["idempotent"]["support"] == "full"
    assert documented["attributes"]["check_mode"]["support"] == "full"
    yaml.safe_load(etcd_member.EXAMPLES)


@pytest.mark.parametrize("members", [[CP1, CP2, CP3, STALE_CP4], [CP1, CP2, CP3]], ids=["removes", "absent"])
def test_result_keys_are_documented(pki, monkeypatch, members) -> None:
    outcome = run_module(etcd_member, {**pki["params"], "peer_url": STALE_PEER}, FakeEtcd(members), monkeypatch)
    returned = yaml.safe_load(etcd_member.RETURN)
    assert set(outcome.payload) - {"changed"} == set(returned)
