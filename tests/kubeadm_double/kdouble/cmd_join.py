"""`kubeadm join`: token discovery with the CA pin, then a worker or a control-plane join
(download-certs, check-etcd, a real etcd member add)."""

from __future__ import annotations

import base64
import os
import time

import yaml

from . import clock, faults, httpc, manifests, pki, preflight, tokens, versions
from .apiclient import Client
from .cli import Fail, FlagSpec, out, parse
from .common import (
    ADMIN_CONF,
    COMMON,
    DEFAULT_CRI,
    KUBE,
    PKI,
    check_certificate_key,
    check_config_mix,
    default_ip,
    endpoint_with_port,
    etcd_endpoints,
    go_transport_error,
    hostname,
    load_config_docs,
    mark_control_plane,
    node_certs,
    split_host,
    start_kubelet,
    validate_token,
    wait_for,
    wait_kubelet,
    write_kubeconfigs,
)
from .etcd import Etcd, EtcdError

JOIN_FLAGS = {
    **COMMON,
    "config": "str",
    "token": "str",
    "discovery-token": "str",
    "tls-bootstrap-token": "str",
    "discovery-token-ca-cert-hash": "multi",
    "discovery-token-unsafe-skip-ca-verification": "bool",
    "control-plane": "bool",
    "certificate-key": "str",
    "apiserver-advertise-address": "str",
    "apiserver-bind-port": "str",
    "node-name": "str",
    "cri-socket": "str",
    "ignore-preflight-errors": "list",
    "skip-phases": "list",
    "dry-run": "bool",
    "discovery-file": "str",
    "patches": "str",
}


# --- join -------------------------------------------------------------------------------------
def discovery_timeout(configured: str | None) -> float:
    """kubeadm waits up to 5m for a usable cluster-info; the double caps that (README: "Timing")."""
    cap = clock.parse_duration(os.environ.get("KUBEADM_DOUBLE_DISCOVERY_TIMEOUT", "20s"))
    return min(clock.parse_duration(configured), cap) if configured else cap


def discover(
    endpoint: str, token: str, pins: list[str], *, unsafe: bool, timeout: float, release
) -> tuple[Client, str]:
    """discovery/token: fetch cluster-info unverified, check the JWS for the token ID, then the CA pin."""
    token_id, token_secret = tokens.TOKEN_RE.match(token).groups()
    url = f"https://{endpoint}/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s"
    insecure = httpc.tls_context(verify=False)
    deadline = time.monotonic() + timeout
    while True:
        try:
            _status, info = httpc.request(insecure, url, timeout=10)
            if f"jws-kubeconfig-{token_id}" in info.get("data", {}):
                break
            last = f'could not find a JWS signature in the cluster-info ConfigMap for token ID "{token_id}"'
        except httpc.HTTPError as err:
            last = f"failed to request the cluster-info ConfigMap: {err.json().get('message', err)}"
        except OSError as exc:
            last = f'failed to request the cluster-info ConfigMap: Get "{url}": {go_transport_error(exc, endpoint)}'
        if time.monotonic() >= deadline:
            raise Fail(release.phase_error("preflight", f"couldn't validate the identity of the API Server: {last}"))
        time.sleep(1)
    payload = info["data"].get("kubeconfig", "")
    if not payload:
        raise Fail(
            release.phase_error(
                "preflight",
                "couldn't validate the identity of the API Server: there is no "
                "kubeconfig key in the cluster-info ConfigMap. This API Server isn't set up "
                "for token bootstrapping, can't connect",
            )
        )
    if not tokens.jws_verify(info["data"][f"jws-kubeconfig-{token_id}"], payload, token_id, token_secret):
        raise Fail(
            release.phase_error(
                "preflight",
                "couldn't validate the identity of the API Server: failed to "
                "verify JWS signature of received cluster info object, can't trust this API "
                "Server",
            )
        )
    cluster = yaml.safe_load(payload)["clusters"][0]["cluster"]
    ca_pem = base64.b64decode(cluster["certificate-authority-data"])
    actual = pki.spki_pin(pki.x509.load_pem_x509_certificate(ca_pem))
    if not unsafe and actual.lower() not in [p.lower() for p in pins]:
        raise Fail(
            release.phase_error(
                "preflight",
                "couldn't validate the identity of the API Server: cluster CA "
                "found in cluster-info ConfigMap is invalid: none of the public keys "
                f'"{actual}" are pinned',
            )
        )
    client = Client(cluster["server"], httpc.tls_context(ca_data=ca_pem), bearer=token)
    client.get("/api/v1/namespaces/kube-public/configmaps/cluster-info", retry_for=30)  # now over verified TLS
    return client, ca_pem.decode()


