"""`kubeadm init`, `kubeadm init phase upload-certs` and `kubeadm certs certificate-key`."""

from __future__ import annotations

import base64
import os
import time

import yaml

from . import httpc, manifests, pki, preflight, tokens, versions
from .apiclient import Client
from .cli import Fail, FlagSpec, go_duration, out, parse
from .common import (
    ADMIN_CONF,
    COMMON,
    DEFAULT_CRI,
    KUBE,
    PKI,
    admin_client,
    api_live,
    bootstrap_token_rbac,
    check_certificate_key,
    check_config_mix,
    check_feature_gates,
    cluster_info_kubeconfig,
    create_token_secret,
    default_ip,
    endpoint_with_port,
    hostname,
    join_command,
    load_config_docs,
    mark_control_plane,
    node_certs,
    split_host,
    start_kubelet,
    upload_certs,
    validate_token,
    version_fallback,
    wait_for,
    wait_kubelet,
    write_kubeconfigs,
)

INIT_FLAGS = {
    **COMMON,
    "config": "str",
    "control-plane-endpoint": "str",
    "upload-certs": "bool",
    "pod-network-cidr": "str",
    "service-cidr": "str",
    "apiserver-advertise-address": "str",
    "apiserver-bind-port": "str",
    "node-name": "str",
    "cri-socket": "str",
    "ignore-preflight-errors": "list",
    "skip-phases": "list",
    "kubernetes-version": "str",
    "token-ttl": "str",
    "token": "str",
    "certificate-key": "str",
    "skip-token-print": "bool",
    "skip-certificate-key-print": "bool",
    "dry-run": "bool",
    "apiserver-cert-extra-sans": "list",
    "service-dns-domain": "str",
    "cert-dir": "str",
    "image-repository": "str",
    "feature-gates": "str",
    "patches": "str",
}


UPLOAD_FLAGS = {
    **COMMON,
    "config": "str",
    "upload-certs": "bool",
    "certificate-key": "str",
    "kubeconfig": "str",
    "skip-certificate-key-print": "bool",
    "kubernetes-version": "str",
    "dry-run": "bool",
}


# --- init -------------------------------------------------------------------------------------
def init_settings(values: dict, release: versions.Release) -> dict:
    s = {
        "node": values.get("node-name", hostname()),
        "ip": values.get("apiserver-advertise-address") or default_ip(),
        "port": int(values.get("apiserver-bind-port", 6443)),
        "cri": values.get("cri-socket", DEFAULT_CRI),
        "cpe": values.get("control-plane-endpoint", ""),
        "pod_cidr": values.get("pod-network-cidr", ""),
        "service_cidr": values.get("service-cidr", "10.96.0.0/12"),
        "version": values.get("kubernetes-version"),
        "token": values.get("token") or "",
        "token_ttl": values.get("token-ttl", "24h0m0s"),
        "key": values.get("certificate-key", ""),
        "skip": list(values.get("skip-phases", [])),
        "ignore": list(values.get("ignore-preflight-errors", [])),
        "sans": list(values.get("apiserver-cert-extra-sans", [])),
        "dns_domain": values.get("service-dns-domain", "cluster.local"),
        "data_dir": "/var/lib/etcd",
        "usages": ["signing", "authentication"],
        "groups": [tokens.DEFAULT_GROUP],
        "kubelet": {},
    }
    if "config" in values:
        docs = load_config_docs(values["config"], release)
        init, cluster = docs.get("InitConfiguration", {}), docs.get("ClusterConfiguration", {})
        reg = init.get("nodeRegistration", {})
        local = init.get("localAPIEndpoint", {})
        s["node"] = values.get("node-name") or reg.get("name") or s["node"]
        s["cri"] = reg.get("criSocket", s["cri"])
        s["ignore"] += reg.get("ignorePreflightErrors", []) or []
        s["ip"] = local.get("advertiseAddress") or s["ip"]
        s["port"] = int(local.get("bindPort", s["port"]))
        s["key"] = init.get("certificateKey", "") or ""
        s["skip"] += init.get("skipPhases", []) or []
        token = (init.get("bootstrapTokens") or [{}])[0]
        s["token"] = token.get("token", "")
        s["token_ttl"] = token.get("ttl", "24h0m0s")
        s["usages"] = token.get("usages", s["usages"])
        s["groups"] = token.get("groups", s["groups"])
        s["cpe"] = cluster.get("controlPlaneEndpoint", "") or ""
        s["version"] = cluster.get("kubernetesVersion")
        net = cluster.get("networking", {})
        s["pod_cidr"] = net.get("podSubnet", "") or ""
        s["service_cidr"] = net.get("serviceSubnet", s["service_cidr"])
        s["dns_domain"] = net.get("dnsDomain", s["dns_domain"])
        s["sans"] = cluster.get("apiServer", {}).get("certSANs", []) or []
        s["data_dir"] = cluster.get("etcd", {}).get("local", {}).get("dataDir", s["data_dir"])
        s["kubelet"] = docs.get("KubeletConfiguration", {})
    if s["token"]:
        validate_token(s["token"], release)
    if s["key"]:
        check_certificate_key(s["key"], release, "upload-certs")
    s["version"] = versions.parse_version(s["version"]) if s["version"] else None
    if s["version"] and int(s["version"].split(".")[1]) < release.minor - 1:
        # kubeadm deploys control planes of its own minor and the one before (MinimumControlPlaneVersion).
        raise Fail(
            release.envelope(
                "this version of kubeadm only supports deploying clusters with the control plane version >= "
                f"1.{release.minor - 1}.0. Current version: {s['version']}"
            )
        )
    return s


