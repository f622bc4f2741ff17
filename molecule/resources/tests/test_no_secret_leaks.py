"""Shared verify test: the secrets minted by this scenario's converge stay where they belong.

Run by a cluster scenario's verifier (list it in `verifier.additional_files_or_dirs`) after its
converge, so that the secrets it collects were minted during the run being checked:
  * bootstrap tokens (`kubeadm token list -o json`, the bootstrap-token Secrets, and the kubeadm
    double's test-only ledger of every token it minted, see TOKEN_LEDGER),
  * certificate keys (from the double's test-only ledger, see CERT_KEY_LEDGER),
  * private keys (every PEM key under /etc/kubernetes and /var/lib/kubelet/pki, and the client
    keys inside kubeconfigs).
It takes an etcd snapshot with etcd_backup.yml at -vvv (its output goes to the log that
tests/scenarios/test_secrets_in_logs.py scans) and checks that snapshots are 0600 in 0700
directories on the control plane and on the controller, and that the run printed no secret.
It then checks that none of them is in any file on any host outside the places Kubernetes keeps
them (/etc/kubernetes, the etcd data dir, the kubelet's PKI, root's kubeconfig); that
kubeconfigs and keys are 0600 and owned by root (the controller's copy by the controller's
user); that haproxy listens on no port but the API frontend (its admin socket is a unix
socket); and that the kubeadm-certs Secret is gone once the control planes have joined.

The collected secrets go to `.artifacts/secrets-<scenario>.json` (0600), for
tests/scenarios/test_secrets_in_logs.py, which scans the scenario's whole -vvv log for them
after Molecule finished. No assertion message here ever contains a secret: only its kind, a
short hash and the file it was found in. Patterns reach the hosts on stdin, kept in /dev/shm
(memory) for the scan and removed after it.
"""

from __future__ import annotations

import base64
import configparser
import contextlib
import hashlib
import json
import os
import re
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from testinfra.utils.ansible_runner import AnsibleRunner

ROOT = Path(__file__).resolve().parents[3]
ADMIN_CONF = "/etc/kubernetes/admin.conf"
KUBECTL = ["kubectl", f"--kubeconfig={ADMIN_CONF}"]
# Where Kubernetes itself keeps keys and tokens, and where the playbook puts root's admin kubeconfig:
# never scanned, their modes are checked instead.
# etcd snapshots (etcd_backup.yml, etcd_restore.yml) hold every Secret of the cluster: their
# directory is a keeper too, and its modes are checked (test_etcd_snapshots_are_private).
SNAPSHOTS = "/var/lib/kubeha/etcd-backups"
KEEPERS = ["/etc/kubernetes", "/var/lib/etcd", "/var/lib/kubelet/pki", "/root/.kube", SNAPSHOTS]
NOT_FILES = ["/proc", "/sys", "/dev"]
# The kubeadm double's test-only records of every certificate key and bootstrap token it minted
# or was given (one per line), so that secrets already deleted or expired are checked too.
CERT_KEY_LEDGER = "/var/lib/kubeadm-double/certificate-keys"
TOKEN_LEDGER = "/var/lib/kubeadm-double/tokens"
PEM_KEY = re.compile(r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----\r?\n(.*?)\r?\n-----END \1PRIVATE KEY-----", re.DOTALL)
CLIENT_KEY_DATA = re.compile(r"client-key-data:\s*(\S+)")
SCAN_TIMEOUT = 300


def scenario() -> str:
    return Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]).name


def artifact_path() -> Path:
    return ROOT / ".artifacts" / f"secrets-{scenario()}.json"