def validate_pins(pins: list[str], unsafe: bool, release) -> None:
    if not pins and not unsafe:
        raise Fail(
            release.envelope(
                'discovery.bootstrapToken: Invalid value: "": using token-based discovery '
                "without caCertHashes can be unsafe. Set unsafeSkipCAVerification as true in "
                "your kubeadm config file or pass --discovery-token-unsafe-skip-ca-verification "
                "flag to continue"
            )
        )
    for pin in pins:
        kind, _colon, value = pin.partition(":")
        if not value:
            raise Fail(
                release.envelope(
                    f'invalid discovery token CA certificate hash: invalid hash "{pin}", '
                    'expected "format:hex-value". Known format(s) are: sha256'
                )
            )
        if kind != "sha256":
            raise Fail(
                release.envelope(
                    f'invalid discovery token CA certificate hash: unknown hash format "{kind}". '
                    "Known format(s) are: sha256"
                )
            )
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise Fail(
                release.envelope(
                    f'invalid discovery token CA certificate hash: invalid hash "{pin}", '
                    f"expected a 32 byte SHA-256 hash, found {len(raw)} bytes"
                )
            )


def join_settings(values: dict, positional: list[str], release) -> dict:
    s = {
        "endpoint": positional[0] if positional else "",
        "token": values.get("discovery-token") or values.get("token", ""),
        "pins": list(values.get("discovery-token-ca-cert-hash", [])),
        "unsafe": bool(values.get("discovery-token-unsafe-skip-ca-verification")),
        "cp": bool(values.get("control-plane")),
        "key": values.get("certificate-key", ""),
        "node": values.get("node-name", hostname()),
        "ip": values.get("apiserver-advertise-address") or default_ip(),
        "port": int(values.get("apiserver-bind-port", 6443)),
        "cri": values.get("cri-socket", DEFAULT_CRI),
        "ignore": list(values.get("ignore-preflight-errors", [])),
        "timeout": None,
    }
    if "config" in values:
        join = load_config_docs(values["config"], release).get("JoinConfiguration", {})
        disc = join.get("discovery", {})
        bt = disc.get("bootstrapToken", {})
        reg = join.get("nodeRegistration", {})
        s["endpoint"] = bt.get("apiServerEndpoint", "")
        s["token"] = bt.get("token", "") or disc.get("tlsBootstrapToken", "")
        s["pins"] = bt.get("caCertHashes", []) or []
        s["unsafe"] = bool(bt.get("unsafeSkipCAVerification"))
        s["node"] = values.get("node-name") or reg.get("name") or s["node"]
        s["cri"] = reg.get("criSocket", s["cri"])
        s["ignore"] += reg.get("ignorePreflightErrors", []) or []
        s["timeout"] = join.get("timeouts", {}).get("discovery") or disc.get("timeout")
        cp = join.get("controlPlane")
        s["cp"] = cp is not None
        if cp:
            s["key"] = cp.get("certificateKey", "") or ""
            local = cp.get("localAPIEndpoint", {})
            s["ip"] = local.get("advertiseAddress") or s["ip"]
            s["port"] = int(local.get("bindPort", s["port"]))
    if not s["endpoint"]:
        raise Fail(release.envelope('discovery: Invalid value: "": bootstrapToken or file must be set'))
    s["endpoint"] = endpoint_with_port(s["endpoint"])
    validate_token(s["token"], release)
    validate_pins(s["pins"], s["unsafe"], release)
    if s["key"]:
        check_certificate_key(s["key"], release, "control-plane-prepare/download-certs")
    return s


