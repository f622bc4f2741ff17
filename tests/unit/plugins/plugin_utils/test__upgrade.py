"""The upgrade rules: one minor at a time, never down, every node Ready, etcd healthy, packages there."""

from __future__ import annotations

from dataclasses import replace as dataclass_replace

import pytest
from ansible.executor.playbook_executor import PlaybookExecutor
from ansible_collections.kubeha.kubeadm.plugins.plugin_utils import _upgrade as up

TARGET = (1, 37, 1)
INDEX_137 = "\n\n".join(
    f"Package: {name}\nArchitecture: amd64\nVersion: {version}-1.1\nFilename: pool/{name}_{version}.deb\n"
    for name in ("kubeadm", "kubelet", "kubectl")
    for version in ("1.37.0", "1.37.1")
)


def nodes(cp: tuple = (1, 36, 5), worker: tuple = (1, 36, 5)) -> list[up.Node]:
    return [
        *(up.Node(f"cp{i}", f"cp{i}", True, apiserver=cp, kubeadm=cp, kubelet=cp) for i in (1, 2, 3)),
        up.Node("w1", "w1", False, kubeadm=worker, kubelet=worker),
    ]


def api(**overrides: up.ApiNode) -> dict[str, up.ApiNode]:
    found = {name: up.ApiNode(ready=True, kubelet=(1, 36, 5)) for name in ("cp1", "cp2", "cp3", "w1")}
    found.update(overrides)
    return found


ETCD = {"cp1": True, "cp2": True, "cp3": True}


def repos(content: str = INDEX_137, status: int = 200) -> dict[str, up.Repository]:
    versions = up.package_versions(content)
    return {h: up.Repository("https://repo/v1.37/deb/", status, versions=versions) for h in ("cp1", "cp2", "cp3", "w1")}


def messages(found: list[up.Finding]) -> list[str]:
    return [f"{f.hosts} {f.variable}: {f.message} Fix: {f.fix}" for f in found]


def test_a_minor_upgrade_of_a_healthy_cluster_passes() -> None:
    assert up.check(TARGET, nodes(), api(), ETCD, repos()) == []


def test_a_patch_upgrade_within_the_minor_passes() -> None:
    index = INDEX_137.replace("1.37", "1.36")
    assert up.check((1, 36, 1), nodes(cp=(1, 36, 0), worker=(1, 36, 0)), api(), ETCD, repos(index)) == []


def test_a_skipped_minor_is_refused_naming_the_step_between() -> None:
    found = up.check((1, 38, 0), nodes(), api(), ETCD, repos(INDEX_137.replace("1.37", "1.38")))
    assert len(found) == 1, messages(found)
    assert found[0].hosts == ["all"]
    assert found[0].variable == "kubeha_kubernetes_version"
    assert "the cluster runs 1.36.5; 1.38.0 would skip 1.37" in found[0].message
    assert "upgrade to 1.37 first (kubeha_kubernetes_version: 1.37.x" in found[0].fix


def test_the_oldest_control_plane_decides_the_cluster_version() -> None:
    mixed = nodes(cp=(1, 37, 1))
    mixed[1] = up.Node("cp2", "cp2", True, apiserver=(1, 35, 9), kubeadm=(1, 35, 9), kubelet=(1, 35, 9))
    assert up.cluster_version(mixed) == (1, 35, 9)
    found = up.check((1, 37, 1), mixed, api(), ETCD, repos())
    assert any("the cluster runs 1.35.9; 1.37.1 would skip 1.36" in m for m in messages(found)), messages(found)


def test_a_kubelet_two_minors_behind_is_refused_on_its_host() -> None:
    found = up.check(TARGET, nodes(worker=(1, 35, 2)), api(), ETCD, repos())
    assert [(f.hosts, f.variable) for f in found] == [(["w1"], "kubeha_kubernetes_version")], messages(found)
    assert "more than one minor older than 1.37.1" in found[0].message


def test_a_downgrade_is_refused_naming_what_runs() -> None:
    found = up.check((1, 36, 4), nodes(), api(), ETCD, repos(INDEX_137.replace("1.37.1", "1.36.4")))
    assert len(found) == 1, messages(found)
    assert found[0].hosts == ["cp1", "cp2", "cp3", "w1"]
    assert "1.36.4 is older than what runs here (cp1: kube-apiserver 1.36.5, kubeadm 1.36.5" in found[0].message
    assert "never downgrades" in found[0].message
    assert found[0].fix.startswith("set kubeha_kubernetes_version: 1.36.5 or a later release")


