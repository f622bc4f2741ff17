"""What the kubeadm double's commands share: constants, node facts, flag and config checks,
certificates and kubeconfigs, the kubelet, and the cluster objects kubeadm writes."""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import socket
import subprocess
import time
from datetime import timedelta

import yaml

from . import clock, httpc, pki, tokens, versions
from .apiclient import Client
from .cli import Fail, go_duration, klog, out
from .etcd import Etcd, EtcdError

KUBE = "/etc/kubernetes"


PKI = pki.PKI_DIR


ADMIN_CONF = f"{KUBE}/admin.conf"


DEFAULT_CRI = "unix:///var/run/containerd/containerd.sock"


CONFIG_ALLOWED = {
    "config",
    "ignore-preflight-errors",
    "dry-run",
    "kubeconfig",
    "node-name",
    "kubeconfig-dir",
    "upload-certs",
    "print-join-command",
    "rootfs",
    "v",
    "log-file",
}


COMMON = {"v": "str", "rootfs": "str", "log-file": "str"}


# --- helpers --------------------------------------------------------------------------------
def hostname() -> str:
    return socket.gethostname().lower()


def default_ip() -> str:
    """The first global IPv4 address: what kubeadm picks from the default-route interface."""
    result = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True, check=False
    )
    for line in result.stdout.splitlines():
        return line.split()[3].split("/")[0]
    return "127.0.0.1"


def endpoint_with_port(endpoint: str, port: int = 6443) -> str:
    host = endpoint
    if host.startswith("["):
        return host if "]:" in host else f"{host}:{port}"
    return host if ":" in host else f"{host}:{port}"


def split_host(endpoint: str) -> str:
    return endpoint.rsplit(":", 1)[0].strip("[]")


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def go_transport_error(exc: BaseException, host_port: str) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {host_port}: connect: connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    if isinstance(exc, OSError) and exc.errno in (113, 101):
        return f"dial tcp {host_port}: connect: no route to host"
    if isinstance(exc, ConnectionResetError):
        return f"read tcp {host_port}: read: connection reset by peer"
    return "EOF"


def systemctl(*args: str) -> None:
    subprocess.run(["systemctl", *args], check=False, capture_output=True)


def wait_for(predicate, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def kubelet_healthy() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 10248), timeout=1) as sock:
            sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            return b"200" in sock.recv(64)
    except OSError:
        return False


def api_live(address: str, port: int) -> bool:
    ctx = httpc.tls_context(ca_file=f"{PKI}/ca.crt")
    try:
        httpc.request(ctx, f"https://{address}:{port}/livez", timeout=2)
    except (httpc.HTTPError, OSError):
        return False
    return True


def join_command(endpoint: str, token: str, hashes: list[str], control_plane: bool, key: str) -> str:
    """cmd/kubeadm/app/cmd/util/join.go's template: TAB continuations, a space before each `\\`."""
    text = f"kubeadm join {endpoint} --token {token} \\\n\t"
    text += "".join(f"--discovery-token-ca-cert-hash {h} " for h in hashes)
    if control_plane:
        text += "\\\n\t--control-plane " + (f"--certificate-key {key}" if key else "")
    return text


