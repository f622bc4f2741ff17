"""The kubelet double: runs the static Pod manifests of /etc/kubernetes/manifests as processes
(etcd -> Debian's real etcd binary with the manifest's arguments, kube-apiserver -> the API
double; any other image is logged and ignored), performs the TLS bootstrap from
bootstrap-kubelet.conf, registers its Node and mirror Pods, and reports the Node Ready only
once a pod network (CNI) has been applied."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from . import clock, httpc, pki, preflight, versions
from .apiclient import Client

MANIFESTS = "/etc/kubernetes/manifests"
KUBELET_CONF = "/etc/kubernetes/kubelet.conf"
BOOTSTRAP_CONF = "/etc/kubernetes/bootstrap-kubelet.conf"
CONFIG = "/var/lib/kubelet/config.yaml"
CLIENT_PEM = "/var/lib/kubelet/pki/kubelet-client-current.pem"
CNI_DIR = "/etc/cni/net.d"
# Objects whose presence in the cluster means "a pod network was applied" (no pods run here).
CNI_DAEMONSETS = ("calico-node", "kube-flannel-ds", "cilium", "weave-net", "kube-router")
HEARTBEAT_SECONDS = 10  # the kubelet's nodeStatusUpdateFrequency
BINARIES = {"etcd": "/usr/bin/etcd", "kube-apiserver": "/usr/local/bin/kube-apiserver"}


def log(message: str) -> None:
    sys.stderr.write(f"kubelet-double: {message}\n")
    sys.stderr.flush()


class StaticPod:
    """One manifest and the process that stands for its single container."""

    def __init__(self, path: str):
        self.path = path
        self.digest = ""
        self.pod: dict = {}
        self.proc: subprocess.Popen | None = None
        self.started = 0.0
        self.ignored_logged = False

    def load(self) -> bool:
        with open(self.path, "rb") as handle:
            raw = handle.read()
        digest = hashlib.sha256(raw).hexdigest()
        changed = digest != self.digest
        self.digest, self.pod = digest, yaml.safe_load(raw) or {}
        return changed

    @property
    def name(self) -> str:
        return self.pod.get("metadata", {}).get("name", os.path.basename(self.path))

    def argv(self) -> tuple[list[str], dict] | None:
        container = (self.pod.get("spec", {}).get("containers") or [{}])[0]
        command = list(container.get("command", [])) + list(container.get("args", []))
        image = container.get("image", "")
        program = command[0] if command else ""
        if program not in BINARIES:
            return None
        env = dict(os.environ)
        tag = image.rsplit(":", 1)[-1] if ":" in image else ""
        if program == "kube-apiserver" and tag.startswith("v"):
            env["KUBEADM_DOUBLE_VERSION"] = tag  # the cluster version kubeadm asked for
        return [BINARIES[program], *command[1:]], env

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def ensure(self) -> None:
        spec = self.argv()
        if spec is None:
            if not self.ignored_logged:
                image = (self.pod.get("spec", {}).get("containers") or [{}])[0].get("image", "?")
                log(f"static pod {self.name} (image {image}) is not run by the kubelet double; ignored")
                self.ignored_logged = True
            return
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.proc is not None:
            log(f"{self.name} exited with {self.proc.returncode}; restarting")
            if time.monotonic() - self.started < 2:
                return  # crude back-off, like a CrashLoopBackOff
        argv, env = spec
        os.makedirs("/var/log/pods", exist_ok=True)
        with open(f"/var/log/pods/{self.name}.log", "ab") as logfile:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=False
            )
        self.started = time.monotonic()
        log(f"started {self.name}: {' '.join(argv[:2])} ... (pid {self.proc.pid})")


class Kubelet:
    def __init__(self, argv: list[str]):
        flags = {}
        for arg in argv:
            if arg.startswith("--") and "=" in arg:
                key, value = arg[2:].split("=", 1)
                flags[key] = value
        self.node = flags.get("hostname-override", socket.gethostname().lower())
        self.node_ip = flags.get("node-ip", "")
        self.config = flags.get("config", CONFIG)
        self.pods: dict[str, StaticPod] = {}
        self.client: Client | None = None
        self.registered = False
        # Mirror Pod name -> digest of the manifest it mirrors: a rewritten manifest updates it.
        self.mirrors: dict[str, str] = {}
        # A running kubelet reports the release it was started as; a package upgrade shows after a restart.
        self.release = versions.current()
        self.last_status = 0.0
        self.ready_reported: bool | None = None
        self.last_heartbeat = 0.0

    # --- static pods ----------------------------------------------------------------------
    def sync_pods(self) -> None:
        present = set()
        if os.path.isdir(MANIFESTS):
            for entry in sorted(os.listdir(MANIFESTS)):
                if entry.startswith(".") or not entry.endswith((".yaml", ".yml", ".json")):
                    continue
                path = os.path.join(MANIFESTS, entry)
                present.add(path)
                pod = self.pods.setdefault(path, StaticPod(path))
                try:
                    if pod.load():
                        pod.stop()
                except (OSError, yaml.YAMLError) as exc:
                    log(f"cannot read {path}: {exc}")
                    continue
                pod.ensure()
        for path in list(self.pods):
            if path not in present:
                self.pods.pop(path).stop()
                log(f"static pod manifest {path} removed; stopped")

    # --- credentials ------------------------------------------------------------------------
    def tls_bootstrap(self) -> None:
        """bootstrap-kubelet.conf -> CSR signed by the cluster -> kubelet.conf (as the real kubelet)."""
        boot = pki.read_kubeconfig(BOOTSTRAP_CONF)
        cluster = boot["clusters"][0]["cluster"]
        token = boot["users"][0]["user"]["token"]
        ca_pem = base64.b64decode(cluster["certificate-authority-data"])
        client = Client(cluster["server"], httpc.tls_context(ca_data=ca_pem), bearer=token)
        key = pki.new_key()
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:nodes"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{self.node}"),
            ]
        )
        csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
        request = base64.b64encode(csr.public_bytes(serialization.Encoding.PEM)).decode()
        obj = client.create(
            "/apis/certificates.k8s.io/v1/certificatesigningrequests",
            {
                "apiVersion": "certificates.k8s.io/v1",
                "kind": "CertificateSigningRequest",
                "metadata": {"generateName": "csr-"},
                "spec": {
                    "request": request,
                    "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                    "usages": ["digital signature", "client auth"],
                },
            },
        )
        name = obj["metadata"]["name"]
        deadline = time.monotonic() + 60
        while not obj.get("status", {}).get("certificate"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"CSR {name} was not signed")
            time.sleep(1)
            obj = client.get(f"/apis/certificates.k8s.io/v1/certificatesigningrequests/{name}")
        cert_pem = base64.b64decode(obj["status"]["certificate"])
        pki.write_file(CLIENT_PEM, cert_pem + pki.key_pem(key), 0o600)
        config = pki.kubeconfig(
            cluster["server"], x509.load_pem_x509_certificate(ca_pem), "default-auth", cert_file=CLIENT_PEM
        )
        pki.write_kubeconfig(KUBELET_CONF, config)
        log(f"TLS bootstrap done with {name}")

    def api(self) -> Client | None:
        if self.client is None:
            if not os.path.exists(KUBELET_CONF) and os.path.exists(BOOTSTRAP_CONF):
                try:
                    self.tls_bootstrap()
                except (OSError, httpc.HTTPError, KeyError, TimeoutError) as exc:
                    log(f"TLS bootstrap failed, retrying: {exc}")
                    return None
            if os.path.exists(KUBELET_CONF):
                self.client = Client.from_kubeconfig(KUBELET_CONF)
        return self.client

    # --- node status --------------------------------------------------------------------------
    def network_ready(self, client: Client) -> bool:
        if os.path.isdir(CNI_DIR) and any(e.endswith((".conf", ".conflist")) for e in os.listdir(CNI_DIR)):
            return True
        daemonsets = client.get("/apis/apps/v1/daemonsets").get("items", [])
        if any(d["metadata"]["name"] in CNI_DAEMONSETS for d in daemonsets):
            return True
        try:
            return bool(client.get("/apis/operator.tigera.io/v1/installations").get("items"))
        except httpc.HTTPError:
            return False

    def node_object(self, ready: bool) -> dict:
        now = clock.rfc3339(datetime.now(timezone.utc))  # heartbeats use real time, never the test offset
        condition = {
            "type": "Ready",
            "status": "True" if ready else "False",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": "kubelet is posting ready status"
            if ready
            else "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network "
            "plugin returns error: cni plugin not initialized",
        }
        release = self.release
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node,
                "labels": {
                    "beta.kubernetes.io/arch": "amd64",
                    "beta.kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "kubernetes.io/hostname": self.node,
                    "kubernetes.io/os": "linux",
                },
                "annotations": {
                    "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///var/run/containerd/containerd.sock",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                },
            },
            "spec": {} if ready else {"taints": [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": self.node_ip},
                    {"type": "Hostname", "address": self.node},
                ],
                "conditions": [condition],
                "nodeInfo": {
                    "kubeletVersion": release.version,
                    "containerRuntimeVersion": "containerd://1.6.20",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "osImage": "Debian GNU/Linux 12",
                },
            },
        }

    def sync_node(self) -> None:
        if time.monotonic() - self.last_status < 3:
            return
        self.last_status = time.monotonic()
        client = self.api()
        if client is None:
            return
        try:
            ready = self.network_ready(client)
            if not self.registered:
                try:
                    client.create("/api/v1/nodes", self.node_object(ready), retry_for=0)
                    log(f"registered node {self.node}")
                except httpc.HTTPError as err:
                    if err.status != 409:
                        raise
                self.registered = True
                self.ready_reported = ready
            heartbeat_due = time.monotonic() - self.last_heartbeat >= HEARTBEAT_SECONDS
            if ready != self.ready_reported or heartbeat_due:
                self.last_heartbeat = time.monotonic()
                node = self.node_object(ready)
                patch = {"status": node["status"]}
                if ready and ready != self.ready_reported:
                    current = client.get(f"/api/v1/nodes/{self.node}")
                    taints = [
                        t
                        for t in current.get("spec", {}).get("taints", []) or []
                        if t.get("key") != "node.kubernetes.io/not-ready"
                    ]
                    client.patch(f"/api/v1/nodes/{self.node}", {"spec": {"taints": taints}}, retry_for=0)
                client.patch(f"/api/v1/nodes/{self.node}/status", patch, retry_for=0)
                if ready != self.ready_reported:
                    log(f"node {self.node} is now {'Ready' if ready else 'NotReady'}")
                self.ready_reported = ready
            self.sync_mirrors(client)
        except (OSError, httpc.HTTPError, KeyError) as exc:
            log(f"node status update failed: {exc}")

    def sync_mirrors(self, client: Client) -> None:
        for pod in self.pods.values():
            if pod.proc is None or pod.proc.poll() is not None:
                continue
            name = f"{pod.name}-{self.node}"
            if self.mirrors.get(name) == pod.digest:
                continue
            mirror = {k: v for k, v in pod.pod.items() if k != "status"}
            mirror["metadata"] = dict(pod.pod.get("metadata", {}), name=name, namespace="kube-system")
            mirror["metadata"].setdefault("annotations", {})["kubernetes.io/config.mirror"] = pod.digest[:32]
            mirror["spec"] = dict(pod.pod.get("spec", {}), nodeName=self.node)
            mirror["status"] = {"phase": "Running", "hostIP": self.node_ip, "podIP": self.node_ip}
            try:
                client.create("/api/v1/namespaces/kube-system/pods", mirror, retry_for=0)
            except httpc.HTTPError as err:
                if err.status != 409:
                    raise
                client.call("PUT", f"/api/v1/namespaces/kube-system/pods/{name}", mirror)
            self.mirrors[name] = pod.digest

    def run(self) -> int:
        if not os.path.exists(self.config):
            path = self.config
            log(f"failed to load kubelet config file, path: {path}, error: open {path}: no such file or directory")
            return 1
        refusal = cgroup_v1_refusal(self.config, versions.current())
        if refusal:
            sys.stderr.write(refusal + "\n")
            sys.stderr.flush()
            return 1
        if not self.node_ip:
            self.node_ip = subprocess.run(
                ["hostname", "-i"], capture_output=True, text=True, check=False
            ).stdout.split()[0]
        serve_health()
        stop = threading.Event()

        def terminate(_signum, _frame):
            stop.set()

        signal.signal(signal.SIGTERM, terminate)
        signal.signal(signal.SIGINT, terminate)
        while not stop.is_set():
            self.sync_pods()
            self.sync_node()
            stop.wait(1)
        for pod in self.pods.values():
            pod.stop()
        return 0


class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok"
        self.send_response(200 if self.path.startswith("/healthz") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def cgroup_v1_refusal(path: str, release: versions.Release) -> str | None:
    """The kubelet's refusal of a cgroup v1 host: failCgroupV1 defaults to true from 1.35."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    if not config.get("failCgroupV1", release.minor >= 35) or not preflight.cgroup_v1():
        return None
    state = "unsupported" if release.minor >= 35 else "in maintenance mode"
    stamp = datetime.now().strftime("%m%d %H:%M:%S.%f")
    return (
        f'E{stamp} {os.getpid():>7} run.go:72] "command failed" err="failed to validate kubelet configuration, '
        "error: kubelet is configured to not run on a host using cgroup v1. cgroup v1 support is "
        f'{state} and will be removed in a future release, path: &TypeMeta{{Kind:,APIVersion:,}}"'
    )


def serve_health() -> None:
    """127.0.0.1:10248/healthz as the kubelet serves it, and port 10250 held like the kubelet's API."""
    health = HTTPServer(("127.0.0.1", 10248), Health)
    threading.Thread(target=health.serve_forever, daemon=True).start()
    api = HTTPServer(("0.0.0.0", 10250), Health)  # noqa: S104 - the kubelet API listens on all addresses
    threading.Thread(target=api.serve_forever, daemon=True).start()


def main(argv: list[str]) -> int:
    # Like the real kubelet: `kubelet --version` prints "Kubernetes vX.Y.Z" and exits.
    if "--version" in argv or "--version=true" in argv:
        print(f"Kubernetes {versions.current().version}")
        return 0
    return Kubelet(argv).run()
