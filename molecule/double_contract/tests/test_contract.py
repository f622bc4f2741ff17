"""Contract tests of the kubeadm test double, observed the way a kubeadm user observes kubeadm:
exit codes, stdout/stderr, files and modes, etcd membership (etcdctl), the API through the load
balancer with real TLS (kubectl, /readyz). The tests run in file order and build on each other:
init, failed joins, joins, kubectl, quorum, reset, expiry (test clock), re-join, re-init, and
the texts that differ between the current minors (1.35, 1.36, 1.37), checked against the texts
recorded in FACTS-2.md part A.

The cluster runs the double's default release (1.37.1). These machines boot cgroup v1, so every
init and join opts in to the deprecated cgroup v1 mode as the collection does
(failCgroupV1: false, SystemVerification ignored); the checks of that mode follow the node's
real cgroup version.

These are results about the double's fidelity to kubeadm's contract (FACTS.md, FACTS-2.md), not
about a Kubernetes cluster.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import shlex
import shutil
import ssl
import subprocess
import time
from pathlib import Path

import helpers
import pytest
import testinfra
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm import parse_init_output
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_upgrade import parse_plan
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

LB, CP1, CP2, CP3, W1 = "dblc-lb", "dblc-cp1", "dblc-cp2", "dblc-cp3", "dblc-w1"
LB_IP = "172.28.44.10"
ENDPOINT = f"{LB_IP}:6443"
STACK_HINT = "To see the stack trace of this error execute with --v=5 or higher"
FILES = Path(__file__).resolve().parent.parent / "files"
ETCDCTL = (
    "ETCDCTL_API=3 etcdctl --endpoints https://127.0.0.1:2379 --cacert /etc/kubernetes/pki/etcd/ca.crt "
    "--cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key"
)
STATE: dict = {}
VERSION = "v1.37.1"  # molecule.yml pins the double's default
# One release of each current minor (newest patches seen in real captures).
RELEASES = {35: "v1.35.8", 36: "v1.36.5", 37: "v1.37.1"}
OPT_IN = " --ignore-preflight-errors=SystemVerification"
# Recorded texts (FACTS-2.md part A).
CGROUP_V1_TEXT = (
    "cgroups v1 support is deprecated and will be removed in a future release. Please migrate to cgroups v2. "
    "To explicitly enable cgroups v1 support for kubelet v1.35 or newer, you must set the kubelet configuration "
    "option 'FailCgroupV1' to 'false'. You must also explicitly skip this validation. For more information, see "
    "https://git.k8s.io/enhancements/keps/sig-node/5573-remove-cgroup-v1"
)
RUNTIME_CONFIG_TEXT = (
    "\t[WARNING ContainerRuntimeVersion]: You must update your container runtime to a version that supports the "
    "CRI method RuntimeConfig. Falling back to using cgroupDriver from kubelet config will be removed in {removal}. "
    "For more information, see https://git.k8s.io/enhancements/keps/sig-node/4033-group-driver-detection-over-cri\n"
)
KUBELET_API_RBAC = (
    "[bootstrap-token] Configured RBAC rules to allow the API server kubelet client certificate to access the "
    "kubelet API\n"
)
KUBELET_REFUSAL = (
    "kubelet is configured to not run on a host using cgroup v1. cgroup v1 support is unsupported and will be "
    "removed in a future release"
)
MIGRATE = (
    "'kubeadm config migrate --old-config old.yaml --new-config new.yaml', which will write the new, similar spec "
    "using a newer API version."
)
# kubeadm config images list per minor: (CoreDNS, pause, etcd); Go version of kubeadm version.
IMAGES = {
    35: ("v1.13.1", "3.10.1", "3.6.6-0"),
    36: ("v1.14.2", "3.10.2", "3.6.8-0"),
    37: ("v1.14.6", "3.10.2", "3.7.0-0"),
}
GO = {"v1.35.5": "go1.25.9", "v1.36.1": "go1.26.2", "v1.36.4": "go1.26.5"}


@pytest.fixture(scope="module")
def node():
    hosts = {name: testinfra.get_host(f"docker://{name}") for name in (LB, CP1, CP2, CP3, W1)}
    return hosts.__getitem__


def kubeadm(host, args: str, **env: str):
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    return host.run(f"{prefix} kubeadm {args}".strip())


def wait_until(condition, timeout: float, what: str) -> float:
    # Once a second: the conditions run kubectl, etcdctl or several HTTPS probes.
    return helpers.wait_until(condition, timeout, what, poll=1.0)


def spki_pin(pem: str) -> str:
    cert = x509.load_pem_x509_certificate(pem.encode())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(spki).hexdigest()


def one_line(command: str) -> str:
    return command.replace("\\\n", " ").replace("\t", " ")


def join_lines(stdout: str) -> tuple[str, str]:
    """(control-plane join command, worker join command) as printed by init, continuations joined."""
    text = stdout.replace("\\\n", " ")
    commands = [line.strip() for line in text.splitlines() if line.strip().startswith("kubeadm join")]
    cp = next(c for c in commands if "--control-plane" in c)
    worker = next(c for c in commands if "--control-plane" not in c)
    return cp, worker


def cgroup_v1(host) -> bool:
    return host.run("stat -fc %T /sys/fs/cgroup/").stdout.strip() == "tmpfs"


def containerd_below_2(host) -> bool:
    words = host.run("containerd --version").stdout.split()
    return len(words) > 2 and int(words[2].lstrip("v").split(".")[0]) < 2


def write_file(host, path: str, text: str) -> None:
    assert host.run(f"mkdir -p $(dirname {path}) && umask 077 && printf %s {shlex.quote(text)} > {path}").rc == 0


def init_config(endpoint: str, version: str | None = None, api: str = "kubeadm.k8s.io/v1beta4") -> str:
    """kubeadm's configuration as the collection renders it in the cgroup v1 mode."""
    cluster = f"controlPlaneEndpoint: {endpoint}\n" if endpoint else ""
    cluster += f"kubernetesVersion: {version}\n" if version else ""
    return (
        f"apiVersion: {api}\nkind: InitConfiguration\n"
        "nodeRegistration:\n  ignorePreflightErrors: [SystemVerification]\n"
        f"---\napiVersion: {api}\nkind: ClusterConfiguration\n{cluster}networking:\n  podSubnet: 192.168.0.0/16\n"
        "---\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\n"
    )


def etcd_members(host) -> list[dict]:
    result = host.run(f"{ETCDCTL} member list -w json")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout).get("members", [])


