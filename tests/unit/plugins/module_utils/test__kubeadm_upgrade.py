"""The upgrade helper: kubeadm's plan JSON, the node's versions, and upgrade failures classified
(fixtures: FACTS-2 part B §1.4, §2.2, §2.5, §3)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _kubeadm_upgrade as upgrade
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import (
    FAILURE_ADVICE,
    FAILURE_CATEGORIES,
    classify_upgrade_failure,
)
from conftest import fixture_section, read_fixture, versioned_manifest

UNIT_TEST_PLAN = read_fixture("FACTS2_upgrade_plan_v1alpha3_unit_test.json")
HA_PLAN = read_fixture("constructed_upgrade_plan_ha_v1.36.5.json")
OUTPUTS = "FACTS2_upgrade_outputs.txt"


def test_plan_from_kubeadms_own_structured_output() -> None:
    plan = upgrade.parse_plan(UNIT_TEST_PLAN, "1.8.3")
    assert plan["description"] == "version in the v1.8 series"
    assert plan["available"] == ["1.8.3"]
    assert [c["name"] for c in plan["components"]] == [
        "kubelet",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kube-proxy",
        "CoreDNS",
        "kubeadm",
        "etcd",
    ]
    kubeadm = next(c for c in plan["components"] if c["name"] == "kubeadm")
    assert kubeadm == {"name": "kubeadm", "node": None, "current_version": "v1.8.2", "new_version": "v1.8.3"}
    assert plan["config_apis"][1] == {
        "group": "kubelet.config.k8s.io",
        "current_version": "v1beta1",
        "preferred_version": "v1beta1",
        "manual_upgrade_required": False,
    }


@pytest.mark.parametrize(
    ("target", "description", "etcd"),
    [
        ("1.37.1", "stable version", "3.7.0-0"),
        ("1.36.8", "version in the v1.36 series", "3.6.8-0"),
        (None, "stable version", "3.7.0-0"),
    ],
)
def test_plan_picks_the_upgrade_to_the_target(target, description, etcd) -> None:
    plan = upgrade.parse_plan(HA_PLAN, target)
    assert plan["description"] == description
    assert plan["available"] == ["1.36.8", "1.37.1"]
    etcds = [c for c in plan["components"] if c["name"] == "etcd"]
    assert [(c["node"], c["new_version"]) for c in etcds] == [("cp1", etcd), ("cp2", etcd), ("cp3", etcd)]
    kubelets = [c["node"] for c in plan["components"] if c["name"] == "kubelet"]
    assert kubelets == ["cp1", "cp2", "cp3", "worker1"]


def test_plan_tolerates_lines_before_the_json_and_an_empty_output() -> None:
    noisy = "[upgrade] Running cluster health checks\nI0223 10:00:00.000000   1 version.go:256] remote version\n"
    assert upgrade.parse_plan(noisy + HA_PLAN, "1.37.1")["description"] == "stable version"
    assert upgrade.parse_plan("", "1.37.1") == {
        "description": None,
        "components": [],
        "config_apis": [],
        "available": [],
    }


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("the table of kubeadm upgrade plan\n", "printed no JSON object"),
        ("{not json\n", "no valid JSON"),
        (json.dumps({"kind": "Images", "apiVersion": upgrade.OUTPUT_API}), "no UpgradePlan"),
        (json.dumps({"kind": "UpgradePlan", "apiVersion": "output.kubeadm.k8s.io/v1alpha2"}), "unsupported"),
        (json.dumps({"kind": "UpgradePlan", "apiVersion": upgrade.OUTPUT_API, "configVersions": [{}]}), "unexpected"),
    ],
)
def test_plan_that_is_not_an_upgrade_plan_is_an_error(text, words) -> None:
    with pytest.raises(ValueError, match=words):
        upgrade.parse_plan(text)


def test_manifest_versions_and_the_oldest(tmp_path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    for name, tag in (("kube-apiserver", "v1.37.1"), ("kube-controller-manager", "v1.37.1")):
        (manifests / f"{name}.yaml").write_text(versioned_manifest(name, tag))
    found = upgrade.manifest_versions(str(tmp_path))
    assert found == {"kube-apiserver": "1.37.1", "kube-controller-manager": "1.37.1", "kube-scheduler": None}
    (manifests / "kube-scheduler.yaml").write_text(versioned_manifest("kube-scheduler", "v1.36.10"))
    assert upgrade._lowest(list(upgrade.manifest_versions(str(tmp_path)).values())) == "1.36.10"


@pytest.mark.parametrize("value", ["1.37", "v1.37.1-rc.0", "latest", "", "1.37.1.2"])
def test_strict_version_refuses_what_is_not_a_release(value) -> None:
    with pytest.raises(ValueError, match=r"X\.Y\.Z"):
        upgrade.strict_version(value)


@pytest.mark.parametrize(
    ("section", "stream", "category"),
    [
        (2, "stdout", "downgrade"),
        (3, "stderr", "skipped_minor"),
        (4, "stdout", "unhealthy_control_plane"),
        (5, "stderr", "etcd"),
    ],
)
def test_real_upgrade_failures_are_classified(section, stream, category) -> None:
    text = fixture_section(OUTPUTS, section)
    stdout, stderr = (text, "") if stream == "stdout" else ("", text)
    assert classify_upgrade_failure(stdout, stderr) == category


def test_a_successful_apply_output_alone_names_no_upgrade_category() -> None:
    # The progress lines of a real apply mention etcd and timeouts; only an error text may decide.
    assert classify_upgrade_failure(fixture_section(OUTPUTS, 0), "") == "unknown"


def test_every_upgrade_category_has_advice() -> None:
    for category in ("version_skew", "skipped_minor", "downgrade", "unhealthy_control_plane", "etcd", "timeout"):
        assert category in FAILURE_CATEGORIES
        assert category in FAILURE_ADVICE
