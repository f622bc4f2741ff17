"""The kubeadm double's `upgrade plan|apply|node` pieces that need no cluster, run in-process:
the version policy with kubeadm's texts, the structured and text plan (read back by the
collection's own parser), the rewritten manifests and the addon rule. The contract scenario
runs the commands on real double nodes. Texts are those recorded in FACTS-2 part B §1-§3."""

from __future__ import annotations

import json
import pathlib
import sys

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_upgrade import parse_plan
from conftest import fixture_section

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "kubeadm_double"))

from kdouble import cli, cmd_upgrade, manifests, versions

STACK = versions.STACK_HINT


def recorded(index: int) -> str:
    """A section of FACTS2_upgrade_outputs.txt (real outputs, FACTS-2 part B)."""
    return fixture_section("FACTS2_upgrade_outputs.txt", index)


def refusal(target: str, cluster: str, kubeadm: str, force: bool = False) -> str:
    with pytest.raises(cli.Fail) as failure:
        cmd_upgrade.enforce_policy(target, cluster, versions.Release(kubeadm), [cluster], force)
    return failure.value.text


def test_skipped_minor_and_too_new_are_kubeadms_fatal_errors() -> None:
    # FACTS-2 §2.5, the 1.34 form: kubeadm v1.34.0 asked for v1.36.0.
    assert refusal("v1.36.0", "v1.34.0", "v1.34.0") == recorded(3)


def test_a_patch_above_kubeadm_can_be_forced() -> None:
    assert refusal("v1.34.11", "v1.34.0", "v1.34.0") == (
        "error: error execution phase preflight: the version argument is invalid due to these errors:\n\n"
        '\t- Specified version to upgrade to "v1.34.11" is higher than the kubeadm version "v1.34.0". Upgrade '
        "kubeadm first using the tool you used to install kubeadm\n\nCan be bypassed if you pass the --force flag\n"
        f"{STACK}\n"
    )
    cmd_upgrade.enforce_policy("v1.34.11", "v1.34.0", versions.Release("v1.34.0"), [], True)


def test_downgrades_beyond_a_minor_and_below_the_minimum_are_fatal() -> None:
    text = refusal("v1.34.0", "v1.36.5", "v1.37.1")
    assert '\t- Specified version to downgrade to "v1.34.0" is too low; kubeadm can downgrade only 1 minor' in text
    assert 'is equal to or lower than the minimum supported version "v1.36.0"' in text
    assert "Please fix the misalignments highlighted above and try upgrading again\n" in text


def test_one_minor_up_with_a_matching_kubeadm_passes_and_old_kubelets_are_named() -> None:
    assert cmd_upgrade.policy_errors("v1.37.1", "v1.36.5", versions.Release("v1.37.1"), ["v1.36.5"]) == ([], [])
    mandatory, skippable = cmd_upgrade.policy_errors(
        "v1.37.1", "v1.36.5", versions.Release("v1.37.1"), ["v1.33.2", "v1.36.5"]
    )
    assert mandatory == []
    assert skippable == ["There are kubelets in this cluster that are too old that have these versions [v1.33.2]"]
    _mandatory, newer = cmd_upgrade.policy_errors("v1.36.8", "v1.36.5", versions.Release("v1.37.1"), [])
    assert newer == ["Kubeadm version v1.37.1 can only be used to upgrade to Kubernetes version 1.37"]


class FakeCluster:
    """Nodes and mirror Pods of a 3-control-plane cluster at 1.36.5 with a worker."""

    cps = ("cp1", "cp2", "cp3")

    def __init__(self, values=None, release=None, **_kw) -> None:
        self.apiserver_tags = dict.fromkeys(self.cps, "v1.36.5")

    def nodes(self) -> list[dict]:
        names = [*self.cps, "worker1"]
        return [{"metadata": {"name": n}, "status": {"nodeInfo": {"kubeletVersion": "v1.36.5"}}} for n in names]

    def versions_of(self, component: str) -> dict[str, str]:
        return dict(self.apiserver_tags) if component == "kube-apiserver" else dict.fromkeys(self.cps, "3.6.8-0")

    def control_planes(self) -> list[dict]:
        ready = {"type": "Ready", "status": "True"}
        return [{"metadata": {"name": n}, "status": {"conditions": [ready]}} for n in self.cps]

    def kubeadm_config(self) -> dict:
        return {"kubernetesVersion": "v1.36.5"}

    def version(self) -> str:
        return "v1.36.5"


@pytest.fixture
def cluster(monkeypatch, tmp_path):
    monkeypatch.setattr(cmd_upgrade, "Cluster", FakeCluster)
    monkeypatch.setattr(manifests, "MANIFESTS", str(tmp_path))
    for component in cmd_upgrade.ORDER:
        (tmp_path / f"{component}.yaml").write_text("kind: Pod\n")
    monkeypatch.setenv("KUBEADM_DOUBLE_VERSION", "v1.37.1")
    return FakeCluster


