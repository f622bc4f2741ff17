"""Verify the packages scenario: the install path every real user runs, against this run's own
package repository (tests/package_repo/), served over HTTPS by the repository container.

The packages are real .deb files; kubeadm and kubelet in them are the kubeadm test double
(tests/kubeadm_double/), kubectl is the official binary. What is checked is the collection's
handling of the repository, the versions, the holds and apt's refusals, not Kubernetes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

SCENARIO = Path(__file__).resolve().parents[1]
NODES = ["kubeha-packages-cp1", "kubeha-packages-w1"]
NODE_NAMES = {"kubeha-packages-cp1": "cp1", "kubeha-packages-w1": "w1"}
SPARE = "kubeha-packages-spare"
SERVER = "kubeha-packages-repo"
REPOSITORY = f"https://{SERVER}"
PUBLISHED = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "package-repo" / "www"
KUBECONFIG = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "kubeha-packages.config"
KUBERNETES = ["kubeadm", "kubectl", "kubelet"]
# The scenario's kubeha_kubernetes_version (not the collection's default) and containerd pin.
VERSION = "1.36.5"
CONTAINERD = "2.1.9"
RUN_TIMEOUT = 600
RECAP_LINE = re.compile(r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s", re.MULTILINE)


def sh(container: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["docker", "exec", container, "sh", "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    if check:
        assert result.returncode == 0, f"{container}: {script}\n{result.stdout}\n{result.stderr}"
    return result


def versions(container: str, packages: list[str]) -> dict[str, str]:
    out = sh(container, "dpkg-query -W -f '${Package} ${db:Status-Status} ${Version}\\n' " + " ".join(packages), False)
    found = dict.fromkeys(packages, "not-installed")  # dpkg-query lists no package it never knew
    for line in out.stdout.splitlines():
        name, status, version = line.split(" ", 2)
        found[name] = version if status == "installed" else status
    return found


def run_role(version: str, base: str = REPOSITORY, *extra: str, check: bool = False) -> tuple[int, str, dict[str, int]]:
    result = subprocess.run(
        [
            *("ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(SCENARIO / "prerequisites.yml")),
            *(("--check",) if check else ()),
            *("-e", f"prerequisites_kubernetes_version={version}"),
            *("-e", f"prerequisites_package_repository_base={base}"),
            *(arg for var in extra for arg in ("-e", var)),
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    changed = {m["host"]: int(m["changed"]) for m in RECAP_LINE.finditer(result.stdout)}
    return result.returncode, output, changed


def kubectl_json(*argv: str) -> dict:
    result = subprocess.run(
        ["kubectl", f"--kubeconfig={KUBECONFIG}", *argv, "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("container", NODES)
def test_packages_are_exactly_the_requested_version_and_held(container: str) -> None:
    assert versions(container, KUBERNETES) == dict.fromkeys(KUBERNETES, f"{VERSION}-1.1")
    # kubelet's dependency came along (kubeadm 1.32+ depends on nothing); cri-tools did not.
    assert versions(container, ["kubernetes-cni", "cri-tools"]) == {
        "kubernetes-cni": "1.9.1-1.1",
        "cri-tools": "not-installed",
    }
    assert sh(container, "apt-mark showhold").stdout.split() == ["containerd.io", *KUBERNETES]
    sources = sh(container, "cat /etc/apt/sources.list.d/kubernetes.sources").stdout
    assert f"URIs: {REPOSITORY}/v1.36/deb/" in sources
    assert re.search(r"(?m)^Suites: /$", sources)
    # Signed-By is the key this run's repository serves, fetched over HTTPS through the trusted CA.
    keyring = re.search(r"(?m)^Signed-By: (\S+)$", sources)
    assert keyring, sources
    assert sh(container, f"cat {keyring[1]}").stdout == (PUBLISHED / "v1.36/deb/Release.key").read_text()


@pytest.mark.parametrize("container", NODES)
def test_the_whole_stack_follows_the_requested_release(container: str) -> None:
    assert sh(container, "kubeadm version -o short").stdout.strip() == f"v{VERSION}"
    assert sh(container, "kubelet --version").stdout.strip() == f"Kubernetes v{VERSION}"
    node = kubectl_json("get", "node", NODE_NAMES[container])
    assert node["status"]["nodeInfo"]["kubeletVersion"] == f"v{VERSION}"


def test_the_api_server_reports_the_requested_release() -> None:
    assert kubectl_json("version")["serverVersion"]["gitVersion"] == f"v{VERSION}"
    manifest = sh(NODES[0], "cat /etc/kubernetes/manifests/kube-apiserver.yaml").stdout
    assert f"kube-apiserver:v{VERSION}" in manifest


@pytest.mark.parametrize("container", NODES)
def test_containerd_io_comes_from_the_docker_layout_repository(container: str) -> None:
    found = versions(container, ["containerd.io", "containerd"])
    assert found["containerd.io"] == f"{CONTAINERD}-1", found
    # Debian's containerd of the image was replaced (its configuration files may stay behind).
    assert found["containerd"] in ("not-installed", "config-files"), found
    sources = sh(container, "cat /etc/apt/sources.list.d/containerd.sources").stdout
    assert f"URIs: {REPOSITORY}/linux/debian" in sources
    assert re.search(r"(?m)^Suites: trixie$", sources)
    assert re.search(r"(?m)^Components: stable$", sources)
    # Debian's build: `containerd github.com/containerd/containerd/v2 2.1.9~ds1 2.1.9~ds1-1`.
    assert re.search(rf"\sv?{re.escape(CONTAINERD)}[~+\s]", sh(container, "containerd --version").stdout)
    # containerd 2.x's configuration schema, the CRI plugin on, the 1.36 sandbox image.
    config = sh(container, "containerd config dump").stdout
    assert re.search(r"(?m)^version = 3$", config), config[:400]
    assert "registry.k8s.io/pause:3.10.2" in config
    assert sh(container, "systemctl is-active containerd").stdout.strip() == "active"


def test_the_nodes_fetched_their_packages_from_the_repository_server() -> None:
    log = sh(SERVER, "journalctl -u kubeha-test-repository --no-pager -o cat").stdout
    for address in ("172.28.36.11", "172.28.36.21"):
        fetched = set(re.findall(rf'(?m)^{re.escape(address)} .*"GET (\S+) HTTP/1\.[01]" 200', log))
        assert f"/v1.36/deb/kubeadm_{VERSION}-1.1_amd64.deb" in fetched, sorted(fetched)
        assert f"/linux/debian/dists/trixie/pool/stable/amd64/containerd.io_{CONTAINERD}-1_amd64.deb" in fetched


def test_each_node_refreshed_its_package_lists_once() -> None:
    """The converge wrote both repositories before refreshing, then refreshed apt's lists once
    (a refresh reads every source), and the idempotence run refreshed nothing: each node fetched
    containerd.io's Release once. (w1's apt-get upgrade test reads only the Kubernetes sources.)"""
    log = sh(SERVER, "journalctl -u kubeha-test-repository --no-pager -o cat").stdout
    release = "/linux/debian/dists/trixie/InRelease"
    for address in ("172.28.36.11", "172.28.36.21"):
        fetches = re.findall(rf'(?m)^{re.escape(address)} .*"GET {release} HTTP/1\.[01]"', log)
        assert len(fetches) == 1, fetches


@pytest.mark.parametrize("container", NODES)
def test_kubelet_runs_enabled_once_kubeadm_configured_it(container: str) -> None:
    assert sh(container, "systemctl is-enabled kubelet").stdout.strip() == "enabled"
    assert sh(container, "systemctl is-active kubelet").stdout.strip() == "active"
    assert sh(container, "test -s /var/lib/kubelet/config.yaml", False).returncode == 0


def test_unrelated_apt_upgrade_never_moves_held_packages() -> None:
    """`apt-get upgrade` with the next minor's repository beside this one's (as after a site
    switched repositories for an upgrade): newer packages are candidates, the holds keep them.
    Only the Kubernetes repositories are consulted (their own lists directory)."""
    node = NODES[1]
    apt = (
        "-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/tmp/kubeha-upgrade/sources "
        "-o Dir::State::Lists=/tmp/kubeha-upgrade/lists"
    )
    sh(
        node,
        "rm -rf /tmp/kubeha-upgrade && mkdir -p /tmp/kubeha-upgrade/sources /tmp/kubeha-upgrade/lists/partial"
        " && cp /etc/apt/sources.list.d/kubernetes.sources /tmp/kubeha-upgrade/sources/"
        " && sed 's#/v1.36/deb/#/v1.37/deb/#' /etc/apt/sources.list.d/kubernetes.sources"
        " > /tmp/kubeha-upgrade/sources/next.sources",
    )
    sh(node, f"apt-get {apt} -q update")
    policy = sh(node, f"apt-cache {apt} policy kubeadm").stdout
    assert "Candidate: 1.37.1-1.1" in policy, policy
    upgrade = sh(node, f"DEBIAN_FRONTEND=noninteractive apt-get {apt} -y upgrade").stdout
    assert versions(node, KUBERNETES) == dict.fromkeys(KUBERNETES, f"{VERSION}-1.1"), upgrade
    assert sh(node, "apt-mark showhold").stdout.split() == ["containerd.io", *KUBERNETES]
    sh(node, "rm -rf /tmp/kubeha-upgrade")


def test_check_mode_on_a_fresh_host_says_what_it_would_add_and_changes_nothing() -> None:
    """The spare node is fresh (only the repository's CA trusted): check mode must succeed,
    report the repositories, keys and packages it would add, and leave the node as it was."""
    files = (
        "/etc/apt/sources.list.d/kubernetes.sources /etc/apt/sources.list.d/containerd.sources"
        " /etc/apt/keyrings/kubernetes.asc /etc/apt/keyrings/containerd.asc"
    )
    assert sh(SPARE, f"ls {files}", False).returncode != 0, "the spare node is not fresh"
    rc, output, changed = run_role(VERSION, check=True)
    flat = " ".join(output.split())
    assert rc == 0, output[-4000:]
    assert changed.get(SPARE, 0) > 0, output[-4000:]
    wanted = ", ".join(f"{name}={VERSION}-*" for name in ["kubelet", "kubeadm", "kubectl"])
    assert f"check mode: would install {wanted} from {REPOSITORY}/v1.36/deb/ and hold them" in flat, output[-4000:]
    assert f"check mode: would install containerd.io={CONTAINERD}-* from {REPOSITORY}/linux/debian" in flat, output[
        -4000:
    ]
    for name in files.split():
        assert sh(SPARE, f"test -e {name}", False).returncode != 0, f"check mode wrote {name}"
    # Nothing installed, python3-debian (which deb822_repository would have needed) included.
    assert versions(SPARE, [*KUBERNETES, "containerd.io", "python3-debian"]) == dict.fromkeys(
        [*KUBERNETES, "containerd.io", "python3-debian"], "not-installed"
    )


def test_a_version_the_repository_lacks_fails_before_any_change() -> None:
    rc, output, changed = run_role("1.36.9")
    assert rc != 0, output[-3000:]
    assert f"the repository {REPOSITORY}/v1.36/deb/ has no kubelet, kubeadm, kubectl at version 1.36.9" in " ".join(
        output.split()
    ), output[-3000:]
    assert "(it has 1.36.4, 1.36.5)" in " ".join(output.split()), output[-3000:]
    assert changed.get(SPARE) == 0, output[-3000:]
    assert sh(SPARE, "test -e /etc/apt/sources.list.d/kubernetes.sources", False).returncode != 0


def test_a_repository_whose_signature_does_not_verify_is_refused() -> None:
    rc, output, _recap = run_role(VERSION, f"{REPOSITORY}/tampered")
    flat = " ".join(output.split())
    assert rc != 0, output[-3000:]
    assert f"apt refused the Kubernetes repository {REPOSITORY}/tampered/v1.36/deb/" in flat, output[-3000:]
    # apt's own reason: the Release file's signer is not the key the repository handed out.
    assert re.search(r"NO_PUBKEY [0-9A-F]{16}|is not signed", flat), output[-3000:]
    assert versions(SPARE, ["kubeadm"]) == {"kubeadm": "not-installed"}


def test_fresh_install_from_the_next_minor_crash_loops_until_kubeadm_runs_then_patch_upgrade() -> None:
    rc, output, _recap = run_role("1.37.0")
    assert rc == 0, output[-4000:]
    assert versions(SPARE, KUBERNETES) == dict.fromkeys(KUBERNETES, "1.37.0-1.1")
    assert sh(SPARE, "kubeadm version -o short").stdout.strip() == "v1.37.0"
    # As the real package: enabled, restarting every RestartSec until kubeadm writes its config.
    assert sh(SPARE, "systemctl is-enabled kubelet").stdout.strip() == "enabled"
    deadline = time.monotonic() + 40
    restarts = 0
    while time.monotonic() < deadline:
        restarts = int(sh(SPARE, "systemctl show -P NRestarts kubelet").stdout.strip() or 0)
        if restarts >= 1:
            break
        time.sleep(3)
    assert restarts >= 1, sh(SPARE, "systemctl status kubelet --no-pager", False).stdout
    assert sh(SPARE, "test -e /var/lib/kubelet/config.yaml", False).returncode != 0

    rc, output, changed = run_role("1.37.0")
    assert rc == 0, output[-4000:]
    assert changed.get(SPARE) == 0, output[-4000:]
    # prerequisites_containerd_source: auto keeps the containerd.io it finds (the platform's
    # containerd would replace it).
    rc, output, changed = run_role("1.37.0", REPOSITORY, "prerequisites_containerd_source=auto")
    assert rc == 0, output[-4000:]
    assert changed.get(SPARE) == 0, output[-4000:]
    assert versions(SPARE, ["containerd.io"]) == {"containerd.io": f"{CONTAINERD}-1"}

    # A patch upgrade through the role moves the held packages, and holds them again.
    rc, output, _recap = run_role("1.37.1")
    assert rc == 0, output[-4000:]
    assert versions(SPARE, KUBERNETES) == dict.fromkeys(KUBERNETES, "1.37.1-1.1")
    assert sh(SPARE, "apt-mark showhold").stdout.split() == ["containerd.io", *KUBERNETES]
    assert sh(SPARE, "kubelet --version").stdout.strip() == "Kubernetes v1.37.1"
