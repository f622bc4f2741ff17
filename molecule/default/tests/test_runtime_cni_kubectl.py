"""Verify the converged default scenario: containerd on the nodes, Calico's real manifests applied
the air-gapped way, and the kubectl commands a new user types first.

containerd, its configuration and kubectl are real; the API server they talk to is the kubeadm
test double's (tests/kubeadm_double/), which stores what it is given in the real etcd. No Calico
runs: its operator's image cannot be pulled here.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from functools import cache
from pathlib import Path

import testinfra
import yaml

ROOT = Path(__file__).resolve().parents[3]
CONTROL_PLANES = ["kubeha-default-cp1", "kubeha-default-cp2", "kubeha-default-cp3"]
WORKERS = ["kubeha-default-w1", "kubeha-default-w2"]
LOCAL_KUBECONFIG = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "kubeha-default.config"
# The pause image each kubeadm minor deploys (`kubeadm config images list`, recorded per release).
KUBEADM_PAUSE = {33: "3.10", 34: "3.10.1", 35: "3.10.1", 36: "3.10.2", 37: "3.10.2"}
CALICO = "v3.32.1"
MANIFESTS = ("operator-crds.yaml", "tigera-operator.yaml")
POD_CIDR = "10.244.0.0/16"


@cache
def node(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@cache
def shared_calico() -> Path:
    """The release's upstream files beside the checkout (as molecule.yml finds them)."""
    for parent in (ROOT.parent, ROOT.parent.parent):
        if (parent / "shared" / "calico" / CALICO / "operator-crds.yaml").is_file():
            return parent / "shared" / "calico"
    raise AssertionError(f"no shared/calico/{CALICO}/ beside {ROOT}")


