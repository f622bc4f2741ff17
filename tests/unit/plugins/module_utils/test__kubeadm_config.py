"""plugins/module_utils/_kubeadm_config.py: kubeadm configuration documents and argv."""

from __future__ import annotations

import json

import pytest
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_config import (
    INIT_KINDS,
    build_config_documents,
    build_init_argv,
    build_init_documents,
    build_join_argv,
    build_join_documents,
    build_reset_argv,
    render_config,
)

# --------------------------------------------------------------------------------------------
# argv and configuration


INIT_PARAMS = {
    "control_plane_endpoint": "k8s-api.example.com:6443",
    "pod_network_cidr": "10.244.0.0/16",
    "service_cidr": None,
    "kubernetes_version": "v1.32.4",
    "apiserver_advertise_address": "10.0.0.11",
    "node_name": "cp1",
    "cri_socket": "unix:///var/run/containerd/containerd.sock",
    "upload_certs": True,
    "ignore_preflight_errors": ["NumCPU", "Mem"],
}


def test_build_init_argv_flags() -> None:
    assert build_init_argv("/usr/bin/kubeadm", INIT_PARAMS) == [
        "/usr/bin/kubeadm", "init",
        "--control-plane-endpoint", "k8s-api.example.com:6443",
        "--pod-network-cidr", "10.244.0.0/16",
        "--kubernetes-version", "v1.32.4",
        "--apiserver-advertise-address", "10.0.0.11",
        "--node-name", "cp1",
        "--cri-socket", "unix:///var/run/containerd/containerd.sock",
        "--upload-certs",
        "--ignore-preflight-errors", "NumCPU,Mem",
    ]  # fmt: skip


def test_build_init_argv_config() -> None:
    assert build_init_argv("kubeadm", INIT_PARAMS, "/run/x/kubeadm-init.yaml") == [
        "kubeadm", "init", "--config", "/run/x/kubeadm-init.yaml", "--upload-certs",
        "--ignore-preflight-errors", "NumCPU,Mem",
    ]  # fmt: skip


def test_build_init_argv_rejects_odd_check_names() -> None:
    with pytest.raises(ValueError, match="not a preflight check name"):
        build_init_argv("kubeadm", {"ignore_preflight_errors": ["NumCPU,--dry-run"]})