def test_plan_json_is_an_upgrade_plan_the_collection_reads(cluster, capsys) -> None:
    assert cmd_upgrade.cmd_plan(["v1.37.1", "-o", "json"], versions.Release("v1.37.1")) == 0
    stdout = capsys.readouterr().out
    plan = json.loads(stdout)  # nothing but the object on stdout
    assert (plan["kind"], plan["apiVersion"]) == ("UpgradePlan", "output.kubeadm.k8s.io/v1alpha3")
    parsed = parse_plan(stdout, "1.37.1")
    assert parsed["description"] == "stable version"
    rows = {(c["name"], c["node"]): (c["current_version"], c["new_version"]) for c in parsed["components"]}
    assert rows[("kubelet", "worker1")] == ("v1.36.5", "v1.37.1")
    assert rows[("kube-apiserver", "cp2")] == ("v1.36.5", "v1.37.1")
    assert rows[("kube-proxy", None)] == ("1.36.5", "v1.37.1")  # without "v", as real 1.30+ plans print it
    assert rows[("CoreDNS", None)] == ("v1.14.2", "v1.14.6")
    assert rows[("etcd", "cp3")] == ("3.6.8-0", "3.7.0-0")
    assert rows[("kubeadm", None)] == ("v1.37.1", "v1.37.1")
    assert [c["group"] for c in parsed["config_apis"]] == ["kubeproxy.config.k8s.io", "kubelet.config.k8s.io"]


def test_plan_yaml_sorts_its_keys(cluster, capsys) -> None:
    assert cmd_upgrade.cmd_plan(["v1.37.1", "-o", "yaml"], versions.Release("v1.37.1")) == 0
    text = capsys.readouterr().out
    assert text.startswith("apiVersion: output.kubeadm.k8s.io/v1alpha3\navailableUpgrades:\n")
    assert text.endswith("kind: UpgradePlan\n")
    assert yaml.safe_load(text)["availableUpgrades"][0]["description"] == "stable version"


def test_air_gapped_plan_falls_back_to_its_own_version_and_an_up_to_date_plan_prints_nothing(cluster, capsys) -> None:
    assert cmd_upgrade.cmd_plan(["-o", "json"], versions.Release("v1.36.5")) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "could not fetch a Kubernetes version from the internet" in captured.err
    assert "falling back to the local client version: v1.36.5" in captured.err


def test_plan_text_tables_and_the_note_to_upgrade_kubeadm(cluster, capsys) -> None:
    assert cmd_upgrade.cmd_plan(["v1.37.1"], versions.Release("v1.36.5")) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "[preflight] Running pre-flight checks.",
        '[upgrade/config] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...',
    ]
    assert "[upgrade/versions] Cluster version: 1.36.5" in lines
    assert "[upgrade/versions] kubeadm version: v1.36.5" in lines
    # tabwriter: three spaces after the longest cell of each column (FACTS-2 §1.3's layout).
    assert "COMPONENT   NODE      CURRENT   TARGET" in lines
    assert "kubelet     worker1   v1.36.5   v1.37.1" in lines
    assert "COMPONENT                 NODE      CURRENT   TARGET" in lines
    assert "kube-proxy                          1.36.5    v1.37.1" in lines
    assert "etcd                      cp1       3.6.8-0   3.7.0-0" in lines
    assert "\tkubeadm upgrade apply v1.37.1" in lines
    assert "Note: Before you can perform this upgrade, you have to update kubeadm to v1.37.1." in lines
    assert "kubelet.config.k8s.io     v1beta1           v1beta1             no" in lines
    assert lines[-2:] == ["_" * 69, ""]


def test_a_not_ready_control_plane_fails_the_health_checks(cluster, monkeypatch, capsys) -> None:
    monkeypatch.setattr(
        FakeCluster,
        "control_planes",
        lambda self: [
            {"metadata": {"name": "cp2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}
        ],
    )
    with pytest.raises(cli.Fail) as failure:
        cmd_upgrade.cmd_plan(["v1.37.1"], versions.Release("v1.37.1"))
    assert failure.value.text == (
        "error: [upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n"
        "\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [cp2]\n"
        "[preflight] If you know what you are doing, you can make a check non-fatal with "
        f"`--ignore-preflight-errors=...`\n{STACK}\n"
    )
    assert (
        cmd_upgrade.cmd_plan(
            ["v1.37.1", "--ignore-preflight-errors", "ControlPlaneNodesReady"], versions.Release("v1.37.1")
        )
        == 0
    )
    assert "\t[WARNING ControlPlaneNodesReady]: there are NotReady control-planes" in capsys.readouterr().err


def test_new_manifest_changes_only_the_image() -> None:
    pod = manifests.apiserver("v1.36.5", "10.0.0.1", 6443, "10.96.0.0/12")
    new = cmd_upgrade.new_manifest("kube-apiserver", pod, "v1.37.1", "3.7.0-0")
    assert new["spec"]["containers"][0]["image"] == "registry.k8s.io/kube-apiserver:v1.37.1"
    new["spec"]["containers"][0]["image"] = pod["spec"]["containers"][0]["image"]
    assert new == pod
    etcd = manifests.etcd(
        versions.Release("v1.36.5"), "cp1", "10.0.0.1", initial_cluster="cp1=x", existing=False, data_dir="/d"
    )
    assert cmd_upgrade.new_manifest("etcd", etcd, "v1.37.1", "3.7.0-0")["spec"]["containers"][0]["image"] == (
        "registry.k8s.io/etcd:3.7.0-0"
    )


def test_addons_wait_for_the_last_control_plane(capsys) -> None:
    cluster = FakeCluster()
    cmd_upgrade.addon_phase(cluster, "cp1", "v1.37.1")
    skip = "[upgrade/addon] Skipping upgrade of addons because control plane instances [cp2 cp3] have not been upgraded"
    assert capsys.readouterr().out == f"{skip}\n{skip}\n"
    cluster.apiserver_tags.update(cp1="v1.37.1", cp2="v1.37.1")
    cmd_upgrade.addon_phase(cluster, "cp3", "v1.37.1")
    assert capsys.readouterr().out == (
        "[addons] Applied essential addon: CoreDNS\n[addons] Applied essential addon: kube-proxy\n"
    )