def short(secret: str) -> str:
    """What a message may show of a secret."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def docker(host: str, script: str, stdin: str = "", timeout: int = 120) -> subprocess.CompletedProcess[str]:
    # Molecule names each container after its inventory host (community.docker.docker connection).
    return subprocess.run(
        ["docker", "exec", "-i", host, "sh", "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def pem_fingerprints(pem_body: str) -> list[str]:
    """Random-looking pieces of a PEM key: whole inner lines of its base64 body (never the
    first, which is a common ASN.1 header), as they appear in any rendering of the PEM."""
    lines = [line.strip() for line in pem_body.splitlines() if line.strip()]
    return [line for line in lines[2:5] if len(line) >= 40]


def key_fingerprints(text: str) -> list[str]:
    found = []
    for match in PEM_KEY.finditer(text):
        found += pem_fingerprints(match.group(2))
        # The same key base64-encoded whole, as kubeconfigs carry it (client-key-data).
        encoded = base64.b64encode(match.group(0).encode() + b"\n").decode()
        found.append(encoded[200:264])
    for match in CLIENT_KEY_DATA.finditer(text):
        data = match.group(1)
        found.append(data[200:264])
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            found += key_fingerprints(base64.b64decode(data).decode())
    return [f for f in found if len(f) >= 40]


class Cluster:
    def __init__(self) -> None:
        self.runner = AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
        self.lbs = self.runner.get_hosts("loadbalancer")
        self.cps = self.runner.get_hosts("control_plane")
        self.workers = self.runner.get_hosts("workers")
        self.everyone = list(dict.fromkeys(self.lbs + self.cps + self.workers))
        self.nodes = list(dict.fromkeys(self.cps + self.workers))

    def kubectl_json(self, *args: str) -> dict:
        result = docker(self.cps[0], " ".join([*KUBECTL, *args, "-o", "json"]))
        assert result.returncode == 0, f"kubectl {' '.join(args)} failed on {self.cps[0]}: {result.stderr[-500:]}"
        return parse_json(result.stdout, f"kubectl {' '.join(args)}")


def parse_json(text: str, what: str) -> Any:
    """Every JSON document in text (one, or several in a row as `kubeadm token list -o json`
    prints them). A parse error is re-raised without the text, which may hold secrets: pytest
    shows each frame's arguments in a traceback."""
    documents, decoder, index = [], json.JSONDecoder(), 0
    try:
        text = text.strip()
        while index < len(text):
            document, index = decoder.raw_decode(text, index)
            documents.append(document)
            while index < len(text) and text[index].isspace():
                index += 1
    except ValueError:
        raise AssertionError(f"the output of {what} is not JSON (withheld: it may hold secrets)") from None
    return documents[0] if len(documents) == 1 else documents


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    found = Cluster()
    assert found.cps, "no control_plane hosts in the scenario's inventory"
    return found


class Collected(dict):
    """The collected secrets; pytest shows fixtures in failure reports, so the repr tells only counts."""

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{len(self.get(kind, []))} {kind}" for kind in ("tokens", "certificate_keys", "private_keys")
        )
        return f"<secrets withheld: {counts}>"


def collect_tokens(cluster: Cluster) -> list[str]:
    tokens: set[str] = set()
    listed = docker(cluster.cps[0], "kubeadm token list -o json")
    assert listed.returncode == 0, f"kubeadm token list failed: {listed.stderr[-500:]}"
    listing = parse_json(listed.stdout, "kubeadm token list -o json") if listed.stdout.strip() else []
    for entry in listing if isinstance(listing, list) else [listing]:
        if entry.get("token"):
            tokens.add(entry["token"])
    for secret in cluster.kubectl_json("get", "secrets", "-n", "kube-system")["items"]:
        if secret.get("type") == "bootstrap.kubernetes.io/token":
            data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
            if data.get("token-id") and data.get("token-secret"):
                tokens.add(f"{data['token-id']}.{data['token-secret']}")
    for host in cluster.cps:
        ledger = docker(host, f"cat {TOKEN_LEDGER} 2>/dev/null || true")
        tokens |= {
            t.strip() for t in ledger.stdout.splitlines() if re.fullmatch(r"[a-z0-9]{6}\.[a-z0-9]{16}", t.strip())
        }
    # The secret half alone is the secret (the id is public).
    return sorted(tokens | {t.split(".", 1)[1] for t in tokens})


def collect_certificate_keys(cluster: Cluster) -> list[str]:
    keys: set[str] = set()
    for host in cluster.cps:
        ledger = docker(host, f"cat {CERT_KEY_LEDGER} 2>/dev/null || true")
        keys |= {line.strip() for line in ledger.stdout.splitlines() if re.fullmatch(r"[0-9a-f]{64}", line.strip())}
    return sorted(keys)


def collect_private_keys(cluster: Cluster) -> list[str]:
    fingerprints: set[str] = set()
    for host in cluster.nodes:
        files = docker(
            host,
            "find /etc/kubernetes /var/lib/kubelet/pki -type f "
            r"\( -name '*.key' -o -name '*.pem' -o -name '*.conf' \) -exec cat {} + 2>/dev/null || true",
        )
        fingerprints |= set(key_fingerprints(files.stdout))
    return sorted(fingerprints)


def fact_cache_dir() -> str:
    """The controller's fact cache directory, when a file-based one is enabled."""
    parser = configparser.ConfigParser(interpolation=None)
    if os.environ.get("ANSIBLE_CONFIG"):
        parser.read(os.environ["ANSIBLE_CONFIG"])
    plugin = os.environ.get("ANSIBLE_CACHE_PLUGIN") or parser.get("defaults", "fact_caching", fallback="memory")
    connection = os.environ.get("ANSIBLE_CACHE_PLUGIN_CONNECTION") or parser.get(
        "defaults", "fact_caching_connection", fallback=""
    )
    return connection if plugin != "memory" and connection else ""