def cluster_configuration(s: dict, version: str, release: versions.Release) -> str:
    api = "kubeadm.k8s.io/v1beta4" if release.minor >= 31 else "kubeadm.k8s.io/v1beta3"
    config = {
        "apiServer": {"certSANs": s["sans"]} if s["sans"] else {},
        "apiVersion": api,
        "caCertificateValidityPeriod": "87600h0m0s",
        "certificateValidityPeriod": "8760h0m0s",
        "certificatesDir": PKI,
        "clusterName": "kubernetes",
        "controlPlaneEndpoint": s["cpe"],
        "controllerManager": {},
        "dns": {},
        "encryptionAlgorithm": "RSA-2048",
        "etcd": {"local": {"dataDir": s["data_dir"]}},
        "imageRepository": "registry.k8s.io",
        "kind": "ClusterConfiguration",
        "kubernetesVersion": version,
        "networking": {
            "dnsDomain": s["dns_domain"],
            "serviceSubnet": s["service_cidr"],
            **({"podSubnet": s["pod_cidr"]} if s["pod_cidr"] else {}),
        },
        "proxy": {},
        "scheduler": {},
    }
    if release.minor < 31:
        for key in ("caCertificateValidityPeriod", "certificateValidityPeriod", "encryptionAlgorithm", "proxy"):
            config.pop(key)
    return yaml.safe_dump(config, default_flow_style=False)