def lb_readyz() -> int | None:
    """GET /readyz through the load balancer, verifying the API server's certificate for real."""
    ctx = ssl.create_default_context(cadata=STATE["ca_pem"])
    conn = http.client.HTTPSConnection(LB_IP, 6443, context=ctx, timeout=5)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def kubectl(*args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("kubectl") or str(Path(__file__).resolve().parents[3] / ".venv" / "bin" / "kubectl")
    return subprocess.run(
        [binary, "--kubeconfig", STATE["kubeconfig"], *args], capture_output=True, text=True, timeout=60, check=False
    )


def node_status() -> dict[str, str]:
    result = kubectl("get", "nodes", "-o", "json")
    if result.returncode != 0:
        return {}
    out = {}
    for item in json.loads(result.stdout)["items"]:
        ready = [c["status"] for c in item["status"].get("conditions", []) if c["type"] == "Ready"]
        out[item["metadata"]["name"]] = ready[0] if ready else "Unknown"
    return out


def set_clock_offset(node, offset: str | None) -> None:
    """The double's test clock on the control planes, where the API double judges expiry."""
    for name in (CP1, CP2, CP3):
        command = (
            f"echo {offset} > /etc/kubeadm-double/clock-offset" if offset else "rm -f /etc/kubeadm-double/clock-offset"
        )
        assert node(name).run(command).rc == 0
    time.sleep(2.5)  # the API double's token cleaner runs at most every two seconds


# --- 1. CLI surface ---------------------------------------------------------------------------
def test_version_and_cli_errors(node):
    host = node(CP1)
    assert kubeadm(host, "version -o short").stdout == f"{VERSION}\n"
    assert host.run("kubelet --version").stdout == f"Kubernetes {VERSION}\n"
    older = kubeadm(host, "init --no-such-flag", KUBEADM_DOUBLE_VERSION="v1.33.4")
    assert (older.rc, older.stdout) == (1, "")
    assert older.stderr == f"unknown flag: --no-such-flag\n{STACK_HINT}\n"
    unknown = kubeadm(host, "init --no-such-flag")
    assert (unknown.rc, unknown.stdout) == (1, "")
    assert unknown.stderr == f"error: unknown flag: --no-such-flag\n{STACK_HINT}\n"
    mixed = kubeadm(host, "init --config /dev/null --certificate-key " + "0" * 64)
    assert mixed.rc == 1
    assert mixed.stderr == f"error: can not mix '--config' with arguments [certificate-key]\n{STACK_HINT}\n"
    key = kubeadm(host, "certs certificate-key")
    assert key.rc == 0
    assert len(key.stdout.strip()) == 64
    int(key.stdout, 16)


# --- 2. init ----------------------------------------------------------------------------------
def test_init_output_parses_and_hash_is_the_ca_pin(node):
    host = node(CP1)
    write_file(host, "/root/init.yaml", init_config(ENDPOINT))
    started = time.monotonic()
    result = kubeadm(host, "init --config /root/init.yaml --upload-certs")
    print(f"KUBEHA-FIGURE double init seconds: {time.monotonic() - started:.1f}")
    assert result.rc == 0, result.stderr
    # The kubelet runs on the configuration kubeadm wrote, the cgroup v1 opt-in included.
    assert "failCgroupV1: false" in host.file("/var/lib/kubelet/config.yaml").content_string
    assert KUBELET_API_RBAC in result.stdout  # 1.36+
    etcd_manifest = host.file("/etc/kubernetes/manifests/etcd.yaml").content_string
    assert f"image: registry.k8s.io/etcd:{IMAGES[37][2]}\n" in etcd_manifest
    assert (
        f"image: registry.k8s.io/kube-apiserver:{VERSION}\n"
        in host.file("/etc/kubernetes/manifests/kube-apiserver.yaml").content_string
    )
    if cgroup_v1(host):
        assert f"\t[WARNING SystemVerification]: {CGROUP_V1_TEXT}\n" in result.stderr
        assert "[preflight] The system verification failed. Printing the output from the verification:\n" in (
            result.stdout
        )
    if containerd_below_2(host):
        assert RUNTIME_CONFIG_TEXT.format(removal="1.38") in result.stderr
    # stdout has the phases and the join commands, stderr only klog lines and preflight warnings.
    assert all(line[:1] in "IWE\t" for line in result.stderr.splitlines()), result.stderr
    assert not any(line[:1] in "IW" and line[1:5].isdigit() for line in result.stdout.splitlines())
    parsed = parse_init_output(result.stdout)
    ca_pem = host.file("/etc/kubernetes/pki/ca.crt").content_string
    assert parsed["api_server_endpoint"] == ENDPOINT
    assert parsed["discovery_token_ca_cert_hashes"] == [spki_pin(ca_pem)]
    assert f"[bootstrap-token] Using token: {parsed['token']}\n" in result.stdout
    assert f"[upload-certs] Using certificate key:\n{parsed['certificate_key']}\n" in result.stdout
    # The worker command ends with a space after the hash (join.go's template), the CP one with the key.
    assert result.stdout.endswith(f"--discovery-token-ca-cert-hash {spki_pin(ca_pem)} \n")
    assert "\n\t--control-plane --certificate-key " in result.stdout
    STATE.update(parsed=parsed, ca_pem=ca_pem, init_stdout=result.stdout)
    # Every join opts in to the cgroup v1 mode as the collection does (harmless on cgroup v2).
    STATE["cp_join"], STATE["worker_join"] = (command + OPT_IN for command in join_lines(result.stdout))


def test_init_writes_kubeadm_files_with_kubeadm_modes(node):
    host = node(CP1)
    for path, mode in [
        ("/etc/kubernetes/pki/ca.key", 0o600),
        ("/etc/kubernetes/pki/ca.crt", 0o644),
        ("/etc/kubernetes/pki/etcd/ca.key", 0o600),
        ("/etc/kubernetes/pki/sa.key", 0o600),
        ("/etc/kubernetes/pki/sa.pub", 0o644),
        ("/etc/kubernetes/admin.conf", 0o600),
        ("/etc/kubernetes/super-admin.conf", 0o600),
        ("/etc/kubernetes/kubelet.conf", 0o600),
        ("/etc/kubernetes/controller-manager.conf", 0o600),
        ("/etc/kubernetes/scheduler.conf", 0o600),
        ("/etc/kubernetes/manifests/etcd.yaml", 0o600),
        ("/etc/kubernetes/manifests/kube-apiserver.yaml", 0o600),
    ]:
        assert host.file(path).mode == mode, path
    # The API server certificate carries the control-plane endpoint, so clients via the LB verify TLS.
    san = host.run("openssl x509 -in /etc/kubernetes/pki/apiserver.crt -noout -ext subjectAltName").stdout
    assert f"IP Address:{LB_IP}" in san
    assert "DNS:kubernetes.default.svc.cluster.local" in san
    assert host.service("kubelet").is_running


def test_token_list_after_init_upload_certs(node):
    host = node(CP1)
    result = kubeadm(host, "token list")
    assert result.rc == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["TOKEN", "TTL", "EXPIRES", "USAGES", "DESCRIPTION", "EXTRA", "GROUPS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert len(rows) == 2
    default = rows[STATE["parsed"]["token"]]
    assert "authentication,signing" in default
    assert default.endswith("system:bootstrappers:kubeadm:default-node-token")
    proxy = next(line for token, line in rows.items() if token != STATE["parsed"]["token"])
    assert "Proxy for managing TTL for the kubeadm-certs secret" in proxy
    assert proxy.split()[1] == "1h"
    as_json = kubeadm(host, "token list -o json")
    assert as_json.rc == 0
    assert '"kind": "BootstrapToken"' in as_json.stdout


# --- 3. failures that must be fast and faithful ----------------------------------------------
def test_wrong_ca_hash_fails_at_once(node):
    wrong = "sha256:" + "ab" * 32
    command = STATE["worker_join"].replace(STATE["parsed"]["discovery_token_ca_cert_hashes"][0], wrong)
    started = time.monotonic()
    result = node(W1).run(command)
    assert time.monotonic() - started < 10
    assert result.rc == 1
    actual = STATE["parsed"]["discovery_token_ca_cert_hashes"][0]
    assert result.stderr.endswith(
        "error execution phase preflight: couldn't validate the identity of the API Server: cluster CA found in "
        f'cluster-info ConfigMap is invalid: none of the public keys "{actual}" are pinned\n{STACK_HINT}\n'
    )
    assert not node(W1).file("/etc/kubernetes/kubelet.conf").exists


def test_wrong_certificate_key_fails(node):
    command = STATE["cp_join"].replace(STATE["parsed"]["certificate_key"], "0123456789abcdef" * 4)
    result = node(CP3).run(command)
    assert result.rc == 1
    assert "[download-certs] Downloading the certificates in Secret" in result.stdout
    assert result.stderr.endswith(
        "error execution phase control-plane-prepare/download-certs: error downloading certs: error decoding secret "
        f"data with provided key: cipher: message authentication failed\n{STACK_HINT}\n"
    )


# --- 4. joins: a three-member etcd cluster and a worker ---------------------------------------
def test_control_planes_join_into_three_member_etcd(node):
    for name in (CP2, CP3):
        result = node(name).run(STATE["cp_join"])
        assert result.rc == 0, f"{name}: {result.stderr}"
        assert "This node has joined the cluster and a new control plane instance was created:" in result.stdout
        assert not node(name).file("/etc/kubernetes/super-admin.conf").exists
        assert not node(name).file("/etc/kubernetes/bootstrap-kubelet.conf").exists
    members = etcd_members(node(CP1))
    assert sorted(m.get("name") for m in members) == [CP1, CP2, CP3]
    assert sorted(m["peerURLs"][0] for m in members) == [f"https://172.28.44.{i}:2380" for i in (11, 12, 13)]


def test_worker_joins_with_a_join_configuration(node):
    parsed, host = STATE["parsed"], node(W1)
    config = (
        "apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery:\n  bootstrapToken:\n"
        f'    apiServerEndpoint: "{parsed["api_server_endpoint"]}"\n    token: "{parsed["token"]}"\n'
        f'    caCertHashes: ["{parsed["discovery_token_ca_cert_hashes"][0]}"]\n'
        f"nodeRegistration:\n  name: {W1}\n  ignorePreflightErrors: [SystemVerification]\n"
    )
    assert host.run(f"umask 077 && printf %s {shlex.quote(config)} > /root/join.yaml").rc == 0
    try:
        mixed = kubeadm(host, f"join --config /root/join.yaml --token {parsed['token']}")
        assert mixed.rc == 1
        assert mixed.stderr == f"error: can not mix '--config' with arguments [token]\n{STACK_HINT}\n"
        result = kubeadm(host, "join --config /root/join.yaml")
    finally:
        host.run("rm -f /root/join.yaml")  # a bootstrap token never stays on disk
    assert result.rc == 0, result.stderr
    assert "This node has joined the cluster:" in result.stdout
    assert host.file("/etc/kubernetes/pki/ca.crt").exists
    assert not host.file("/etc/kubernetes/admin.conf").exists
    # A joining kubelet gets the cluster's KubeletConfiguration (the kubelet-config ConfigMap).
    assert "failCgroupV1: false" in host.file("/var/lib/kubelet/config.yaml").content_string
    assert host.service("kubelet").is_running


# --- 5. kubectl through the load balancer -----------------------------------------------------
def test_kubectl_through_the_load_balancer(node, tmp_path_factory):
    path = tmp_path_factory.mktemp("kube") / "admin.conf"
    path.write_text(node(CP1).file("/etc/kubernetes/admin.conf").content_string)
    path.chmod(0o600)
    STATE["kubeconfig"] = str(path)
    assert f"server: https://{ENDPOINT}" in path.read_text()
    wait_until(lambda: len(node_status()) == 4, 60, "the four nodes are registered")
    status = node_status()
    assert status == {CP1: "False", CP2: "False", CP3: "False", W1: "False"}  # NotReady: no pod network yet
    table = kubectl("get", "nodes")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert "NotReady" in table.stdout

    applied = kubectl("apply", "--server-side", "-f", str(FILES / "pod-network.yaml.stand-in"))
    assert applied.returncode == 0, applied.stderr
    assert "daemonset.apps/calico-node serverside-applied" in applied.stdout
    custom = kubectl("apply", "--server-side", "-f", str(FILES / "ippool.yaml"))
    assert custom.returncode == 0, custom.stderr
    assert kubectl("get", "ippools", "-o", "name").stdout.strip() == "ippool.crd.projectcalico.org/default-ipv4-ippool"

    assert kubectl("label", "node", W1, "kubeha.test/role=worker").returncode == 0
    labelled = kubectl("get", "nodes", "-l", "kubeha.test/role=worker", "-o", "name")
    assert labelled.stdout.strip() == f"node/{W1}"
    deleted = kubectl("delete", "-n", "calico-system", "configmap", "calico-config")
    assert deleted.returncode == 0, deleted.stderr
    gone = kubectl("get", "-n", "calico-system", "configmap", "calico-config")
    assert gone.returncode == 1
    assert "NotFound" in gone.stderr

    waited = kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=60s")
    assert waited.returncode == 0, waited.stderr
    assert set(node_status().values()) == {"True"}, node_status()
    assert " Ready " in kubectl("get", "nodes").stdout


# --- 6. quorum through the load balancer ------------------------------------------------------
def test_readyz_through_the_load_balancer_follows_etcd_quorum(node):
    wait_until(lambda: lb_readyz() == 200, 30, "/readyz through the load balancer answers 200")
    try:
        assert node(CP2).run("systemctl stop kubelet").rc == 0
        time.sleep(3)
        assert all(lb_readyz() == 200 for _attempt in range(5)), "one control plane down must keep quorum"
        assert node(CP3).run("systemctl stop kubelet").rc == 0
        wait_until(lambda: all(lb_readyz() != 200 for _attempt in range(3)), 30, "two down: no quorum")
    finally:
        node(CP2).run("systemctl start kubelet")
        node(CP3).run("systemctl start kubelet")
    wait_until(lambda: all(lb_readyz() == 200 for _attempt in range(3)), 60, "quorum is back: /readyz answers 200")


# --- 7. reset, expiry, re-join ----------------------------------------------------------------
def cluster_healthy(host) -> bool:
    return host.run(f"{ETCDCTL} endpoint health --cluster").rc == 0


def test_reset_removes_the_etcd_member(node):
    wait_until(lambda: len([m for m in etcd_members(node(CP1)) if m.get("name")]) == 3, 30, "three named members")
    wait_until(lambda: cluster_healthy(node(CP1)), 60, "every etcd member is healthy")
    result = kubeadm(node(CP3), "reset -f")
    assert result.rc == 0, result.stderr
    assert "[reset] Deleted contents of the etcd data directory: /var/lib/etcd" in result.stdout
    assert sorted(m.get("name") for m in etcd_members(node(CP1))) == [CP1, CP2]
    assert not node(CP3).file("/etc/kubernetes/admin.conf").exists
    assert node(CP3).file("/etc/kubernetes/manifests").listdir() == []
    # kubeadm reset does not delete the Node object; re-joining under the same name while it is
    # still Ready fails in kubelet-start, so a user deletes it, as the reset documentation says.
    assert CP3 in node_status()
    early = node(CP3).run(STATE["cp_join"])
    assert early.rc == 1
    assert (
        f'error execution phase kubelet-start: a Node with name "{CP3}" and status "Ready" already exists in the '
        "cluster. You must delete the existing Node or change the name of this new joining Node\n"
    ) in early.stderr
    node(CP3).run("kubeadm reset -f")  # the failed join started the kubelet and wrote files
    deleted = kubectl("delete", "node", CP3)
    assert deleted.returncode == 0, deleted.stderr


def test_expired_certificate_key_fails(node):
    set_clock_offset(node, "2h1m")
    try:
        result = node(CP3).run(STATE["cp_join"])
    finally:
        set_clock_offset(node, None)
    assert result.rc == 1
    assert result.stderr.endswith(
        "error execution phase control-plane-prepare/download-certs: error downloading certs: error downloading the "
        'secret: Secret "kubeadm-certs" was not found in the "kube-system" Namespace. This Secret might have expired. '
        "Please, run `kubeadm init phase upload-certs --upload-certs` on a control plane to generate a new one\n"
        f"{STACK_HINT}\n"
    )


def test_expired_token_fails(node):
    set_clock_offset(node, "24h1m")
    try:
        # The double gives up discovery after KUBEADM_DOUBLE_DISCOVERY_TIMEOUT, kubeadm after 5 minutes.
        result = node(CP3).run("KUBEADM_DOUBLE_DISCOVERY_TIMEOUT=3s " + STATE["worker_join"])
    finally:
        set_clock_offset(node, None)
    token_id = STATE["parsed"]["token"].split(".")[0]
    assert result.rc == 1
    assert result.stderr.endswith(
        "error execution phase preflight: couldn't validate the identity of the API Server: could not find a JWS "
        f'signature in the cluster-info ConfigMap for token ID "{token_id}"\n{STACK_HINT}\n'
    )


def test_rejoin_with_fresh_credentials(node):
    upload = kubeadm(node(CP1), "init phase upload-certs --upload-certs")
    assert upload.rc == 0, upload.stderr
    lines = upload.stdout.splitlines()
    assert lines[:2] == [
        '[upload-certs] Storing the certificates in Secret "kubeadm-certs" in the "kube-system" Namespace',
        "[upload-certs] Using certificate key:",
    ]
    key = lines[2]
    printed = kubeadm(node(CP1), f"token create --print-join-command --certificate-key {key}")
    assert printed.rc == 0, printed.stderr
    command = printed.stdout.rstrip("\n")
    assert command.startswith(f"kubeadm join {ENDPOINT} --token ")
    assert command.endswith(f"--control-plane --certificate-key {key}")
    result = node(CP3).run(command + OPT_IN)
    assert result.rc == 0, result.stderr
    assert sorted(m.get("name") for m in etcd_members(node(CP1))) == [CP1, CP2, CP3]


# --- 8. re-running init / join on configured nodes --------------------------------------------
def test_second_init_fails_preflight_with_kubeadms_texts(node):
    older = kubeadm(
        node(CP1), f"init --control-plane-endpoint {ENDPOINT} --upload-certs", KUBEADM_DOUBLE_VERSION="v1.33.4"
    )
    assert older.rc == 1
    assert "error execution phase preflight: [preflight] Some fatal errors occurred:\n" in older.stderr
    for line in (
        "\t[ERROR Port-6443]: Port 6443 is in use\n",
        "\t[ERROR FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml]: "
        "/etc/kubernetes/manifests/kube-apiserver.yaml already exists\n",
        "\t[ERROR FileAvailable--etc-kubernetes-manifests-etcd.yaml]: "
        "/etc/kubernetes/manifests/etcd.yaml already exists\n",
        "\t[ERROR Port-10250]: Port 10250 is in use\n",
        "\t[ERROR DirAvailable--var-lib-etcd]: /var/lib/etcd is not empty\n",
    ):
        assert line in older.stderr
    assert older.stderr.endswith(
        "[preflight] If you know what you are doing, you can make a check non-fatal with "
        f"`--ignore-preflight-errors=...`\n{STACK_HINT}\n"
    )
    newer = kubeadm(node(CP1), f"init --control-plane-endpoint {ENDPOINT}")
    assert newer.rc == 1
    assert "\t[ERROR Port-6443]: Port 6443 is in use\n" in newer.stderr
    assert "[preflight] Some fatal errors occurred:\n" in newer.stderr
    assert newer.stderr.endswith(f"error: error execution phase preflight: preflight checks failed\n{STACK_HINT}\n")


def test_join_on_joined_worker_fails_preflight(node):
    result = node(W1).run(STATE["worker_join"])
    assert result.rc == 1
    assert result.stdout.startswith("[preflight] Running pre-flight checks\n")
    assert "[preflight] Reading configuration" not in result.stdout
    assert (
        "[preflight] Some fatal errors occurred:\n"
        "\t[ERROR FileAvailable--etc-kubernetes-kubelet.conf]: /etc/kubernetes/kubelet.conf already exists\n"
        "\t[ERROR Port-10250]: Port 10250 is in use\n"
        "\t[ERROR FileAvailable--etc-kubernetes-pki-ca.crt]: /etc/kubernetes/pki/ca.crt already exists\n"
        "[preflight] If you know what you are doing, you can make a check non-fatal with "
        "`--ignore-preflight-errors=...`\n"
        f"error: error execution phase preflight: preflight checks failed\n{STACK_HINT}\n"
    ) in result.stderr


def test_reset_without_the_api_keeps_the_etcd_member(node):
    """kubeadm removes its etcd member only when it can read kubeadm-config from the API."""
    assert node(LB).run("systemctl stop haproxy").rc == 0
    try:
        result = kubeadm(node(CP3), "reset -f")
        assert result.rc == 0, result.stderr
        assert "[reset] Unable to fetch the kubeadm-config ConfigMap from cluster" in result.stderr
        assert "[reset] No kubeadm config, using etcd pod spec to get data directory" in result.stderr
        stale = [m for m in etcd_members(node(CP1)) if "https://172.28.44.13:2380" in m["peerURLs"]]
        assert len(stale) == 1, "the member of a node reset without the API must stay in the cluster"
        assert node(CP1).run(f"{ETCDCTL} member remove {stale[0]['ID']:x}").rc == 0
    finally:
        node(LB).run("systemctl start haproxy")
    assert sorted(m.get("name") for m in etcd_members(node(CP1))) == [CP1, CP2]
    wait_until(lambda: lb_readyz() == 200, 30, "/readyz through the load balancer answers 200")


# --- 9. what differs between the current minors (FACTS-2.md part A) ---------------------------
@pytest.mark.parametrize("minor", sorted(RELEASES))
def test_version_and_images_of_each_minor(node, minor: int):
    host, release = node(CP1), RELEASES[minor]
    short = kubeadm(host, "version -o short", KUBEADM_DOUBLE_VERSION=release)
    assert short.stdout == f"{release}\n"
    images = kubeadm(host, f"config images list --kubernetes-version {release}", KUBEADM_DOUBLE_VERSION=release)
    assert images.rc == 0, images.stderr
    coredns, pause, etcd = IMAGES[minor]
    assert images.stdout.splitlines() == [
        f"registry.k8s.io/kube-apiserver:{release}",
        f"registry.k8s.io/kube-controller-manager:{release}",
        f"registry.k8s.io/kube-scheduler:{release}",
        f"registry.k8s.io/kube-proxy:{release}",
        f"registry.k8s.io/coredns/coredns:{coredns}",
        f"registry.k8s.io/pause:{pause}",
        f"registry.k8s.io/etcd:{etcd}",
    ]


@pytest.mark.parametrize("release", sorted(GO))
def test_go_version_of_recorded_releases(node, release: str):
    text = kubeadm(node(CP1), "version", KUBEADM_DOUBLE_VERSION=release).stdout
    minor = release.split(".")[1]
    assert text.startswith(
        f'kubeadm version: &version.Info{{Major:"1", Minor:"{minor}", EmulationMajor:"", EmulationMinor:"", '
        f'MinCompatibilityMajor:"", MinCompatibilityMinor:"", GitVersion:"{release}", '
    )
    assert f'GoVersion:"{GO[release]}", Compiler:"gc", Platform:"linux/amd64"}}' in text


@pytest.mark.parametrize("minor", sorted(RELEASES))
def test_v1beta3_is_deprecated_up_to_1_36_and_refused_by_1_37(node, minor: int):
    host, release = node(CP1), RELEASES[minor]
    config = f"apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nkubernetesVersion: {release}\n"
    write_file(host, "/root/v1beta3.yaml", config)
    result = kubeadm(host, "config images list --config /root/v1beta3.yaml", KUBEADM_DOUBLE_VERSION=release)
    if minor <= 36:
        assert result.rc == 0, result.stderr
        assert (
            f'] your configuration file uses a deprecated API spec: "kubeadm.k8s.io/v1beta3". Please use {MIGRATE}\n'
            in (result.stderr)
        )
        assert result.stdout.splitlines()[0] == f"registry.k8s.io/kube-apiserver:{release}"
    else:
        assert (result.rc, result.stdout) == (1, "")
        assert result.stderr == (
            'error: your configuration file uses an old API spec: "kubeadm.k8s.io/v1beta3" (kind: '
            f'"ClusterConfiguration"). Please use kubeadm v1.36 instead and run {MIGRATE}\n{STACK_HINT}\n'
        )


@pytest.mark.parametrize(
    ("gate", "removed_in"),
    [("WaitForAllControlPlaneComponents", 35), ("ControlPlaneKubeletLocalMode", 36), ("NodeLocalCRISocket", 37)],
)
@pytest.mark.parametrize("minor", sorted(RELEASES))
def test_removed_feature_gates_are_errors(node, gate: str, removed_in: int, minor: int):
    host, release = node(CP1), RELEASES[minor]
    flag = kubeadm(host, f"config images list --feature-gates {gate}=true", KUBEADM_DOUBLE_VERSION=release)
    config = f"apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nfeatureGates:\n  {gate}: true\n"
    write_file(host, "/root/gates.yaml", config)
    field = kubeadm(host, "config images list --config /root/gates.yaml", KUBEADM_DOUBLE_VERSION=release)
    if minor < removed_in:
        assert (flag.rc, field.rc) == (0, 0), flag.stderr + field.stderr
        return
    assert (flag.rc, flag.stdout) == (1, "")
    assert flag.stderr == f"error: unrecognized feature-gate key: {gate}\n{STACK_HINT}\n"
    assert field.rc == 1
    assert field.stderr.startswith(
        f'error: featureGates: Invalid value: map[string]bool{{"{gate}":true}}: {gate} is not a valid feature name.'
    )
    # An init with the gate fails before it changes anything.
    init = kubeadm(host, f"init --feature-gates {gate}=true", KUBEADM_DOUBLE_VERSION=release)
    assert (init.rc, init.stdout) == (1, "")


@pytest.mark.parametrize("minor", [34, *sorted(RELEASES)])
def test_preflight_runtime_and_cgroup_checks_of_each_minor(node, minor: int):
    """The failing preflight of a join on the joined worker shows both checks, changing nothing."""
    host = node(W1)
    release = RELEASES.get(minor, "v1.34.11")
    plain = STATE["worker_join"].replace(OPT_IN, "")
    for command, ignored in ((plain, False), (STATE["worker_join"], True)):
        result = host.run(f"KUBEADM_DOUBLE_VERSION={release} {command}")
        assert result.rc == 1
        assert "[ERROR FileAvailable--etc-kubernetes-kubelet.conf]" in result.stderr
        warning = RUNTIME_CONFIG_TEXT.format(removal=f"1.{minor + 1}")
        assert (warning in result.stderr) == (minor >= 35 and containerd_below_2(host)), result.stderr
        if not cgroup_v1(host):
            assert "SystemVerification" not in result.stderr
            continue
        fatal = minor >= 35 and not ignored
        assert (f"\t[ERROR SystemVerification]: {CGROUP_V1_TEXT}\n" in result.stderr) == fatal, result.stderr
        assert (f"\t[WARNING SystemVerification]: {CGROUP_V1_TEXT}\n" in result.stderr) == (not fatal)
        report = (
            "[preflight] The system verification failed. Printing the output from the verification:\nKERNEL_VERSION: "
        )
        assert (report in result.stdout) == (minor >= 35), result.stdout
    assert host.service("kubelet").is_running


def test_kubelet_refuses_cgroup_v1_by_default_from_1_35(node):
    """The kubelet binary on a configuration without failCgroupV1 (the running one is left alone)."""
    host = node(W1)
    write_file(host, "/root/kubelet.yaml", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n")
    try:
        for minor, release in sorted(RELEASES.items()):
            refused = host.run(f"KUBEADM_DOUBLE_VERSION={release} timeout 5 kubelet --config=/root/kubelet.yaml")
            if cgroup_v1(host):
                assert refused.rc == 1, minor
                expected = 'run.go:72] "command failed" err="failed to validate kubelet configuration, error: '
                assert expected + KUBELET_REFUSAL in refused.stderr
            else:
                assert KUBELET_REFUSAL not in refused.stderr
    finally:
        host.run("rm -f /root/kubelet.yaml")


def test_standalone_inits_of_1_35_and_1_36(node):
    """A single-node init per older minor on the reset worker: RBAC line, etcd image, kubelet config."""
    host = node(W1)
    assert kubeadm(host, "reset -f").rc == 0
    try:
        for minor in (35, 36):
            release = RELEASES[minor]
            assert host.run(f"echo {release} > /etc/kubeadm-double/version").rc == 0  # the kubelet's release
            write_file(host, "/root/init.yaml", init_config("", release))
            result = kubeadm(host, "init --config /root/init.yaml")
            assert result.rc == 0, result.stderr
            assert f"[init] Using Kubernetes version: {release}\n" in result.stdout
            assert (KUBELET_API_RBAC in result.stdout) == (minor >= 36)
            assert (
                f"registry.k8s.io/etcd:{IMAGES[minor][2]}"
                in host.file("/etc/kubernetes/manifests/etcd.yaml").content_string
            )
            if containerd_below_2(host):
                assert RUNTIME_CONFIG_TEXT.format(removal=f"1.{minor + 1}") in result.stderr
            assert kubeadm(host, "reset -f").rc == 0
        if cgroup_v1(host):
            # Without failCgroupV1: false the kubelet exits, which kubeadm sees as a kubelet that never gets healthy.
            write_file(host, "/root/init.yaml", init_config("", RELEASES[35]).replace("failCgroupV1: false\n", ""))
            failed = host.run("KUBEADM_DOUBLE_KUBELET_TIMEOUT=8s kubeadm init --config /root/init.yaml")
            assert failed.rc == 1
            assert "[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz" in failed.stdout
            assert "failed while waiting for the kubelet to start" in failed.stderr
            journal = host.run("journalctl -u kubelet --no-pager -n 20").stdout
            assert KUBELET_REFUSAL in journal
            assert kubeadm(host, "reset -f").rc == 0
    finally:
        host.run(f"echo {VERSION} > /etc/kubeadm-double/version; rm -f /root/init.yaml")


def test_port_probe_of_1_37_binds_the_advertise_address(node):
    """Up to 1.36 a listener on any address of port 6443 fails Port-6443; 1.37 probes its own address."""
    host = node(W1)
    listener = (
        "python3 -c \"import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 6443)); s.listen(); "
        'time.sleep(60)" >/dev/null 2>&1 & echo $!'
    )
    pid = host.run(listener).stdout.strip()
    write_file(host, "/etc/kubernetes/manifests/kube-scheduler.yaml", "kind: Pod\n")  # keeps preflight failing
    try:
        wait_until(
            lambda: host.run("ss -ltn 'sport = :6443'").stdout.count("127.0.0.1:6443") == 1,
            10,
            "the stand-in listener holds 127.0.0.1:6443",
        )
        for minor in (36, 37):
            result = kubeadm(
                host, "init --apiserver-advertise-address 172.28.44.21", KUBEADM_DOUBLE_VERSION=RELEASES[minor]
            )
            assert result.rc == 1
            assert "[ERROR FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml]" in result.stderr
            assert ("\t[ERROR Port-6443]: Port 6443 is in use\n" in result.stderr) == (minor < 37), result.stderr
    finally:
        host.run(f"kill {pid}; rm -f /etc/kubernetes/manifests/kube-scheduler.yaml")


# --- 10. kubeadm upgrade (FACTS-2.md part B §1-§4) --------------------------------------------
UPGRADE_TIMEOUT = "120s"  # caps the double's 5m0s wait for each restarted static pod


def image_tags(host) -> dict[str, str]:
    tags = {}
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"):
        text = host.file(f"/etc/kubernetes/manifests/{component}.yaml").content_string
        tags[component] = next(line.split(":")[-1] for line in text.splitlines() if "image: " in line)
    return tags


def local_version(host, address: str) -> str:
    result = host.run(f"curl -sk https://{address}:6443/version")
    return json.loads(result.stdout)["gitVersion"] if result.rc == 0 else ""


def serial(host, path: str) -> str:
    return host.run(f"openssl x509 -in {path} -noout -serial").stdout.strip()


def in_order(text: str, lines: list[str]) -> bool:
    position = 0
    for line in lines:
        position = text.find(line + "\n", position)
        if position < 0:
            return False
    return True


def test_upgrade_plan_refuses_a_not_ready_control_plane(node):
    # dblc-cp3 was reset without the API: its Node stays and turns Unknown (the lifecycle controller).
    wait_until(lambda: node_status().get(CP3) == "Unknown", 60, f"the Node {CP3} is Unknown")
    result = kubeadm(node(CP1), "upgrade plan")
    assert result.rc == 1
    assert result.stdout.startswith("[preflight] Running pre-flight checks.\n")
    assert result.stderr == (
        "error: [upgrade/health] FATAL: [preflight] Some fatal errors occurred:\n"
        f"\t[ERROR ControlPlaneNodesReady]: there are NotReady control-planes in the cluster: [{CP3}]\n"
        "[preflight] If you know what you are doing, you can make a check non-fatal with "
        f"`--ignore-preflight-errors=...`\n{STACK_HINT}\n"
    )
    for name in (CP3, W1):  # both were reset: a user deletes their Nodes
        assert kubectl("delete", "node", name).returncode == 0


def test_upgrade_plan_of_a_patch_release_in_ha(node):
    host = node(CP1)
    up_to_date = kubeadm(host, "upgrade plan -o json")
    assert (up_to_date.rc, up_to_date.stdout) == (0, "")  # nothing to upgrade: no object at all
    assert "falling back to the local client version: v1.37.1" in up_to_date.stderr  # air-gapped, never fetched
    result = kubeadm(host, "upgrade plan v1.37.2 -o json", KUBEADM_DOUBLE_VERSION="v1.37.2")
    assert result.rc == 0, result.stderr
    plan = json.loads(result.stdout)  # stdout is the object alone
    assert (plan["kind"], plan["apiVersion"]) == ("UpgradePlan", "output.kubeadm.k8s.io/v1alpha3")
    parsed = parse_plan(result.stdout, "1.37.2")
    assert parsed["description"] == "version in the v1.37 series"
    rows = {(c["name"], c["node"]): (c["current_version"], c["new_version"]) for c in parsed["components"]}
    for name in (CP1, CP2):
        assert rows[("kube-apiserver", name)] == (VERSION, "v1.37.2")
        assert rows[("kubelet", name)] == (VERSION, "v1.37.2")
        assert rows[("etcd", name)] == ("3.7.0-0", "3.7.0-0")
    assert rows[("kube-proxy", None)] == ("1.37.1", "v1.37.2")
    text = kubeadm(host, "upgrade plan v1.37.2", KUBEADM_DOUBLE_VERSION="v1.37.2")
    assert text.rc == 0, text.stderr
    assert "[upgrade/versions] Cluster version: 1.37.1\n[upgrade/versions] kubeadm version: v1.37.2\n" in text.stdout
    assert "Upgrade to the latest version in the v1.37 series:\n" in text.stdout
    assert "\n\tkubeadm upgrade apply v1.37.2\n" in text.stdout
    assert "Note: Before you can perform this upgrade" not in text.stdout


def test_upgrade_apply_refusals_change_nothing(node):
    host = node(CP1)
    before = image_tags(host)
    skipped = kubeadm(host, "upgrade apply v1.39.0 -y", KUBEADM_DOUBLE_VERSION="v1.37.2")
    assert skipped.rc == 1
    assert skipped.stdout.endswith(
        '[upgrade/preflight] You have chosen to upgrade the cluster version to "v1.39.0"\n'
        f"[upgrade/versions] Cluster version: {VERSION}\n[upgrade/versions] kubeadm version: v1.37.2\n"
    )
    assert skipped.stderr == (
        "error: error execution phase preflight: the version argument is invalid due to these fatal errors:\n\n"
        '\t- Specified version to upgrade to "v1.39.0" is too high; kubeadm can upgrade only 1 minor version at a '
        "time\n"
        '\t- Specified version to upgrade to "v1.39.0" is at least one minor release higher than the kubeadm minor '
        "release (39 > 37). Such an upgrade is not supported\n\n"
        f"Please fix the misalignments highlighted above and try upgrading again\n{STACK_HINT}\n"
    )
    old = kubeadm(host, "upgrade apply v1.37.3 -y", KUBEADM_DOUBLE_VERSION="v1.37.2")
    assert old.rc == 1
    assert old.stderr == (
        "error: error execution phase preflight: the version argument is invalid due to these errors:\n\n"
        '\t- Specified version to upgrade to "v1.37.3" is higher than the kubeadm version "v1.37.2". Upgrade kubeadm '
        "first using the tool you used to install kubeadm\n\nCan be bypassed if you pass the --force flag\n"
        f"{STACK_HINT}\n"
    )
    down = kubeadm(host, "upgrade apply v1.35.0 -y")
    assert down.rc == 1
    assert '"v1.35.0" is too low; kubeadm can downgrade only 1 minor version at a time' in down.stderr
    unanswered = host.run("kubeadm upgrade apply v1.37.1 < /dev/null")
    assert unanswered.rc == 1
    assert "[upgrade] Are you sure you want to proceed? [y/N]: " in unanswered.stdout
    assert "won't proceed; the user didn't answer (Y|y) in order to continue" in unanswered.stderr
    assert image_tags(host) == before


def test_upgrade_apply_on_the_first_control_plane_leaves_the_addons_to_the_last(node):
    host = node(CP1)
    cert = serial(host, "/etc/kubernetes/pki/apiserver.crt")
    started = time.monotonic()
    result = kubeadm(
        host,
        "upgrade apply v1.37.2 --yes",
        KUBEADM_DOUBLE_VERSION="v1.37.2",
        KUBEADM_DOUBLE_UPGRADE_TIMEOUT=UPGRADE_TIMEOUT,
    )
    print(f"KUBEHA-FIGURE double upgrade apply seconds: {time.monotonic() - started:.1f}")
    assert result.rc == 0, result.stderr
    skip = f"[upgrade/addon] Skipping upgrade of addons because control plane instances [{CP2}] have not been upgraded"
    assert in_order(
        result.stdout,
        [
            '[upgrade/control-plane] Upgrading your static Pod-hosted control plane to version "v1.37.2" '
            "(timeout: 5m0s)...",
            '[upgrade/staticpods] Preparing for "etcd" upgrade',
            '[upgrade/staticpods] Preparing for "kube-apiserver" upgrade',
            "[upgrade/staticpods] Renewing apiserver certificate",
            "[apiclient] Found 2 Pods for label selector component=kube-apiserver",
            '[upgrade/staticpods] Component "kube-apiserver" upgraded successfully!',
            '[upgrade/staticpods] Component "kube-scheduler" upgraded successfully!',
            "[upgrade/control-plane] The control plane instance for this node was successfully upgraded!",
            '[upload-config] Storing the configuration used in ConfigMap "kubeadm-config" in the "kube-system" '
            "Namespace",
            "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!",
            skip,
            skip,
            "",
            '[upgrade] SUCCESS! A control plane node of your cluster was upgraded to "v1.37.2".',
            "",
            "[upgrade] Now please proceed with upgrading the rest of the nodes by following the right order.",
        ],
    ), result.stdout
    assert "[addons] Applied essential addon" not in result.stdout
    assert "postupgrade.go:105] Using temporary directory /etc/kubernetes/tmp/kubeadm-kubelet-config-" in result.stderr
    assert image_tags(host) == {
        "etcd": "3.7.0-0",
        "kube-apiserver": "v1.37.2",
        "kube-controller-manager": "v1.37.2",
        "kube-scheduler": "v1.37.2",
    }
    assert local_version(host, "172.28.44.11") == "v1.37.2"  # /version follows the manifest's image
    assert serial(host, "/etc/kubernetes/pki/apiserver.crt") != cert  # renewed, as kubeadm does
    config = kubectl("get", "-n", "kube-system", "configmap", "kubeadm-config", "-o", "jsonpath={.data}")
    assert "kubernetesVersion: v1.37.2" in config.stdout
    assert image_tags(node(CP2))["kube-apiserver"] == VERSION
    wait_until(lambda: all(lb_readyz() == 200 for _attempt in range(3)), 60, "/readyz through the LB answers 200")


def test_upgrade_node_on_the_last_control_plane_applies_the_addons(node):
    host = node(CP2)
    cert = serial(host, "/etc/kubernetes/pki/apiserver.crt")
    result = kubeadm(
        host,
        "upgrade node --certificate-renewal=false",
        KUBEADM_DOUBLE_VERSION="v1.37.2",
        KUBEADM_DOUBLE_UPGRADE_TIMEOUT=UPGRADE_TIMEOUT,
    )
    assert result.rc == 0, result.stderr
    assert in_order(
        result.stdout,
        [
            "[upgrade/preflight] Running pre-flight checks",
            '[upgrade/control-plane] Upgrading your Static Pod-hosted control plane instance to version "v1.37.2"...',
            "[upgrade/control-plane] The control plane instance for this node was successfully upgraded!",
            "[upgrade/kubeconfig] The kubeconfig files for this node were successfully upgraded!",
            "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!",
            "[addons] Applied essential addon: CoreDNS",
            "[addons] Applied essential addon: kube-proxy",
        ],
    ), result.stdout
    assert "Renewing" not in result.stdout
    assert serial(host, "/etc/kubernetes/pki/apiserver.crt") == cert
    assert "SUCCESS" not in result.stdout  # upgrade node prints no footer
    assert image_tags(host)["kube-apiserver"] == "v1.37.2"
    assert local_version(host, "172.28.44.12") == "v1.37.2"
    assert sorted(m.get("name") for m in etcd_members(node(CP1))) == [CP1, CP2]
    wait_until(lambda: all(lb_readyz() == 200 for _attempt in range(3)), 60, "/readyz through the LB answers 200")


def test_minor_upgrade_of_a_single_control_plane(node):
    """1.36.5 -> 1.37.1 on the reset worker, as its own cluster (it is no load-balancer backend)."""
    host = node(W1)
    admin = "kubectl --kubeconfig /etc/kubernetes/admin.conf"
    try:
        assert host.run("echo v1.36.5 > /etc/kubeadm-double/version").rc == 0
        write_file(host, "/root/init.yaml", init_config("", "v1.36.5"))
        assert kubeadm(host, "init --config /root/init.yaml").rc == 0
        # A pod network's CNI configuration makes the Node Ready (the health checks want it).
        assert host.run("mkdir -p /etc/cni/net.d && echo {} > /etc/cni/net.d/10-stand-in.conflist").rc == 0
        wait_until(lambda: " Ready " in host.run(f"{admin} get nodes").stdout, 60, f"the Node {W1} is Ready")
        plan = kubeadm(host, "upgrade plan v1.37.1 -o json", KUBEADM_DOUBLE_VERSION="v1.37.1")
        assert plan.rc == 0, plan.stderr
        parsed = parse_plan(plan.stdout, "1.37.1")
        assert parsed["description"] == "stable version"
        rows = {(c["name"], c["node"]): (c["current_version"], c["new_version"]) for c in parsed["components"]}
        assert rows[("etcd", W1)] == ("3.6.8-0", "3.7.0-0")
        assert rows[("CoreDNS", None)] == ("v1.14.2", "v1.14.6")
        result = kubeadm(
            host, "upgrade apply v1.37.1 -y", KUBEADM_DOUBLE_VERSION="v1.37.1", KUBEADM_DOUBLE_UPGRADE_TIMEOUT="120s"
        )
        assert result.rc == 0, result.stderr
        assert "[upgrade/versions] Cluster version: v1.36.5\n" in result.stdout
        assert "[upgrade/staticpods] Renewing etcd-server certificate\n" in result.stdout
        assert '[upgrade/staticpods] Component "etcd" upgraded successfully!\n' in result.stdout
        assert "[addons] Applied essential addon: CoreDNS\n" in result.stdout
        assert image_tags(host)["etcd"] == "3.7.0-0"
        assert local_version(host, "172.28.44.21") == "v1.37.1"
        # The kubelet keeps reporting the release it was started as until it restarts on a new binary.
        nodes = host.run(f"{admin} get nodes -o jsonpath='{{.items[0].status.nodeInfo.kubeletVersion}}'")
        assert nodes.stdout == "v1.36.5"
        assert host.run("echo v1.37.1 > /etc/kubeadm-double/version").rc == 0
        time.sleep(12)  # longer than a heartbeat
        assert host.run(f"{admin} get nodes -o jsonpath='{{.items[0].status.nodeInfo.kubeletVersion}}'").stdout == (
            "v1.36.5"
        )
        assert host.run("systemctl restart kubelet").rc == 0
        wait_until(
            lambda: (
                host.run(f"{admin} get nodes -o jsonpath='{{.items[0].status.nodeInfo.kubeletVersion}}'").stdout
                == "v1.37.1"
            ),
            60,
            "the restarted kubelet reports v1.37.1",
        )
    finally:
        kubeadm(host, "reset -f")
        host.run(
            f"echo {VERSION} > /etc/kubeadm-double/version; rm -f /root/init.yaml /etc/cni/net.d/10-stand-in.conflist"
        )


def test_upgrade_node_on_a_worker(node):
    host = node(W1)
    printed = kubeadm(node(CP1), "token create --print-join-command")
    assert printed.rc == 0, printed.stderr
    joined = host.run(printed.stdout.strip() + OPT_IN)
    assert joined.rc == 0, joined.stderr
    result = kubeadm(host, "upgrade node", KUBEADM_DOUBLE_VERSION="v1.37.2")
    assert result.rc == 0, result.stderr
    # FACTS-2 §3.2 (a worker, 1.35+), without the [patches] line (no kubelet patch here).
    assert result.stdout == (
        '[upgrade] Reading configuration from the "kubeadm-config" ConfigMap in namespace "kube-system"...\n'
        "[upgrade] Use 'kubeadm init phase upload-config kubeadm --config your-config-file' to re-upload it.\n"
        "[upgrade/preflight] Running pre-flight checks\n"
        "[upgrade/preflight] Skipping prepull. Not a control plane node.\n"
        "[upgrade/control-plane] Skipping phase. Not a control plane node.\n"
        "[upgrade/kubeconfig] Skipping phase. Not a control plane node.\n"
        f"[upgrade] Backing up kubelet config file to {result.stdout.split('kubelet config file to ')[1].split()[0]}\n"
        '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"\n'
        "[upgrade/kubelet-config] The kubelet configuration for this node was successfully upgraded!\n"
        "[upgrade/addon] Skipping the addon/coredns phase. Not a control plane node.\n"
        "[upgrade/addon] Skipping the addon/kube-proxy phase. Not a control plane node.\n"
        f"[upgrade] Backing up kubelet env file to {result.stdout.split('kubelet env file to ')[1].split()[0]}\n"
        '[kubelet-start] Writing kubelet environment file with flags to file "/var/lib/kubelet/kubeadm-flags.env"\n'
    )
    assert "failCgroupV1: false" in host.file("/var/lib/kubelet/config.yaml").content_string