def load_config_docs(path: str, release: versions.Release) -> dict[str, dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
    except OSError as exc:
        raise Fail(release.envelope(f"unable to read config from {path!r} : {exc}")) from exc
    found: dict[str, dict] = {}
    supported = release.config_api_versions()
    for doc in docs:
        kind, api = doc.get("kind", ""), doc.get("apiVersion", "")
        last = release.config_api_removed(api)
        if last:
            raise Fail(
                release.envelope(
                    f'your configuration file uses an old API spec: "{api}" (kind: "{kind}"). '
                    f"Please use kubeadm {last} instead and run {versions.MIGRATE_HINT}"
                )
            )
        if api in supported and release.config_api_deprecated(api):
            klog(
                "W",
                "common.go:101",
                f'your configuration file uses a deprecated API spec: "{api}". Please use {versions.MIGRATE_HINT}',
            )
        if kind == "ClusterConfiguration":
            check_feature_gates(doc.get("featureGates") or {}, release, flag=False)
        if api.startswith("kubeadm.k8s.io/") and api not in supported:
            raise Fail(
                release.envelope(
                    f'no kind "{kind}" is registered for version "{api}" in scheme '
                    '"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme/scheme.go:31"'
                )
            )
        found[kind] = doc
    return found


def version_fallback(release: versions.Release, line: int = 109) -> str:
    """No --kubernetes-version: kubeadm asks dl.k8s.io (the double never does) and falls back."""
    klog(
        "W",
        f"version.go:{line}",
        "could not fetch a Kubernetes version from the internet: unable to get URL "
        '"https://dl.k8s.io/release/stable-1.txt": the kubeadm test double never fetches it',
    )
    klog("W", f"version.go:{line + 1}", f"falling back to the local client version: {release.version}")
    return release.version


def check_feature_gates(gates: dict | str, release: versions.Release, *, flag: bool) -> None:
    """kubeadm fails on a feature gate it does not know (removed ones included)."""
    if isinstance(gates, str):
        gates = dict(item.partition("=")[::2] for item in gates.split(",") if item)
    for name in gates:
        if release.feature_gate_known(name):
            continue
        if flag:
            raise Fail(release.envelope(f"unrecognized feature-gate key: {name}"))
        value = ", ".join(f'"{k}":{str(v).lower()}' for k, v in gates.items())
        raise Fail(
            release.envelope(
                f"featureGates: Invalid value: map[string]bool{{{value}}}: {name} is not a valid feature name. "
                f"Valid features are: [{' '.join(release.known_feature_gates())}]"
            )
        )


def check_config_mix(values: dict, given: list[str], release: versions.Release) -> None:
    if "config" not in values:
        return
    bad = sorted(n for n in given if n not in CONFIG_ALLOWED and not n.startswith("skip-"))
    if bad:
        raise Fail(release.envelope(f"can not mix '--config' with arguments [{' '.join(bad)}]"))


def check_certificate_key(key: str, release: versions.Release, phase: str) -> None:
    try:
        raw = bytes.fromhex(key)
    except ValueError as exc:
        raise Fail(release.phase_error(phase, f"error decoding certificate key: encoding/hex: {exc}")) from exc
    if len(raw) != 32:
        raise Fail(
            release.phase_error(phase, f"error decoding certificate key: crypto/aes: invalid key size {len(raw)}")
        )
    tokens.record("certificate-keys", key)


def validate_token(token: str, release: versions.Release) -> None:
    if not tokens.TOKEN_RE.match(token):
        raise Fail(release.envelope(f'the bootstrap token "{token}" was not of the form "{tokens.TOKEN_PATTERN}"'))
    tokens.record("tokens", token)


# --- node certificates shared by init and control-plane join ----------------------------
def node_certs(
    node: str,
    ip: str,
    *,
    endpoint_host: str,
    service_cidr: str,
    dns_domain: str,
    extra_sans: list[str],
    release: versions.Release,
    shared_exist: bool,
) -> None:
    ca_cert, ca_key = pki.load_pair("ca")
    svc_ip = str(next(ipaddress.ip_network(service_cidr, strict=False).hosts()))
    dns = {node, "kubernetes", "kubernetes.default", "kubernetes.default.svc", f"kubernetes.default.svc.{dns_domain}"}
    ips = [svc_ip, ip]
    for san in [endpoint_host, *extra_sans]:
        if not san:
            continue
        if is_ip(san):
            if san not in ips:
                ips.append(san)
        else:
            dns.add(san)
    etcd_ca, etcd_ca_key = pki.load_pair("etcd/ca")
    etcd_names, etcd_ips = sorted({node, "localhost"}), [ip, "127.0.0.1", "::1"]

    def etcd_pair(name):
        cert, key = pki.issue(
            etcd_ca, etcd_ca_key, node, server=True, client=True, dns=tuple(etcd_names), ips=tuple(etcd_ips)
        )
        pki.write_pair(f"etcd/{name}", cert, key)
        out(f'[certs] Generating "etcd/{name}" certificate and key')
        out(
            f"[certs] etcd/{name} serving cert is signed for DNS names [{' '.join(etcd_names)}] "
            f"and IPs [{' '.join(etcd_ips)}]"
        )

    def apiserver():
        cert, key = pki.issue(ca_cert, ca_key, "kube-apiserver", server=True, dns=tuple(sorted(dns)), ips=tuple(ips))
        pki.write_pair("apiserver", cert, key)
        out('[certs] Generating "apiserver" certificate and key')
        out(
            f"[certs] apiserver serving cert is signed for DNS names [{' '.join(sorted(dns))}] "
            f"and IPs [{' '.join(ips)}]"
        )

    def client(base, name, issuer, orgs=()):
        cert, key = pki.issue(issuer[0], issuer[1], name, orgs, client=True)
        pki.write_pair(base, cert, key)
        out(f'[certs] Generating "{base}" certificate and key')

    front = pki.load_pair("front-proxy-ca")
    if shared_exist:  # control-plane join order (F04)
        etcd_pair("server")
        etcd_pair("peer")
        client("apiserver-etcd-client", "kube-apiserver-etcd-client", (etcd_ca, etcd_ca_key))
        client("etcd/healthcheck-client", "kube-etcd-healthcheck-client", (etcd_ca, etcd_ca_key))
        apiserver()
        client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", (ca_cert, ca_key), (release.admin_group,))
        client("front-proxy-client", "front-proxy-client", front)
        return
    apiserver()
    client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", (ca_cert, ca_key), (release.admin_group,))
    out('[certs] Generating "front-proxy-ca" certificate and key')
    client("front-proxy-client", "front-proxy-client", front)
    out('[certs] Generating "etcd/ca" certificate and key')
    etcd_pair("server")
    etcd_pair("peer")
    client("etcd/healthcheck-client", "kube-etcd-healthcheck-client", (etcd_ca, etcd_ca_key))
    client("apiserver-etcd-client", "kube-apiserver-etcd-client", (etcd_ca, etcd_ca_key))


def write_kubeconfigs(
    names: list[str], node: str, cpe_server: str, local_server: str, release: versions.Release
) -> None:
    ca_cert, ca_key = pki.load_pair("ca")
    users = {
        "admin.conf": ("kubernetes-admin", (release.admin_group,), cpe_server),
        "super-admin.conf": ("kubernetes-super-admin", ("system:masters",), cpe_server),
        "kubelet.conf": (f"system:node:{node}", ("system:nodes",), cpe_server),
        "controller-manager.conf": ("system:kube-controller-manager", (), local_server),
        "scheduler.conf": ("system:kube-scheduler", (), local_server),
    }
    out(f'[kubeconfig] Using kubeconfig folder "{KUBE}"')
    for name in names:
        user, orgs, server = users[name]
        cert, key = pki.issue(ca_cert, ca_key, user, orgs, client=True)
        pki.write_kubeconfig(f"{KUBE}/{name}", pki.kubeconfig(server, ca_cert, user, cert=cert, key=key))
        out(f'[kubeconfig] Writing "{name}" kubeconfig file')


def start_kubelet() -> None:
    out("[kubelet-start] Starting the kubelet")
    systemctl("daemon-reload")
    systemctl("restart", "kubelet")


def kubelet_timeout() -> float:
    """kubeadm waits 4 min for the kubelet; $KUBEADM_DOUBLE_KUBELET_TIMEOUT caps that for tests."""
    cap = os.environ.get("KUBEADM_DOUBLE_KUBELET_TIMEOUT")
    return min(240.0, clock.parse_duration(cap)) if cap else 240.0


def wait_kubelet(release: versions.Release, phase: str) -> None:
    out("[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can take up to 4m0s")
    start = time.monotonic()
    if not wait_for(kubelet_healthy, kubelet_timeout()):
        raise Fail(
            release.phase_error(
                phase,
                "failed while waiting for the kubelet to start: The HTTP call equal to "
                "'curl -sSL http://127.0.0.1:10248/healthz' returned error: "
                'Get "http://127.0.0.1:10248/healthz": context deadline exceeded',
            )
        )
    out(f"[kubelet-check] The kubelet is healthy after {go_duration(time.monotonic() - start)}")


def wait_node(client: Client, node: str, timeout: float = 120) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return client.get(f"/api/v1/nodes/{node}")
        except (httpc.HTTPError, OSError):
            time.sleep(1)
    return None


def mark_control_plane(client: Client, node: str, release: versions.Release) -> None:
    out(
        f"[mark-control-plane] Marking the node {node} as control-plane by adding the labels: "
        "[node-role.kubernetes.io/control-plane node.kubernetes.io/exclude-from-external-load-balancers]"
    )
    out(
        f"[mark-control-plane] Marking the node {node} as control-plane by adding the taints "
        "[node-role.kubernetes.io/control-plane:NoSchedule]"
    )
    if wait_node(client, node) is None:
        raise Fail(release.phase_error("mark-control-plane", f'nodes "{node}" not found'))
    client.patch(
        f"/api/v1/nodes/{node}",
        {
            "metadata": {
                "labels": {
                    "node-role.kubernetes.io/control-plane": "",
                    "node.kubernetes.io/exclude-from-external-load-balancers": "",
                }
            },
            "spec": {"taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
        },
        retry_for=60,
    )


def bootstrap_token_rbac(release: versions.Release) -> None:
    """The [bootstrap-token] RBAC lines of init and upgrade apply."""
    for line in ("to get nodes", "to post CSRs in order for nodes to get long term certificate credentials"):
        out(f"[bootstrap-token] Configured RBAC rules to allow Node Bootstrap tokens {line}")
    out(
        "[bootstrap-token] Configured RBAC rules to allow the csrapprover controller automatically approve CSRs "
        "from a Node Bootstrap Token"
    )
    out(
        "[bootstrap-token] Configured RBAC rules to allow certificate rotation for all node client certificates "
        "in the cluster"
    )
    if release.minor >= 36:
        out(
            "[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access "
            "the kubelet API"
        )


def create_token_secret(client: Client, token: str, ttl: timedelta | None, *, usages, groups, description="") -> None:
    secret = tokens.secret_object(token, ttl, usages, groups, description)
    name = secret["metadata"]["name"]
    try:
        client.create("/api/v1/namespaces/kube-system/secrets", secret)
    except httpc.HTTPError as err:
        if err.status != 409:
            raise
        client.call("PUT", f"/api/v1/namespaces/kube-system/secrets/{name}", secret, retry_for=30)


def upload_certs(client: Client, key: str) -> None:
    """copycerts.UploadCerts: a 2h proxy token owns the encrypted kubeadm-certs Secret."""
    proxy = tokens.generate()
    create_token_secret(client, proxy, tokens.CERT_KEY_TTL, usages=[], groups=[], description=tokens.PROXY_DESCRIPTION)
    owner = client.get(
        f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{proxy.split('.', maxsplit=1)[0]}", retry_for=30
    )
    data = {}
    for name in tokens.CERT_FILES:
        with open(f"{PKI}/{name}", "rb") as handle:
            data[name.replace("/", "-")] = tokens.encrypt(handle.read(), key)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "data": data,
        "metadata": {
            "name": "kubeadm-certs",
            "namespace": "kube-system",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
    }
    with contextlib.suppress(httpc.HTTPError):  # a new upload replaces the old Secret
        client.delete("/api/v1/namespaces/kube-system/secrets/kubeadm-certs")
    client.create("/api/v1/namespaces/kube-system/secrets", secret)


def cluster_info_kubeconfig(server: str) -> str:
    ca = open(f"{PKI}/ca.crt", "rb").read()  # noqa: SIM115 - read once
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "clusters": [
                {"cluster": {"certificate-authority-data": base64.b64encode(ca).decode(), "server": server}, "name": ""}
            ],
            "contexts": None,
            "current-context": "",
            "kind": "Config",
            "preferences": {},
            "users": None,
        },
        default_flow_style=False,
    )