def cmd_init(argv: list[str], release: versions.Release) -> int:  # noqa: PLR0912 - init phases in order
    if argv[:2] == ["phase", "upload-certs"]:
        return cmd_upload_certs(argv[2:], release)
    values, positional, given = parse(argv, FlagSpec(INIT_FLAGS), release)
    if positional:
        raise Fail(release.envelope(f'unknown command "{positional[0]}" for "kubeadm init"'))
    check_config_mix(values, given, release)
    if "feature-gates" in values:
        check_feature_gates(values["feature-gates"], release, flag=True)
    s = init_settings(values, release)
    upload = bool(values.get("upload-certs"))
    version = s["version"]
    if version is None:
        version = version_fallback(release)
    node, ip, port = s["node"], s["ip"], s["port"]
    cpe = endpoint_with_port(s["cpe"], port) if s["cpe"] else f"{ip}:{port}"
    out(f"[init] Using Kubernetes version: {version}")
    out("[preflight] Running pre-flight checks")
    preflight.run(preflight.init_checks(port, s["data_dir"], release, ip), s["ignore"], release)
    out("[preflight] Pulling images required for setting up a Kubernetes cluster")
    out("[preflight] This might take a minute or two, depending on the speed of your internet connection")
    out(release.images_hint())

    # certs
    out(f'[certs] Using certificateDir folder "{PKI}"')
    for base, cn in (("ca", "kubernetes"), ("front-proxy-ca", "front-proxy-ca"), ("etcd/ca", "etcd-ca")):
        cert, key = pki.make_ca(cn)
        pki.write_pair(base, cert, key)
    out('[certs] Generating "ca" certificate and key')
    node_certs(
        node,
        ip,
        endpoint_host=split_host(cpe) if s["cpe"] else "",
        service_cidr=s["service_cidr"],
        dns_domain=s["dns_domain"],
        extra_sans=s["sans"],
        release=release,
        shared_exist=False,
    )
    pki.write_sa_keys()
    out('[certs] Generating "sa" key and public key')

    # kubeconfigs, manifests, kubelet
    names = [
        "admin.conf",
        *(["super-admin.conf"] if release.super_admin else []),
        "kubelet.conf",
        "controller-manager.conf",
        "scheduler.conf",
    ]
    write_kubeconfigs(names, node, f"https://{cpe}", f"https://{ip}:{port}", release)
    os.makedirs(s["data_dir"], mode=0o700, exist_ok=True)
    out('[etcd] Creating static Pod manifest for local etcd in "/etc/kubernetes/manifests"')
    manifests.write(
        "etcd",
        manifests.etcd(
            release, node, ip, initial_cluster=f"{node}=https://{ip}:2380", existing=False, data_dir=s["data_dir"]
        ),
    )
    out('[control-plane] Using manifest folder "/etc/kubernetes/manifests"')
    manifests.write("kube-apiserver", manifests.apiserver(version, ip, port, s["service_cidr"]))
    out('[control-plane] Creating static Pod manifest for "kube-apiserver"')
    manifests.write("kube-controller-manager", manifests.controller_manager(version, s["pod_cidr"], s["service_cidr"]))
    out('[control-plane] Creating static Pod manifest for "kube-controller-manager"')
    manifests.write("kube-scheduler", manifests.scheduler(version))
    out('[control-plane] Creating static Pod manifest for "kube-scheduler"')
    out('[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"')
    for line in manifests.kubelet_files(release, node, hostname(), s["cri"], ip, kubelet_config=s["kubelet"]):
        out(line)
    out('[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"')
    start_kubelet()
    wait_control_plane(release, ip, port)

    admin = Client.from_kubeconfig(f"{KUBE}/super-admin.conf" if release.super_admin else ADMIN_CONF)
    out('[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" Namespace')
    admin.apply(
        "/api/v1/namespaces/kube-system/configmaps/kubeadm-config",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": cluster_configuration(s, version, release)},
        },
        retry_for=120,
    )
    out(
        '[kubelet] Creating a ConfigMap "kubelet-config" in namespace kube-system with the configuration for the '
        "kubelets in the cluster"
    )
    with open("/var/lib/kubelet/config.yaml", encoding="utf-8") as handle:
        admin.apply(
            "/api/v1/namespaces/kube-system/configmaps/kubelet-config",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "kubelet-config", "namespace": "kube-system"},
                "data": {"kubelet": handle.read()},
            },
        )
    key = s["key"]
    if "upload-certs" in s["skip"]:
        pass
    elif upload:
        key = key or tokens.new_certificate_key()
        out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
        upload_certs(admin, key)
        if not values.get("skip-certificate-key-print"):
            out("[upload-certs] Using certificate key:")
            out(key)
    else:
        out("[upload-certs] Skipping phase. Please see --upload-certs")
    if "mark-control-plane" not in s["skip"]:
        mark_control_plane(admin, node, release)
    token = s["token"] or tokens.generate()
    shown = "<value withheld>" if values.get("skip-token-print") else token
    out(f"[bootstrap-token] Using token: {shown}")
    out("[bootstrap-token] Configuring bootstrap tokens, cluster-info ConfigMap, RBAC Roles")
    ttl = tokens.parse_ttl(s["token_ttl"])
    create_token_secret(
        admin,
        token,
        ttl if ttl.total_seconds() > 0 else None,
        usages=s["usages"],
        groups=s["groups"],
        description=tokens.DEFAULT_DESCRIPTION,
    )
    bootstrap_token_rbac(release)
    out('[bootstrap-token] Creating the "cluster-info" ConfigMap in the "kube-public" namespace')
    admin.apply(
        "/api/v1/namespaces/kube-public/configmaps/cluster-info",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cluster-info", "namespace": "kube-public"},
            "data": {"kubeconfig": cluster_info_kubeconfig(f"https://{cpe}")},
        },
    )
    kubelet_finalize()
    out(
        '[kubelet-finalize] Updating "/etc/kubernetes/kubelet.conf" to point to a rotatable kubelet client '
        "certificate and key"
    )
    for addon in ("CoreDNS", "kube-proxy"):
        if f"addon/{addon.lower()}" not in s["skip"] and "addon" not in s["skip"]:
            out(f"[addons] Applied essential addon: {addon}")
    if "show-join-command" not in s["skip"]:
        show_join(cpe, shown, key, has_cpe=bool(s["cpe"]), upload=upload, values=values)
    return 0