@pytest.fixture(scope="module")
def secrets(cluster: Cluster) -> Collected:
    collected = Collected(
        {
            "run": str(uuid.uuid4()),
            "scenario": scenario(),
            "tokens": collect_tokens(cluster),
            "certificate_keys": collect_certificate_keys(cluster),
            "private_keys": collect_private_keys(cluster),
            "fact_cache": fact_cache_dir(),
        }
    )
    path = artifact_path()
    path.parent.mkdir(exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(collected))
    print(f"\nKUBEHA-SECRETS-RUN {collected['run']}")
    for kind in ("tokens", "certificate_keys", "private_keys"):
        print(f"KUBEHA-FIGURE {scenario()}.secrets_collected.{kind}: {len(collected[kind])}")
    return collected


def all_patterns(secrets: dict) -> dict[str, str]:
    return {s: kind for kind in ("tokens", "certificate_keys", "private_keys") for s in secrets[kind]}


def test_secrets_were_minted_and_collected(secrets: dict) -> None:
    assert secrets["tokens"], "no bootstrap token found: the scan would prove nothing"
    assert secrets["private_keys"], "no private key found under /etc/kubernetes: the scan would prove nothing"


def test_certificate_keys_were_collected(secrets: dict) -> None:
    assert secrets["certificate_keys"], (
        f"no certificate key collected: the kubeadm double must record every certificate key it mints "
        f"or is given (one 64-hex key per line) in {CERT_KEY_LEDGER} on the control planes"
    )


def scan_host(host: str, patterns: Collected) -> list[str]:
    prune = " -o ".join(f"-path {p}" for p in NOT_FILES + KEEPERS + [CERT_KEY_LEDGER, TOKEN_LEDGER])
    script = (
        'p=$(mktemp -p /dev/shm) && cat > "$p" && '
        f"find / \\( {prune} \\) -prune -o -type f -size -64M -print0 "
        '| xargs -0 -r grep -lF -f "$p" 2>/dev/null; rm -f "$p"'
    )
    try:
        result = docker(host, script, stdin="\n".join(all_patterns(patterns)) + "\n", timeout=SCAN_TIMEOUT)
    except subprocess.SubprocessError as exc:
        # Re-raised without the frames below, whose arguments hold the patterns.
        raise AssertionError(f"the scan of {host} failed: {type(exc).__name__}") from None
    return [line for line in result.stdout.splitlines() if line]


def test_no_secret_in_files_outside_kubernetes(cluster: Cluster, secrets: dict) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = dict(zip(cluster.everyone, pool.map(lambda h: scan_host(h, secrets), cluster.everyone)))
    leaks = {host: files for host, files in found.items() if files}
    assert not leaks, f"files outside {', '.join(KEEPERS)} hold a token, certificate key or private key: {leaks}"


def test_no_secret_in_the_controllers_fact_cache(secrets: dict) -> None:
    cache = secrets["fact_cache"]
    if not cache:
        return  # no file-based fact cache: facts live in memory only
    patterns = all_patterns(secrets)
    leaks = []
    for path in Path(cache).rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            leaks += [f"{path}: {kind} {short(s)}" for s, kind in patterns.items() if s in text]
    assert not leaks, leaks


def stat(host: str, pattern: str) -> list[tuple[str, str, str]]:
    result = docker(host, f'for f in {pattern}; do [ -e "$f" ] && stat -c \'%n %a %U:%G\' "$f"; done; true')
    return [tuple(line.split(" ")) for line in result.stdout.splitlines() if line]  # type: ignore[misc]


def test_kubeconfigs_and_keys_are_private_to_root(cluster: Cluster) -> None:
    wrong = []
    for host in cluster.nodes:
        files = stat(
            host, "/etc/kubernetes/*.conf /var/lib/kubelet/pki/*.key /var/lib/kubelet/pki/*.pem /root/.kube/config"
        )
        keys = docker(
            host, "find /etc/kubernetes/pki -name '*.key' -exec stat -c '%n %a %U:%G' {} + 2>/dev/null || true"
        )
        files += [tuple(line.split(" ")) for line in keys.stdout.splitlines() if line]  # type: ignore[misc]
        wrong += [
            f"{host}:{name} {mode} {owner}" for name, mode, owner in files if (mode, owner) != ("600", "root:root")
        ]
        assert any(entry[0].endswith("kubelet.conf") for entry in files), f"{host} has no kubelet.conf: not converged?"
    for host in cluster.lbs:
        wrong += [
            f"{host}:{name} {mode} {owner}"
            for name, mode, owner in stat(host, "/root/.kube/config")
            if (mode, owner) != ("600", "root:root")
        ]
    assert not wrong, f"kubeconfigs and keys must be 0600 root:root: {wrong}"