def etcd_endpoints(admin: Client) -> list[str]:
    pods = admin.get(
        "/api/v1/namespaces/kube-system/pods?labelSelector=component%3Detcd%2Ctier%3Dcontrol-plane", retry_for=60
    )
    urls = [
        p["metadata"].get("annotations", {}).get("kubeadm.kubernetes.io/etcd.advertise-client-urls", "")
        for p in pods.get("items", [])
    ]
    urls = [u for u in urls if u]
    # Like etcdutil.NewFromCluster + Sync: the member list, not the (possibly stale) pods, is the truth.
    try:
        members = Etcd.for_healthcheck(urls, timeout=5).members()
    except EtcdError:
        return urls
    synced = [m["clientURLs"][0] for m in members if m.get("clientURLs")]
    return synced or urls


# --- token ----------------------------------------------------------------------------------
def admin_client(values: dict, release) -> Client:
    path = values.get("kubeconfig", ADMIN_CONF)
    if not os.path.exists(path):
        raise Fail(release.envelope(f"failed to load admin kubeconfig: open {path}: no such file or directory"))
    return Client.from_kubeconfig(path)


def api_failure(err: Exception, release, what: str) -> Fail:
    if isinstance(err, httpc.HTTPError):
        return Fail(release.envelope(f"{what}: {err.json().get('message', err)}"))
    return Fail(release.envelope(f"{what}: {err}"))