def wait_control_plane(release: versions.Release, ip: str, port: int) -> None:
    manifests_dir = manifests.MANIFESTS
    start = time.monotonic()
    if release.minor < 30:
        out(
            "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from "
            f'directory "{manifests_dir}". This can take up to 4m0s'
        )
        if not wait_for(lambda: api_live(ip, port), 240):
            raise Fail(release.phase_error("wait-control-plane", "couldn't initialize a Kubernetes cluster"))
        out(f"[apiclient] All control plane components are healthy after {time.monotonic() - start:.6f} seconds")
        return
    out(
        "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods from "
        f'directory "{manifests_dir}"'
    )
    wait_kubelet(release, "wait-control-plane")
    start = time.monotonic()
    if release.minor < 33:
        out("[api-check] Waiting for a healthy API server. This can take up to 4m0s")
        if not wait_for(lambda: api_live(ip, port), 240):
            raise Fail(release.phase_error("wait-control-plane", "could not check API server health"))
        out(f"[api-check] The API server is healthy after {go_duration(time.monotonic() - start)}")
        return
    out("[control-plane-check] Waiting for healthy control plane components. This can take up to 4m0s")
    checks = [
        ("kube-apiserver", f"https://{ip}:{port}/livez"),
        ("kube-controller-manager", "https://127.0.0.1:10257/healthz"),
        ("kube-scheduler", "https://127.0.0.1:10259/livez"),
    ]
    for name, url in checks:
        out(f"[control-plane-check] Checking {name} at {url}")
    if not wait_for(lambda: api_live(ip, port), 240):
        raise Fail(
            release.phase_error(
                "wait-control-plane",
                "failed while waiting for the control plane to start: "
                f"kube-apiserver check failed at https://{ip}:{port}/livez: "
                "context deadline exceeded",
            )
        )
    # The double runs no controller-manager or scheduler; their checks are reported as kubeadm would.
    for name, _url in reversed(checks):
        out(f"[control-plane-check] {name} is healthy after {go_duration(time.monotonic() - start)}")


