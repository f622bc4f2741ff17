"""The test package repository's builder (tests/package_repo/pkgrepo.py): the packages it
stages and the indexes it writes, on real dpkg-deb. The repositories themselves are exercised
end to end by the `packages` Molecule scenario."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, load_script

pkgrepo = load_script(ROOT / "tests" / "package_repo" / "pkgrepo.py", "pkgrepo")
YAML_DIR = Path(yaml.__file__).parent


def fields(deb: Path) -> dict[str, str]:
    out = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"(?m)^(\S+): (.*)$", out))


def run_packaged(stage: Path, copy: str, *argv: str, env: dict | None = None) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "KUBEADM_DOUBLE_VERSION"}
    environ |= {"PYTHONPATH": str(stage / "usr/lib/kubeadm-double" / copy), **(env or {})}
    result = subprocess.run(
        [sys.executable, "-B", "-m", "kdouble", *argv], capture_output=True, text=True, env=environ, check=True
    )
    return result.stdout.strip()


def test_deb_version_is_pkgs_k8s_io_form() -> None:
    assert pkgrepo.deb_version("1.37.1") == "1.37.1-1.1"
    assert set(pkgrepo.RELEASES) == {"1.36", "1.37"}
    assert all(len(patches) >= 2 for patches in pkgrepo.RELEASES.values())


@pytest.mark.parametrize(("copy", "argv", "expected"), [
    ("kubeadm", ("kubeadm", "version", "-o", "short"), "v1.36.5"),
    ("kubelet", ("kubelet", "--version"), "Kubernetes v1.36.5"),
])  # fmt: skip
def test_each_packaged_binary_reports_its_own_version(tmp_path: Path, copy: str, argv: tuple, expected: str) -> None:
    stager = pkgrepo.stage_kubeadm if copy == "kubeadm" else pkgrepo.stage_kubelet
    stager(tmp_path, "1.36.5", YAML_DIR)
    assert (tmp_path / "usr/lib/kubeadm-double" / copy / "version").read_text() == "v1.36.5\n"
    assert run_packaged(tmp_path, copy, *argv) == expected
    # The test-only override still wins over the packaged version.
    assert run_packaged(tmp_path, copy, *argv, env={"KUBEADM_DOUBLE_VERSION": "v1.37.0"}).endswith("v1.37.0")


def test_kubelet_package_fields_scripts_and_unit(tmp_path: Path) -> None:
    deb = pkgrepo.package(tmp_path, pkgrepo.stage_kubelet, "1.37.1", YAML_DIR)
    assert deb.name == "kubelet_1.37.1-1.1_amd64.deb"
    info = fields(deb)
    assert info["Version"] == "1.37.1-1.1"
    assert info["Depends"].startswith("kubernetes-cni (>= 1.2.0), mount, util-linux")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./usr/bin/kubelet", "./usr/lib/systemd/system/kubelet.service", "./etc/default/kubelet",
                 "./usr/local/bin/kube-apiserver", "./var/lib/kubelet/", "./etc/kubernetes/manifests/"):  # fmt: skip
        assert path in listing
    control = subprocess.run(["dpkg-deb", "-I", str(deb), "postinst"], capture_output=True, text=True, check=True)
    assert "deb-systemd-helper enable kubelet.service" in control.stdout
    assert "restart" in control.stdout


def test_kubeadm_ships_the_kubelet_drop_in_and_no_dependency_on_kubelet(tmp_path: Path) -> None:
    deb = pkgrepo.package(tmp_path, pkgrepo.stage_kubeadm, "1.36.4", YAML_DIR)
    info = fields(deb)
    assert "kubelet" not in info.get("Depends", "")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "./usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf" in listing


def test_flat_index_and_release_name_every_file_with_its_hash(tmp_path: Path) -> None:
    repo = tmp_path / "v1.36" / "deb"
    repo.mkdir(parents=True)
    pkgrepo.package(repo, pkgrepo.stage_cri_tools, "1.36.0")
    pkgrepo.package(repo, pkgrepo.stage_kubernetes_cni, "1.9.1")
    indexes = pkgrepo.write_index(repo, pkgrepo.packages_index(sorted(repo.glob("*.deb")), repo))
    text = (repo / "Packages").read_text()
    assert "Package: cri-tools\nVersion: 1.36.0-1.1\n" in text
    assert "Filename: kubernetes-cni_1.9.1-1.1_amd64.deb\n" in text
    assert gzip.decompress((repo / "Packages.gz").read_bytes()).decode() == text
    release = pkgrepo.release_file(repo, indexes, Origin="x")
    for index in indexes:
        data = index.read_bytes()
        assert f" {hashlib.sha256(data).hexdigest()} {len(data):>16} {index.name}" in release


def test_the_servers_certificate_passes_a_strict_verifier(tmp_path: Path) -> None:
    """What the nodes' Python 3.13 (VERIFY_X509_STRICT by default) and apt check, in memory:
    a TLS handshake against the run's CA, for the repository container's name only."""
    pkgrepo.tls(tmp_path, ["kubeha-packages-repo"])
    tls_dir = tmp_path / "tls"
    assert sorted(p.name for p in tls_dir.iterdir()) == ["kubeha-test-repository-ca.crt", "server.crt", "server.key"]
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tls_dir / "server.crt", tls_dir / "server.key")

    def handshake(name: str) -> None:
        client_context = ssl.create_default_context(cafile=str(tls_dir / "kubeha-test-repository-ca.crt"))
        client_context.verify_flags |= ssl.VERIFY_X509_STRICT
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_context.wrap_bio(c_in, c_out, server_hostname=name)
        server = server_context.wrap_bio(s_in, s_out, server_side=True)
        done = {"client": False, "server": False}
        for _round in range(10):
            for side, obj, src, dst in (("client", client, c_out, s_in), ("server", server, s_out, c_in)):
                if not done[side]:
                    try:
                        obj.do_handshake()
                        done[side] = True
                    except ssl.SSLWantReadError:
                        pass
                dst.write(src.read())
            if all(done.values()):
                return
        raise AssertionError("handshake did not finish")

    handshake("kubeha-packages-repo")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake("another-name")