def test_a_node_not_ready_and_a_missing_node_are_refused() -> None:
    state = api(w1=up.ApiNode(ready=False, reason="KubeletNotReady"))
    del state["cp3"]
    found = up.check(TARGET, nodes(), state, ETCD, repos())
    assert [(f.hosts, f.variable) for f in found] == [(["cp3"], "kubeha_node_name"), (["w1"], "ansible_host")]
    assert "node w1 is not Ready (KubeletNotReady)" in found[1].message
    assert "-e kubeha_remove_nodes=w1" in found[1].fix


def test_no_answer_from_the_api_is_refused() -> None:
    found = up.check(TARGET, nodes(), None, ETCD, repos())
    assert [f.variable for f in found] == ["kubeha_control_plane_group"]
    assert "could not be read" in found[0].message


def test_every_etcd_member_must_be_healthy() -> None:
    found = up.check(TARGET, nodes(), api(), {"cp1": True, "cp2": None, "cp3": False}, repos())
    assert [(f.hosts, f.variable) for f in found] == [(["cp2", "cp3"], "etcd")]


def test_a_version_missing_from_the_repository_is_refused_with_what_it_has() -> None:
    index = "\n\n".join(s for s in INDEX_137.split("\n\n") if "1.37.1" not in s)
    found = up.check(TARGET, nodes(), api(), ETCD, repos(index))
    assert len(found) == 1, messages(found)
    assert found[0].hosts == ["cp1", "cp2", "cp3", "w1"]
    assert found[0].message == (
        "the repository https://repo/v1.37/deb/ has no kubeadm, kubelet, kubectl at 1.37.1 (it has 1.37.0)."
    )
    unreadable = up.check(TARGET, nodes(), api(), ETCD, repos(status=404))
    assert [f.variable for f in unreadable] == ["prerequisites_package_repository_base"]


def test_no_running_cluster_and_an_unjoined_control_plane() -> None:
    bare = [up.Node("cp1", "cp1", True), up.Node("w1", "w1", False)]
    found = up.check(TARGET, bare, api(), {}, {})
    assert len(found) == 1
    assert "there is no cluster to upgrade" in found[0].message
    partly = nodes()
    partly[2] = up.Node("cp3", "cp3", True, kubeadm=(1, 36, 5), kubelet=(1, 36, 5))
    found = up.check(TARGET, partly, api(), ETCD, repos())
    assert [(f.hosts, f.variable) for f in found] == [(["cp3"], "kubeha_control_plane_group")]


def test_preinstalled_hosts_are_refused() -> None:
    some = nodes()
    some[3] = up.Node("w1", "w1", False, kubeadm=(1, 36, 5), kubelet=(1, 36, 5), source="preinstalled")
    found = up.check(TARGET, some, api(), ETCD, repos())
    assert [(f.hosts, f.variable) for f in found] == [(["w1"], "prerequisites_source")]


def test_pending_until_every_version_is_the_target_and_the_mark_is_gone() -> None:
    done = up.Node("cp2", "cp2", True, apiserver=TARGET, kubeadm=TARGET, kubelet=TARGET)
    assert not up.pending(TARGET, done, up.ApiNode(ready=True, kubelet=TARGET))
    assert not up.pending(TARGET, done, None)
    # Interrupted after the packages, before uncordon: still marked.
    assert up.pending(TARGET, done, up.ApiNode(ready=True, kubelet=TARGET, upgrading="1.37.1"))
    # The package moved but the kubelet still runs the old binary.
    assert up.pending(TARGET, done, up.ApiNode(ready=True, kubelet=(1, 36, 5)))
    # kubeadm upgraded, control plane not yet.
    half = up.Node("cp2", "cp2", True, apiserver=(1, 36, 5), kubeadm=TARGET, kubelet=(1, 36, 5))
    assert up.pending(TARGET, half, None)
    worker = up.Node("w1", "w1", False, kubeadm=TARGET, kubelet=TARGET)
    assert not up.pending(TARGET, worker, up.ApiNode(ready=True, kubelet=TARGET))


def test_parsers() -> None:
    assert up.parse_version("kubelet=installed=1.37.1-1.1") == (1, 37, 1)
    assert up.parse_version("kubelet=config-files=1.37.1-1.1") is None
    assert up.parse_version("kubeadm=v1.36.5") == (1, 36, 5)
    assert up.parse_version("apiserver=") is None
    assert up.parse_version("v1.36.4") == (1, 36, 4)
    assert up.package_versions(INDEX_137) == {p: ["1.37.0", "1.37.1"] for p in ("kubeadm", "kubelet", "kubectl")}
    listing = {
        "items": [
            {
                "metadata": {"name": "cp1", "annotations": {up.UPGRADING_ANNOTATION: "1.37.1"}},
                "spec": {"unschedulable": True},
                "status": {
                    "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}],
                    "nodeInfo": {"kubeletVersion": "v1.37.1"},
                },
            },
            {"metadata": {"name": "w1"}, "status": {}},
        ]
    }
    found = up.api_nodes(listing)
    assert found == {
        "cp1": up.ApiNode(False, "KubeletNotReady", True, (1, 37, 1), "1.37.1"),
        "w1": up.ApiNode(False, "no Ready condition", False, None, ""),
    }
    assert up.api_nodes(None) is None
    assert up.api_nodes({"kind": "Status"}) is None