def kubelet_finalize() -> None:
    """Point kubelet.conf at /var/lib/kubelet/pki/kubelet-client-current.pem, as kubelet-finalize does."""
    path = f"{KUBE}/kubelet.conf"
    config = pki.read_kubeconfig(path)
    user = config["users"][0]["user"]
    if "client-certificate-data" not in user:
        return
    pem = base64.b64decode(user["client-certificate-data"]) + base64.b64decode(user["client-key-data"])
    current = "/var/lib/kubelet/pki/kubelet-client-current.pem"
    pki.write_file(current, pem, 0o600)
    config["users"][0]["user"] = {"client-certificate": current, "client-key": current}
    config["users"][0]["name"] = "default-auth"
    config["contexts"][0]["context"]["user"] = "default-auth"
    pki.write_kubeconfig(path, config)


def show_join(cpe: str, token: str, key: str, *, has_cpe: bool, upload: bool, values: dict) -> None:
    pin = pki.spki_pin(pki.load_cert(f"{PKI}/ca.crt"))
    shown_key = "<value withheld>" if values.get("skip-certificate-key-print") else key
    release = versions.current()
    out()
    out("Your Kubernetes control-plane has initialized successfully!")
    out()
    out("To start using your cluster, you need to run the following as a regular user:")
    out()
    out("  mkdir -p $HOME/.kube")
    out(f"  sudo cp -i {ADMIN_CONF} $HOME/.kube/config")
    out("  sudo chown $(id -u):$(id -g) $HOME/.kube/config")
    out()
    out("Alternatively, if you are the root user, you can run:")
    out()
    out(f"  export KUBECONFIG={ADMIN_CONF}")
    out()
    out("You should now deploy a pod network to the cluster.")
    out('Run "kubectl apply -f [podnetwork].yaml" with one of the options listed at:')
    out("  https://kubernetes.io/docs/concepts/cluster-administration/addons/")
    out()
    if has_cpe:
        if upload:
            out(release.cp_join_sentence())
            out()
            out("  " + join_command(cpe, token, [pin], True, shown_key))
            out()
            out("Please note that the certificate-key gives access to cluster sensitive data, keep it secret!")
            out("As a safeguard, uploaded-certs will be deleted in two hours; If necessary, you can use")
            out('"kubeadm init phase upload-certs --upload-certs" to reload certs afterward.')
            out()
        else:
            out("You can now join any number of control-plane nodes by copying certificate authorities")
            out("and service account keys on each node and then running the following as root:")
            out()
            out("  " + join_command(cpe, token, [pin], True, ""))
            out()
    out("Then you can join any number of worker nodes by running the following on each as root:")
    out()
    out(join_command(cpe, token, [pin], False, ""))


# --- init phase upload-certs / certs certificate-key --------------------------------------
def cmd_upload_certs(argv: list[str], release: versions.Release) -> int:
    values, _positional, given = parse(argv, FlagSpec(UPLOAD_FLAGS), release)
    check_config_mix(values, given, release)
    if not values.get("upload-certs"):
        out("[upload-certs] Skipping phase. Please see --upload-certs")
        return 0
    key = values.get("certificate-key", "")
    if "config" in values:
        key = load_config_docs(values["config"], release).get("InitConfiguration", {}).get("certificateKey", "") or ""
    elif "kubernetes-version" not in values:
        version_fallback(release, line=104)
    if key:
        check_certificate_key(key, release, "upload-certs")
    key = key or tokens.new_certificate_key()
    client = admin_client(values, release)
    out('[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace')
    try:
        upload_certs(client, key)
    except (httpc.HTTPError, OSError) as err:
        raise Fail(release.phase_error("upload-certs", f"error uploading certs: {err}")) from err
    if not values.get("skip-certificate-key-print"):
        out("[upload-certs] Using certificate key:")
        out(key)
    return 0


def cmd_certs(argv: list[str], release: versions.Release) -> int:
    if argv[:1] != ["certificate-key"]:
        raise Fail(release.envelope(f'unknown command "{argv[0] if argv else ""}" for "kubeadm certs"'))
    parse(argv[1:], FlagSpec(dict(COMMON)), release)
    out(tokens.new_certificate_key())
    return 0