@pytest.mark.parametrize(
    ("api_version", "extra_args"),
    [
        ("kubeadm.k8s.io/v1beta4", [{"name": "audit-log-maxage", "value": "30"}]),
        ("kubeadm.k8s.io/v1beta3", {"audit-log-maxage": "30"}),
    ],
)
@pytest.mark.parametrize(
    "given", [{"audit-log-maxage": 30}, [{"name": "audit-log-maxage", "value": "30"}]], ids=["map", "list"]
)
def test_build_init_documents(api_version: str, extra_args, given) -> None:
    params = {
        **INIT_PARAMS,
        "config": {
            "ClusterConfiguration": {"apiServer": {"extraArgs": given}, "networking": {"podSubnet": "10.244.0.0/16"}},
            "KubeletConfiguration": {"cgroupDriver": "systemd"},
        },
    }
    documents = build_init_documents(params, api_version)
    assert documents["ClusterConfiguration"] == {
        "apiVersion": api_version,
        "kind": "ClusterConfiguration",
        "apiServer": {"extraArgs": extra_args},
        "networking": {"podSubnet": "10.244.0.0/16"},
        "controlPlaneEndpoint": "k8s-api.example.com:6443",
        "kubernetesVersion": "v1.32.4",
    }
    assert documents["InitConfiguration"] == {
        "apiVersion": api_version,
        "kind": "InitConfiguration",
        "localAPIEndpoint": {"advertiseAddress": "10.0.0.11"},
        "nodeRegistration": {"name": "cp1", "criSocket": "unix:///var/run/containerd/containerd.sock"},
    }
    assert documents["KubeletConfiguration"]["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    rendered = render_config(documents)
    kinds = [json.loads(part)["kind"] for part in rendered.split("---\n")]
    assert kinds == ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"ClusterConfiguration": {"controlPlaneEndpoint": "other:6443"}}, "control_plane_endpoint and config"),
        ({"JoinConfiguration": {}}, "unsupported kind 'JoinConfiguration'"),
        ({"ClusterConfiguration": "text"}, "must be a dictionary"),
        ({"ClusterConfiguration": {"networking": "x"}}, "must be a dictionary"),
        (
            {"ClusterConfiguration": {"apiServer": {"extraArgs": [{"name": "a", "value": 1}, {"name": "a"}]}}},
            "repeated",
        ),
        ({"ClusterConfiguration": {"apiServer": {"extraArgs": ["a=b"]}}}, "name, value"),
    ],
)
def test_build_init_documents_rejects(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_init_documents({**INIT_PARAMS, "config": config}, "kubeadm.k8s.io/v1beta3")


def test_config_keeps_own_api_version() -> None:
    documents = build_config_documents(
        {"ClusterConfiguration": {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "x"}},
        INIT_KINDS,
        "kubeadm.k8s.io/v1beta4",
    )
    assert documents["ClusterConfiguration"] == {"apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration"}


HASH = "sha256:a2cfd158e6346f9ca75589ad98e0fcc76d89f03e89b2b5f84e7fe87a4328fdc9"
JOIN_PARAMS = {
    "api_server_endpoint": "k8s-api.example.com:6443",
    "token": "abcdef.0123456789abcdef",
    "discovery_token_ca_cert_hashes": [HASH],
    "control_plane": True,
    "certificate_key": "a" * 64,
    "apiserver_advertise_address": "10.0.0.12",
    "node_name": "cp2",
    "cri_socket": None,
    "ignore_preflight_errors": [],
}


def test_build_join_argv() -> None:
    assert build_join_argv("kubeadm", JOIN_PARAMS) == [
        "kubeadm", "join", "k8s-api.example.com:6443", "--token", "abcdef.0123456789abcdef",
        "--discovery-token-ca-cert-hash", HASH, "--control-plane", "--certificate-key", "a" * 64,
        "--apiserver-advertise-address", "10.0.0.12", "--node-name", "cp2",
    ]  # fmt: skip
    worker = {**JOIN_PARAMS, "control_plane": False, "ignore_preflight_errors": ["Swap"]}
    assert build_join_argv("kubeadm", worker) == [
        "kubeadm", "join", "k8s-api.example.com:6443", "--token", "abcdef.0123456789abcdef",
        "--discovery-token-ca-cert-hash", HASH, "--node-name", "cp2", "--ignore-preflight-errors", "Swap",
    ]  # fmt: skip
    assert build_join_argv("kubeadm", JOIN_PARAMS, "/t/kubeadm-join.yaml") == [
        "kubeadm", "join", "--config", "/t/kubeadm-join.yaml",
    ]  # fmt: skip


def test_build_join_documents() -> None:
    params = {
        **JOIN_PARAMS,
        "config": {"JoinConfiguration": {"nodeRegistration": {"kubeletExtraArgs": {"node-ip": "10.0.0.12"}}}},
    }
    assert build_join_documents(params, "kubeadm.k8s.io/v1beta4") == {
        "JoinConfiguration": {
            "apiVersion": "kubeadm.k8s.io/v1beta4",
            "kind": "JoinConfiguration",
            "nodeRegistration": {"kubeletExtraArgs": [{"name": "node-ip", "value": "10.0.0.12"}], "name": "cp2"},
            "discovery": {
                "bootstrapToken": {
                    "apiServerEndpoint": "k8s-api.example.com:6443",
                    "token": "abcdef.0123456789abcdef",
                    "caCertHashes": [HASH],
                }
            },
            "controlPlane": {"certificateKey": "a" * 64, "localAPIEndpoint": {"advertiseAddress": "10.0.0.12"}},
        }
    }
    worker = {**JOIN_PARAMS, "control_plane": False, "config": {"JoinConfiguration": {"controlPlane": {}}}}
    with pytest.raises(ValueError, match="controlPlane is set but control_plane is false"):
        build_join_documents(worker, "kubeadm.k8s.io/v1beta4")


def test_build_reset_argv() -> None:
    assert build_reset_argv("kubeadm") == ["kubeadm", "reset", "--force"]
    assert build_reset_argv("kubeadm", "unix:///run/crio/crio.sock") == [
        "kubeadm", "reset", "--force", "--cri-socket", "unix:///run/crio/crio.sock",
    ]  # fmt: skip
