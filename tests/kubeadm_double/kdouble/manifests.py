"""Static Pod manifests and kubelet files with kubeadm's names, arguments and layout."""

from __future__ import annotations

import os

import yaml

from . import pki
from .versions import Release

MANIFESTS = "/etc/kubernetes/manifests"
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")


def _pod(name: str, image: str, command: list[str], annotations: dict, volumes: dict[str, str]) -> dict:
    mounts = [{"mountPath": path, "name": vol} for vol, path in volumes.items()]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": annotations,
            "labels": {"component": name, "tier": "control-plane"},
            "name": name,
            "namespace": "kube-system",
        },
        "spec": {
            "containers": [
                {
                    "command": command,
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "name": name,
                    "resources": {"requests": {"cpu": "250m" if name == "kube-apiserver" else "100m"}},
                    "volumeMounts": mounts,
                }
            ],
            "hostNetwork": True,
            "priority": 2000001000,
            "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "volumes": [
                {"hostPath": {"path": path, "type": "DirectoryOrCreate"}, "name": vol} for vol, path in volumes.items()
            ],
        },
        "status": {},
    }


def write(name: str, pod: dict) -> None:
    os.makedirs(MANIFESTS, exist_ok=True)
    pki.write_file(f"{MANIFESTS}/{name}.yaml", yaml.safe_dump(pod, default_flow_style=False).encode(), 0o600)


def etcd(release: Release, node: str, ip: str, *, initial_cluster: str, existing: bool, data_dir: str) -> dict:
    command = [
        "etcd",
        f"--advertise-client-urls=https://{ip}:2379",
        "--cert-file=/etc/kubernetes/pki/etcd/server.crt",
        "--client-cert-auth=true",
        f"--data-dir={data_dir}",
        "--experimental-initial-corrupt-check=true",
        "--experimental-watch-progress-notify-interval=5s",
        f"--initial-advertise-peer-urls=https://{ip}:2380",
        f"--initial-cluster={initial_cluster}",
        *(["--initial-cluster-state=existing"] if existing else []),
        "--key-file=/etc/kubernetes/pki/etcd/server.key",
        f"--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379",
        "--listen-metrics-urls=http://127.0.0.1:2381",
        f"--listen-peer-urls=https://{ip}:2380",
        f"--name={node}",
        "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
        "--peer-client-cert-auth=true",
        "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
        "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
        "--snapshot-count=10000",
        "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
    ]
    return _pod(
        "etcd",
        f"registry.k8s.io/etcd:{release.etcd_image()}",
        command,
        {"kubeadm.kubernetes.io/etcd.advertise-client-urls": f"https://{ip}:2379"},
        {"etcd-certs": "/etc/kubernetes/pki/etcd", "etcd-data": data_dir},
    )


def apiserver(version: str, ip: str, port: int, service_cidr: str) -> dict:
    pki_dir = "/etc/kubernetes/pki"
    command = [
        "kube-apiserver",
        f"--advertise-address={ip}",
        "--allow-privileged=true",
        "--authorization-mode=Node,RBAC",
        f"--client-ca-file={pki_dir}/ca.crt",
        "--enable-admission-plugins=NodeRestriction",
        "--enable-bootstrap-token-auth=true",
        f"--etcd-cafile={pki_dir}/etcd/ca.crt",
        f"--etcd-certfile={pki_dir}/apiserver-etcd-client.crt",
        f"--etcd-keyfile={pki_dir}/apiserver-etcd-client.key",
        "--etcd-servers=https://127.0.0.1:2379",
        f"--kubelet-client-certificate={pki_dir}/apiserver-kubelet-client.crt",
        f"--kubelet-client-key={pki_dir}/apiserver-kubelet-client.key",
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
        f"--proxy-client-cert-file={pki_dir}/front-proxy-client.crt",
        f"--proxy-client-key-file={pki_dir}/front-proxy-client.key",
        f"--requestheader-client-ca-file={pki_dir}/front-proxy-ca.crt",
        f"--secure-port={port}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki_dir}/sa.pub",
        f"--service-account-signing-key-file={pki_dir}/sa.key",
        f"--service-cluster-ip-range={service_cidr}",
        f"--tls-cert-file={pki_dir}/apiserver.crt",
        f"--tls-private-key-file={pki_dir}/apiserver.key",
    ]
    return _pod(
        "kube-apiserver",
        f"registry.k8s.io/kube-apiserver:{version}",
        command,
        {"kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": f"{ip}:{port}"},
        {"ca-certs": "/etc/ssl/certs", "k8s-certs": pki_dir},
    )