def download_certs(client: Client, key: str, release) -> None:
    out('[download-certs] Downloading the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    phase = "control-plane-prepare/download-certs"
    try:
        secret = client.get("/api/v1/namespaces/kube-system/secrets/kubeadm-certs", retry_for=30)
    except httpc.HTTPError as err:
        if err.status == 404:
            raise Fail(
                release.phase_error(
                    phase,
                    "error downloading certs: error downloading the secret: Secret "
                    '"kubeadm-certs" was not found in the "kube-system" Namespace. This Secret '
                    "might have expired. Please, run `kubeadm init phase upload-certs "
                    "--upload-certs` on a control plane to generate a new one",
                )
            ) from err
        raise Fail(release.phase_error(phase, f"error downloading certs: {err.json().get('message', err)}")) from err
    files = {}
    for name in tokens.CERT_FILES:
        try:
            files[name] = tokens.decrypt(secret["data"][name.replace("/", "-")], key)
        except ValueError as exc:
            raise Fail(
                release.phase_error(
                    phase, f"error downloading certs: error decoding secret data with provided key: {exc}"
                )
            ) from exc
    for name, data in files.items():
        pki.write_file(f"{PKI}/{name}", data, 0o600 if name.endswith(".key") else 0o644)
    out(f'[download-certs] Saving the certificates to the folder: "{PKI}"')


def join_etcd(node: str, ip: str, endpoints: list[str], release) -> None:
    client = Etcd.for_apiserver(endpoints, timeout=10)
    peer = f"https://{ip}:2380"
    try:
        members = client.members()
        if not any(peer in m.get("peerURLs", []) for m in members):
            client.member_add(peer)
        members = client.members()
    except EtcdError as err:
        raise Fail(
            release.phase_error("etcd-join", f"error creating local etcd static pod manifest file: {err}")
        ) from err
    faults.checkpoint("join/etcd-member-added")
    out("[etcd] Announced new etcd member joining to the existing etcd cluster")
    initial = ",".join(f"{m.get('name') or node}={m['peerURLs'][0]}" for m in members)
    os.makedirs("/var/lib/etcd", mode=0o700, exist_ok=True)
    manifests.write(
        "etcd", manifests.etcd(release, node, ip, initial_cluster=initial, existing=True, data_dir="/var/lib/etcd")
    )
    out('[etcd] Creating static Pod manifest for "etcd"')
    out("[etcd] Waiting for the new etcd member to join the cluster. This can take up to 40s")
    local = Etcd.for_healthcheck(["https://127.0.0.1:2379"], timeout=3)

    def healthy() -> bool:
        try:
            local.quorum_check(timeout=3)
        except EtcdError:
            return False
        return True

    if not wait_for(healthy, 40, 1):
        raise Fail(
            release.phase_error(
                "etcd-join",
                "error creating local etcd static pod manifest file: timeout waiting for etcd cluster to be available",
            )
        )


def check_etcd(endpoints: list[str], release) -> None:
    out("[check-etcd] Checking that the etcd cluster is healthy")
    client = Etcd.for_healthcheck(endpoints, timeout=5)
    for endpoint in endpoints:
        try:
            client.status(endpoint, timeout=5)
        except EtcdError as err:
            raise Fail(
                release.phase_error(
                    "check-etcd",
                    f"etcd cluster is not healthy: failed to dial endpoint "
                    f"{endpoint} with maintenance client: context deadline exceeded",
                )
            ) from err


def cmd_join(argv: list[str], release: versions.Release) -> int:
    values, positional, given = parse(argv, FlagSpec(JOIN_FLAGS), release)
    check_config_mix(values, given, release)
    s = join_settings(values, positional, release)
    node, ip = s["node"], s["ip"]
    out("[preflight] Running pre-flight checks")
    preflight.run(preflight.join_checks(s["cp"], release), s["ignore"], release)
    client, ca_pem = discover(
        s["endpoint"],
        s["token"],
        s["pins"],
        unsafe=s["unsafe"],
        timeout=discovery_timeout(s["timeout"]),
        release=release,
    )
    if release.minor >= 31:
        out('[preflight] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...')
        out("[preflight] Use 'kubeadm init phase upload-config --config your-config.yaml' to re-upload it.")
    else:
        out("[preflight] Reading configuration from the cluster...")
        out(
            "[preflight] FYI: You can look at this config file with "
            "'kubectl -n kube-system get cm kubeadm-config -o yaml'"
        )
    try:
        cm = client.get("/api/v1/namespaces/kube-system/configmaps/kubeadm-config", retry_for=30)
    except (httpc.HTTPError, OSError) as err:
        raise Fail(release.phase_error("preflight", f"unable to fetch the kubeadm-config ConfigMap: {err}")) from err
    cluster = yaml.safe_load(cm["data"]["ClusterConfiguration"])
    version = cluster.get("kubernetesVersion", release.version)
    if s["cp"]:
        join_control_plane_prepare(client, cluster, s, version=version, release=release)
    else:
        pki.write_file(f"{PKI}/ca.crt", ca_pem.encode(), 0o644)
    # kubelet-start
    out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
    try:
        existing = client.get(f"/api/v1/nodes/{node}")
    except httpc.HTTPError:
        existing = None
    if existing is not None:
        ready = {c["type"]: c["status"] for c in existing.get("status", {}).get("conditions", [])}.get("Ready")
        if ready == "True":
            raise Fail(
                release.phase_error(
                    "kubelet-start",
                    f'a Node with name "{node}" and status "Ready" already '
                    "exists in the cluster. You must delete the existing Node or change the "
                    "name of this new joining Node",
                )
            )
    # kubeadm join writes the cluster's KubeletConfiguration (the kubelet-config ConfigMap).
    try:
        kubelet_cm = client.get("/api/v1/namespaces/kube-system/configmaps/kubelet-config", retry_for=30)
        kubelet_config = yaml.safe_load(kubelet_cm.get("data", {}).get("kubelet", "")) or {}
    except (httpc.HTTPError, OSError) as err:
        raise Fail(release.phase_error("kubelet-start", f"error downloading kubelet configuration: {err}")) from err
    for line in manifests.kubelet_files(release, node, hostname(), s["cri"], ip, kubelet_config=kubelet_config):
        out(line)
    ca_cert = pki.x509.load_pem_x509_certificate(ca_pem.encode())
    bootstrap = pki.kubeconfig(client.server, ca_cert, "tls-bootstrap-token-user")
    bootstrap["users"][0]["user"] = {"token": s["token"]}
    pki.write_kubeconfig(f"{KUBE}/bootstrap-kubelet.conf", bootstrap)
    start_kubelet()
    wait_kubelet(release, "kubelet-start")
    out("[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap")
    if not wait_for(lambda: os.path.exists(f"{KUBE}/kubelet.conf"), 120):
        raise Fail(
            release.phase_error(
                "kubelet-start",
                "error waiting for the kubelet to perform the TLS bootstrap: timed out waiting for the condition",
            )
        )
    os.remove(f"{KUBE}/bootstrap-kubelet.conf")
    if s["cp"]:
        admin = Client.from_kubeconfig(ADMIN_CONF)
        join_etcd(node, ip, s["etcd_endpoints"], release)
        mark_control_plane(admin, node, release)
        out()
        out("This node has joined the cluster and a new control plane instance was created:")
        out()
        out("* Certificate signing request was sent to apiserver and approval was received.")
        out("* The Kubelet was informed of the new secure connection details.")
        out("* Control plane label and taint were applied to the new node.")
        out("* The Kubernetes control plane instances scaled up.")
        out("* A new etcd member was added to the local/stacked etcd cluster.")
        out()
        out("To start administering your cluster from this node, you need to run the following as a regular user:")
        out()
        out("\tmkdir -p $HOME/.kube")
        out(f"\tsudo cp -i {ADMIN_CONF} $HOME/.kube/config")
        out("\tsudo chown $(id -u):$(id -g) $HOME/.kube/config")
        out()
        out("Run 'kubectl get nodes' to see this node join the cluster.")
        out()
        return 0
    out()
    out("This node has joined the cluster:")
    out("* Certificate signing request was sent to apiserver and a response was received.")
    out("* The Kubelet was informed of the new secure connection details.")
    out()
    out("Run 'kubectl get nodes' on the control-plane to see this node join the cluster.")
    out()
    return 0


def join_control_plane_prepare(client: Client, cluster: dict, s: dict, *, version: str, release) -> None:
    if not cluster.get("controlPlaneEndpoint"):
        raise Fail(
            release.phase_error(
                "preflight",
                "\nOne or more conditions for hosting a new control plane "
                "instance is not satisfied.\n\nunable to add a new control plane instance to a "
                "cluster that doesn't have a stable controlPlaneEndpoint address\n\nPlease "
                "ensure that:\n* The cluster has a stable controlPlaneEndpoint address.\n* The "
                "certificates that must be shared among control plane instances are "
                "provided.\n\n",
            )
        )
    shared = all(os.path.exists(f"{PKI}/{n}") for n in tokens.CERT_FILES)
    if not s["key"] and not shared:
        raise Fail(
            release.phase_error(
                "preflight",
                "\nOne or more conditions for hosting a new control plane "
                "instance is not satisfied.\n\n[failure loading certificate for CA: couldn't "
                "load the certificate file /etc/kubernetes/pki/ca.crt: open "
                "/etc/kubernetes/pki/ca.crt: no such file or directory]\n\nPlease ensure that:\n"
                "* The cluster has a stable controlPlaneEndpoint address.\n* The certificates "
                "that must be shared among control plane instances are provided.\n\n",
            )
        )
    out("[preflight] Running pre-flight checks before initializing the new control plane instance")
    net = cluster.get("networking", {})
    data_dir = cluster.get("etcd", {}).get("local", {}).get("dataDir", "/var/lib/etcd")
    preflight.run(
        preflight.init_checks(s["port"], data_dir, release, s["ip"], secondary_control_plane=True), s["ignore"], release
    )
    out("[preflight] Pulling images required for setting up a Kubernetes cluster")
    out("[preflight] This might take a minute or two, depending on the speed of your internet connection")
    out(release.images_hint())
    if s["key"]:
        download_certs(client, s["key"], release)
    out(f'[certs] Using certificateDir folder "{PKI}"')
    cpe = endpoint_with_port(cluster["controlPlaneEndpoint"])
    node_certs(
        s["node"],
        s["ip"],
        endpoint_host=split_host(cpe),
        service_cidr=net.get("serviceSubnet", "10.96.0.0/12"),
        dns_domain=net.get("dnsDomain", "cluster.local"),
        extra_sans=cluster.get("apiServer", {}).get("certSANs", []) or [],
        release=release,
        shared_exist=True,
    )
    out(f'[certs] Valid certificates and keys now exist in "{PKI}"')
    out('[certs] Using the existing "sa" key')
    out("[kubeconfig] Generating kubeconfig files")
    write_kubeconfigs(
        ["admin.conf", "controller-manager.conf", "scheduler.conf"],
        s["node"],
        f"https://{cpe}",
        f"https://{s['ip']}:{s['port']}",
        release,
    )
    out('[control-plane] Using manifest folder "/etc/kubernetes/manifests"')
    service_cidr = net.get("serviceSubnet", "10.96.0.0/12")
    manifests.write("kube-apiserver", manifests.apiserver(version, s["ip"], s["port"], service_cidr))
    out('[control-plane] Creating static Pod manifest for "kube-apiserver"')
    manifests.write(
        "kube-controller-manager", manifests.controller_manager(version, net.get("podSubnet", ""), service_cidr)
    )
    out('[control-plane] Creating static Pod manifest for "kube-controller-manager"')
    manifests.write("kube-scheduler", manifests.scheduler(version))
    out('[control-plane] Creating static Pod manifest for "kube-scheduler"')
    admin = Client.from_kubeconfig(ADMIN_CONF)
    s["etcd_endpoints"] = etcd_endpoints(admin)
    check_etcd(s["etcd_endpoints"], release)
