"""Verify how the default scenario's nodes got kubeadm, kubelet, kubectl and containerd.

Four nodes install as a user's do (prerequisites_source: packages, from this run's repository
container, molecule/resources/package_repository.yml); w2 is the golden-image node
(prerequisites_source: preinstalled) in the same cluster. The packaged kubeadm and kubelet are the
kubeadm test double (tests/kubeadm_double/); dpkg, apt and the holds are real.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import testinfra
import yaml

PACKAGE_NODES = ["kubeha-default-cp1", "kubeha-default-cp2", "kubeha-default-cp3", "kubeha-default-w1"]
GOLDEN_NODE = "kubeha-default-w2"
KUBERNETES = ["kubeadm", "kubectl", "kubelet"]
SCENARIO = yaml.safe_load((Path(__file__).resolve().parents[1] / "molecule.yml").read_text())
CLUSTER_VARS = SCENARIO["provisioner"]["inventory"]["group_vars"]["all"]
VERSION = CLUSTER_VARS["kubeha_kubernetes_version"]
CONTAINERD = CLUSTER_VARS["prerequisites_containerd_version"]
MINOR = ".".join(VERSION.split(".")[:2])
REPOSITORY = CLUSTER_VARS["prerequisites_package_repository_base"]


@cache
def node(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def test_package_nodes_carry_exactly_the_requested_versions_held() -> None:
    for name in PACKAGE_NODES:
        host = node(name)
        found = {package: host.package(package).version for package in [*KUBERNETES, "containerd.io"]}
        # pkgs.k8s.io's revision for kubeadm, kubelet, kubectl; Docker's for containerd.io.
        assert found == {**dict.fromkeys(KUBERNETES, f"{VERSION}-1.1"), "containerd.io": f"{CONTAINERD}-1"}, name
        assert sorted(host.run_expect([0], "apt-mark showhold").stdout.split()) == ["containerd.io", *KUBERNETES], name
        sources = host.file("/etc/apt/sources.list.d/kubernetes.sources").content_string
        assert f"URIs: {REPOSITORY}/v{MINOR}/deb/" in sources, (name, sources)
        assert host.run_expect([0], "kubeadm version -o short").stdout.strip() == f"v{VERSION}", name


def test_the_golden_image_node_keeps_its_binaries_and_gets_no_kubernetes_repository() -> None:
    host = node(GOLDEN_NODE)
    assert not any(host.package(package).is_installed for package in KUBERNETES)
    assert not host.file("/etc/apt/sources.list.d/kubernetes.sources").exists
    assert host.run_expect([0], "kubeadm version -o short").stdout.strip() == f"v{VERSION}"
    assert host.run_expect([0], "kubelet --version").stdout.strip() == f"Kubernetes v{VERSION}"