def kubectl(*argv: str, stdin: str | None = None, cache_dir: Path | None = None) -> subprocess.CompletedProcess:
    # A private discovery cache: what the API server serves now, not what an older run cached.
    cache_flag = [f"--cache-dir={cache_dir or (LOCAL_KUBECONFIG.parent / 'kubectl-cache')}"]
    return subprocess.run(
        ["kubectl", f"--kubeconfig={LOCAL_KUBECONFIG}", *cache_flag, *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def kubectl_json(*argv: str) -> dict:
    result = kubectl(*argv, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- containerd -------------------------------------------------------------------------------
def test_containerd_runs_the_cri_with_systemd_cgroups_and_the_releases_pause_image() -> None:
    scenario = yaml.safe_load((ROOT / "molecule" / "default" / "molecule.yml").read_text())
    version = scenario["provisioner"]["inventory"]["group_vars"]["all"]["kubeha_kubernetes_version"]
    pause = f"registry.k8s.io/pause:{KUBEADM_PAUSE[int(version.split('.')[1])]}"
    for name in CONTROL_PLANES + WORKERS:
        host = node(name)
        # What containerd itself makes of the file the role wrote (its effective configuration).
        dump = host.run_expect([0], "containerd config dump").stdout
        assert "disabled_plugins = []" in dump, name
        assert "SystemdCgroup = true" in dump, name
        assert f'sandbox_image = "{pause}"' in dump or f"sandbox = '{pause}'" in dump, (name, pause)
        plugins = host.run_expect([0], "ctr plugins ls").stdout
        assert any(
            line.split()[:2] == ["io.containerd.grpc.v1", "cri"] and line.split()[-1] == "ok"
            for line in plugins.splitlines()
        ), f"{name}: the CRI plugin is not running:\n{plugins}"


# --- Calico, the air-gapped way ---------------------------------------------------------------
def pinned_sums() -> dict[str, str]:
    sums = {}
    for line in (shared_calico() / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split()
        release, name = path.split("/")
        if release == CALICO and name in MANIFESTS:
            sums[name] = digest
    assert set(sums) == set(MANIFESTS), sums
    return sums


def test_the_manifests_on_the_host_are_upstreams_files() -> None:
    cp1 = node(CONTROL_PLANES[0])
    for name, digest in pinned_sums().items():
        path = f"/etc/kubernetes/kubeha/cni/{CALICO}/{name}"
        assert cp1.file(path).sha256sum == digest, path
        assert hashlib.sha256((shared_calico() / CALICO / name).read_bytes()).hexdigest() == digest, name
    record = kubectl_json("--namespace=kube-system", "get", "configmap", "kubeha-cni")
    assert record["data"]["release"] == CALICO


def test_every_crd_of_the_release_is_served_whole() -> None:
    documents = list(yaml.safe_load_all((shared_calico() / CALICO / "operator-crds.yaml").read_text()))
    wanted = {d["metadata"]["name"]: d for d in documents if d and d.get("kind") == "CustomResourceDefinition"}
    assert len(wanted) == 32
    served = {c["metadata"]["name"]: c for c in kubectl_json("get", "crd")["items"]}
    assert set(wanted) <= set(served), sorted(set(wanted) - set(served))
    for name, crd in wanted.items():
        got = served[name]

        def schema(document: dict) -> dict:
            return {
                v["name"]: sorted(v.get("schema", {}).get("openAPIV3Schema", {}).get("properties", {}))
                for v in document["spec"]["versions"]
            }

        assert schema(got) == schema(crd), name
        assert {c["type"]: c["status"] for c in got["status"]["conditions"]}["Established"] == "True", name
    # Larger than client-side apply's 256 kB annotation allows: only a server-side apply stores it.
    installations = served["installations.operator.tigera.io"]
    assert len(json.dumps(installations)) > 256 * 1024
    assert "kubectl.kubernetes.io/last-applied-configuration" not in installations["metadata"].get("annotations", {})
    # The release's kinds are resources now: kubectl can list them.
    assert kubectl("get", "ippools.crd.projectcalico.org").returncode == 0


def test_the_operator_is_applied() -> None:
    documents = [d for d in yaml.safe_load_all((shared_calico() / CALICO / "tigera-operator.yaml").read_text()) if d]
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    got = kubectl_json("--namespace=tigera-operator", "get", "deployment", deployment["metadata"]["name"])
    assert got["spec"]["template"]["spec"]["containers"][0]["image"] == image == "quay.io/tigera/operator:v1.42.3"
    for document in documents:
        namespace = document["metadata"].get("namespace")
        where = [f"--namespace={namespace}"] if namespace else []
        kind = document["kind"].lower()
        group = document["apiVersion"].split("/")[0] if "/" in document["apiVersion"] else ""
        resource = f"{kind}.{group}" if group else kind
        assert kubectl(*where, "get", resource, document["metadata"]["name"]).returncode == 0, (kind, document)


def test_the_installation_carries_the_clusters_pod_cidr() -> None:
    installation = kubectl_json("get", "installations.operator.tigera.io", "default")
    pools = installation["spec"]["calicoNetwork"]["ipPools"]
    assert [p["cidr"] for p in pools] == [POD_CIDR]
    assert pools[0]["name"] == "default-ipv4-ippool"


# --- what a new user types first --------------------------------------------------------------
def test_typed_create_commands_fail_saying_what_the_double_does_not_serve(tmp_path: Path) -> None:
    for argv in (
        ["create", "deployment", "kubeha-verify-web", "--image=nginx"],
        ["create", "configmap", "kubeha-verify-x", "--from-literal=a=b"],
    ):
        result = kubectl(*argv, cache_dir=tmp_path)
        assert result.returncode != 0, argv
        message = result.stderr
        assert "kubeadm test double's API server (not Kubernetes)" in message, message
        assert "application/vnd.kubernetes.protobuf" in message, message
        assert "--dry-run=client -o yaml" in message, message
        assert "codec" not in message, message


def test_the_manifest_way_works_and_get_all_lists_it(tmp_path: Path) -> None:
    rendered = kubectl(
        "create", "deployment", "kubeha-verify-web", "--image=nginx", "--dry-run=client", "-o", "yaml",
        cache_dir=tmp_path,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    manifest = tmp_path / "configmap.yaml"
    manifest.write_text(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeha-verify-x"}, "data": {"a": "b"}}
        )
    )
    try:
        applied = kubectl("apply", "-f", "-", stdin=rendered.stdout, cache_dir=tmp_path)
        assert applied.returncode == 0, applied.stderr
        assert "deployment.apps/kubeha-verify-web created" in applied.stdout
        applied = kubectl("apply", "-f", str(manifest), cache_dir=tmp_path)
        assert applied.returncode == 0, applied.stderr
        assert kubectl_json("get", "configmap", "kubeha-verify-x")["data"] == {"a": "b"}
        listed = kubectl("get", "all", "-A", cache_dir=tmp_path)
        assert listed.returncode == 0, listed.stderr
        assert "deployment.apps/kubeha-verify-web" in listed.stdout, listed.stdout
        assert "pod/kube-apiserver-cp1" in listed.stdout, listed.stdout
    finally:
        kubectl("delete", "deployment", "kubeha-verify-web", "--ignore-not-found", cache_dir=tmp_path)
        kubectl("delete", "configmap", "kubeha-verify-x", "--ignore-not-found", cache_dir=tmp_path)