def controller_manager(version: str, pod_cidr: str, service_cidr: str) -> dict:
    command = [
        "kube-controller-manager",
        "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--bind-address=127.0.0.1",
        "--client-ca-file=/etc/kubernetes/pki/ca.crt",
        *([f"--cluster-cidr={pod_cidr}", "--allocate-node-cidrs=true"] if pod_cidr else []),
        "--cluster-name=kubernetes",
        "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt",
        "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
        "--controllers=*,bootstrapsigner,tokencleaner",
        "--kubeconfig=/etc/kubernetes/controller-manager.conf",
        "--leader-elect=true",
        "--root-ca-file=/etc/kubernetes/pki/ca.crt",
        "--service-account-private-key-file=/etc/kubernetes/pki/sa.key",
        f"--service-cluster-ip-range={service_cidr}",
        "--use-service-account-credentials=true",
    ]
    return _pod(
        "kube-controller-manager",
        f"registry.k8s.io/kube-controller-manager:{version}",
        command,
        {},
        {"k8s-certs": "/etc/kubernetes/pki", "kubeconfig": "/etc/kubernetes/controller-manager.conf"},
    )


def scheduler(version: str) -> dict:
    command = [
        "kube-scheduler",
        "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
        "--bind-address=127.0.0.1",
        "--kubeconfig=/etc/kubernetes/scheduler.conf",
        "--leader-elect=true",
    ]
    return _pod(
        "kube-scheduler",
        f"registry.k8s.io/kube-scheduler:{version}",
        command,
        {},
        {"kubeconfig": "/etc/kubernetes/scheduler.conf"},
    )


def kubelet_files(
    release: Release, node: str, default_node: str, cri_socket: str, ip: str, *, kubelet_config: dict | None = None
) -> list[str]:
    """Writes /var/lib/kubelet/{config.yaml,kubeadm-flags.env[,instance-config.yaml]}; returns the lines to print.
    kubelet_config: the KubeletConfiguration given to init (or the cluster's kubelet-config on a join),
    laid over kubeadm's defaults."""
    os.makedirs("/var/lib/kubelet", exist_ok=True)
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": "/etc/kubernetes/pki/ca.crt"},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "systemd",
        "clusterDNS": ["10.96.0.10"],
        "clusterDomain": "cluster.local",
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "rotateCertificates": True,
        "staticPodPath": MANIFESTS,
    }
    config.update({k: v for k, v in (kubelet_config or {}).items() if k not in ("apiVersion", "kind")})
    # From 1.34 (NodeLocalCRISocket) the CRI socket lives in instance-config.yaml, not in the flags.
    flags = [] if release.minor >= 34 else [f"--container-runtime-endpoint={cri_socket}"]
    if release.minor < 34:
        flags.append(f"--pod-infra-container-image=registry.k8s.io/pause:{release.images()[1]}")
    if node != default_node:
        flags.append(f"--hostname-override={node}")
    flags.append(f"--node-ip={ip}")
    lines = []
    env = f'KUBELET_KUBEADM_ARGS="{" ".join(flags)}"\n'.encode()
    if release.minor >= 34:
        pki.write_file(
            "/var/lib/kubelet/instance-config.yaml",
            yaml.safe_dump(
                {
                    "apiVersion": "kubelet.config.k8s.io/v1beta1",
                    "kind": "KubeletConfiguration",
                    "containerRuntimeEndpoint": cri_socket,
                }
            ).encode(),
            0o644,
        )
        lines.append('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/instance-config.yaml"')
        lines.append(
            '[patches] Applied patch of type "application/strategic-merge-patch+json" to target "kubeletconfiguration"'
        )
    pki.write_file("/var/lib/kubelet/config.yaml", yaml.safe_dump(config, default_flow_style=False).encode(), 0o644)
    pki.write_file("/var/lib/kubelet/kubeadm-flags.env", env, 0o644)
    return lines