def test_the_worker_batch_is_serial_arithmetic_at_least_one_never_more_than_the_workers() -> None:
    # 20% (the default): rounded down, at least one worker.
    assert [up.batch_size("20%", n) for n in (1, 2, 5, 21)] == [1, 1, 1, 4]
    assert [up.batch_size(up.DEFAULT_WORKER_BATCH, n) for n in (1, 2, 5, 21)] == [1, 1, 1, 4]
    assert [up.batch_size("50%", n) for n in (1, 2, 5, 21)] == [1, 1, 2, 10]
    assert [up.batch_size("100%", n) for n in (1, 2, 5, 21)] == [1, 2, 5, 21]
    assert [up.batch_size(3, n) for n in (1, 2, 5, 21)] == [1, 2, 3, 3]
    assert up.batch_size("2", 5) == 2
    assert up.worker_batches(["w1", "w2"], "20%") == [["w1"], ["w2"]]
    assert up.worker_batches([f"w{i}" for i in range(1, 6)], "20%") == [[f"w{i}"] for i in range(1, 6)]
    batches = up.worker_batches([f"w{i}" for i in range(1, 22)], "20%")
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 1]
    assert [h for b in batches for h in b] == [f"w{i}" for i in range(1, 22)]
    assert up.worker_batches(["w1", "w2", "w3"], 2) == [["w1", "w2"], ["w3"]]
    assert up.worker_batches([], "20%") == []


def test_the_worker_batches_are_the_ones_ansible_serial_makes() -> None:
    """The plan upgrade.yml prints is what the workers play's `serial` really does."""

    class Inventory:
        def __init__(self, hosts: list[str]) -> None:
            self.hosts = hosts

        def get_hosts(self, pattern: object, order: object = None) -> list[str]:
            return list(self.hosts)

    class Play:
        hosts = "workers"
        order = None

        def __init__(self, serial: object) -> None:
            self.serial = [serial]

    for count in (1, 2, 5, 21):
        workers = [f"w{i}" for i in range(1, count + 1)]
        for batch in ("20%", "1%", "50%", "100%", 1, "3", 30):
            executor = PlaybookExecutor.__new__(PlaybookExecutor)
            executor._inventory = Inventory(workers)
            assert executor._get_serialized_batches(Play(batch)) == up.worker_batches(workers, batch), (count, batch)


def test_a_worker_batch_that_would_take_every_worker_at_once_or_is_no_number_is_refused() -> None:
    for batch in ("0", 0, "0%", "101%", "-1", "-20%", "half", "", None, True, 1.5, [1]):
        with pytest.raises(ValueError, match=r"^kubeha_upgrade_worker_batch: .* is not a number of workers"):
            up.batch_size(batch, 5)
    found = up.check(TARGET, nodes(), api(), ETCD, repos(), worker_batch="0")
    assert [(f.hosts, f.variable) for f in found] == [(["all"], "kubeha_upgrade_worker_batch")]


def test_a_node_whose_package_manager_is_not_apt_is_refused() -> None:
    some = [dataclass_replace(n, pkg_mgr="apt") for n in nodes()]
    assert up.check(TARGET, some, api(), ETCD, repos()) == []
    some[3] = dataclass_replace(some[3], pkg_mgr="dnf")
    some[2] = dataclass_replace(some[2], pkg_mgr="dnf")
    found = up.check(TARGET, some, api(), ETCD, repos())
    assert [(f.hosts, f.variable) for f in found] == [(["cp3", "w1"], "ansible_pkg_mgr")]
    assert found[0].message.startswith("is dnf: upgrade.yml upgrades kubeadm, kubelet and kubectl with apt only")
    # A preinstalled host is refused for that reason alone.
    some[3] = dataclass_replace(some[3], source="preinstalled")
    assert [(f.hosts, f.variable) for f in up.check(TARGET, some, api(), ETCD, repos())] == [
        (["w1"], "prerequisites_source"),
        (["cp3"], "ansible_pkg_mgr"),
    ]