def test_the_controllers_kubeconfig_is_private(cluster: Cluster) -> None:
    directory = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
    for path in directory.glob("*.config"):
        info = path.stat()
        assert (info.st_mode & 0o777, info.st_uid) == (0o600, os.getuid()), f"{path} is {oct(info.st_mode & 0o777)}"


def test_haproxy_listens_only_on_the_api_frontend(cluster: Cluster) -> None:
    for host in cluster.lbs:
        port = str(cluster.runner.get_variables(host).get("kubeha_api_port", 6443))
        listening = docker(host, "ss -Hlntup")
        assert listening.returncode == 0, listening.stderr
        haproxy = [line.split()[4] for line in listening.stdout.splitlines() if '"haproxy"' in line]
        assert haproxy, f"{host}: haproxy is not listening at all:\n{listening.stdout}"
        others = [local for local in haproxy if not local.endswith(f":{port}")]
        assert not others, f"{host}: haproxy listens on {others} besides the API frontend :{port}"
        sockets = docker(host, "ss -Hlxp")
        assert '"haproxy"' in sockets.stdout, f"{host}: haproxy's admin socket is not a unix socket:\n{sockets.stdout}"


def test_kubeadm_certs_secret_is_gone_after_the_joins(cluster: Cluster) -> None:
    nodes = {n["metadata"]["name"] for n in cluster.kubectl_json("get", "nodes")["items"]}
    assert len(nodes) >= len(cluster.cps), f"not every control plane has joined: {sorted(nodes)}"
    result = docker(cluster.cps[0], " ".join([*KUBECTL, "-n", "kube-system", "get", "secret", "kubeadm-certs"]))
    assert result.returncode != 0, "the kubeadm-certs Secret still exists after every control plane joined"
    assert "NotFound" in result.stderr or "not found" in result.stderr, result.stderr[-500:]


def run_verbose(playbook: str, extra_vars: str) -> str:
    """Run one of the collection's playbooks at -vvv on the scenario's inventory; its output goes
    into the scenario's log, which test_secrets_in_logs.py scans for every collected secret."""
    result = subprocess.run(
        [
            "ansible-playbook",
            "-vvv",
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            "-e",
            extra_vars,
            str(ROOT / "playbooks" / playbook),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    print(output)
    assert result.returncode == 0, f"{playbook} failed (its output is in the log above)"
    return output


def test_etcd_snapshots_are_private_and_their_run_prints_no_secret(cluster: Cluster, secrets: dict) -> None:
    local = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "etcd-backups"
    output = run_verbose("etcd_backup.yml", f"kubeha_etcd_backup_local_dir={local}")
    printed = [f"{kind} {short(s)}" for s, kind in all_patterns(secrets).items() if s in output]
    assert not printed, f"etcd_backup.yml printed secrets: {printed}"
    wrong = []
    for host in cluster.cps:
        listed = docker(host, f"[ -d {SNAPSHOTS} ] && find {SNAPSHOTS} -exec stat -c '%n %a %F' {{}} + || true")
        for line in listed.stdout.splitlines():
            name, mode, kind = line.split(" ", 2)
            if mode != ("700" if kind == "directory" else "600"):
                wrong.append(f"{host}:{name} {mode}")
    fetched = sorted(local.glob("*.db"))
    assert fetched, f"no snapshot was fetched to {local}"
    wrong += [f"controller:{p} {oct(p.stat().st_mode & 0o777)}" for p in local.iterdir() if p.stat().st_mode & 0o077]
    if local.stat().st_mode & 0o077:
        wrong.append(f"controller:{local} {oct(local.stat().st_mode & 0o777)}")
    assert not wrong, f"etcd snapshots must be 0600 in 0700 directories: {wrong}"


def test_certificate_renewal_prints_no_secret(cluster: Cluster, secrets: dict) -> None:
    """certificates.yml renewing everything at -vvv: its output goes to the scenario's log, and the
    private keys the renewal wrote join the collected ones that test_secrets_in_logs.py looks for."""
    output = run_verbose("certificates.yml", "kubeha_certificates_renew_all=true")
    assert "renewed admin.conf" in output, "certificates.yml with kubeha_certificates_renew_all renewed nothing"
    renewed = collect_private_keys(cluster)
    secrets["private_keys"] = sorted(set(secrets["private_keys"]) | set(renewed))
    artifact_path().write_text(json.dumps(secrets))
    printed = [f"{kind} {short(s)}" for s, kind in all_patterns(secrets).items() if s in output]
    assert not printed, f"certificates.yml printed secrets: {printed}"
