"""Verify the converged default scenario (1 LB, 3 control planes, 2 workers on the kubeadm test double).

What is checked is real: etcd (the Debian etcd binary, real membership), haproxy's backend
states, kubectl (the official binary) through the load balancer, the files' modes and contents.
The nodes' kubelet, kubeadm and kube-apiserver are the test double (tests/kubeadm_double/).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import testinfra
from helpers import ETCD_CLIENT_TLS

LB = "kubeha-default-lb"
CONTROL_PLANES = ["kubeha-default-cp1", "kubeha-default-cp2", "kubeha-default-cp3"]
NODE_NAMES = {"cp1", "cp2", "cp3", "w1", "w2"}
ENDPOINT = "https://172.28.20.10:6443"
LOCAL_KUBECONFIG = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "kubeha-default.config"


@cache
def node(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def run_json(host: testinfra.host.Host, *argv: str) -> dict:
    result = host.run_expect([0], " ".join(f"'{a}'" for a in argv))
    return json.loads(result.stdout)


def test_three_healthy_etcd_members() -> None:
    cp1 = node(CONTROL_PLANES[0])
    members = run_json(
        cp1, "curl", "-sS", "-X", "POST", "-d", "{}", *ETCD_CLIENT_TLS, "https://127.0.0.1:2379/v3/cluster/member/list"
    )["members"]
    assert sorted(m.get("name", "") for m in members) == ["cp1", "cp2", "cp3"], members
    for member in members:
        health = run_json(cp1, "curl", "-sS", *ETCD_CLIENT_TLS, member["clientURLs"][0] + "/health")
        assert health.get("health") == "true", (member["name"], health)


def test_every_node_ready_through_the_load_balancer() -> None:
    def kubectl(*argv: str) -> str:
        argv_full = ["kubectl", f"--kubeconfig={LOCAL_KUBECONFIG}", *argv]
        result = subprocess.run(argv_full, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert kubectl("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}") == ENDPOINT
    nodes = json.loads(kubectl("get", "nodes", "-o", "json"))["items"]
    ready = {
        n["metadata"]["name"]
        for n in nodes
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
    }
    assert {n["metadata"]["name"] for n in nodes} == NODE_NAMES
    assert ready == NODE_NAMES
    print(f"KUBEHA-FIGURE default nodes Ready through the LB: {len(ready)}/{len(NODE_NAMES)}")


def test_all_haproxy_backends_up() -> None:
    stats = node(LB).run_expect([0], "echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock").stdout
    servers = {
        fields[1]: fields[17]
        for fields in (line.split(",") for line in stats.splitlines() if line and not line.startswith("#"))
        if fields[1] not in ("FRONTEND", "BACKEND")
    }
    assert servers == dict.fromkeys(CONTROL_PLANES, "UP"), servers


def test_kubeconfigs_are_private_and_point_at_the_load_balancer() -> None:
    for name in [LB, *CONTROL_PLANES]:
        kubeconfig = node(name).file("/root/.kube/config")
        assert kubeconfig.exists, name
        assert kubeconfig.mode == 0o600, (name, oct(kubeconfig.mode))
        assert f"server: {ENDPOINT}" in kubeconfig.content_string, name
    assert stat.S_IMODE(LOCAL_KUBECONFIG.stat().st_mode) == 0o600
    assert f"server: {ENDPOINT}" in LOCAL_KUBECONFIG.read_text()


def json_stream(text: str) -> list[dict]:
    """The documents of `kubeadm ... -o json`, which prints one JSON object after another."""
    decoder, position, documents = json.JSONDecoder(), 0, []
    text = text.strip()
    while position < len(text):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
        position = len(text) - len(text[position:].lstrip())
    return documents


def test_no_bootstrap_token_outlives_the_configured_ttl() -> None:
    """kubeadm init's own token lives kubeadm_init_token_ttl (2 h), not kubeadm's 24 h default."""
    listed = node(CONTROL_PLANES[0]).run_expect([0], "kubeadm token list -o json").stdout
    # Only token IDs (the public half) are kept, so no secret reaches the log.
    expiries = {
        document["token"].split(".")[0]: datetime.fromisoformat(document["expires"].replace("Z", "+00:00"))
        for document in json_stream(listed)
    }
    latest = datetime.now(timezone.utc) + timedelta(hours=2, minutes=1)
    assert expiries, "kubeadm token list showed no token"
    late = {token_id: str(expires) for token_id, expires in expiries.items() if expires > latest}
    assert not late, f"bootstrap tokens valid beyond 2 h: {late}"


def test_summary_shows_the_earliest_certificate_and_ca_expiry() -> None:
    """summary.yml's certificate line names what kubeadm certs check-expiration reads first to expire."""
    info = run_json(node(CONTROL_PLANES[0]), "kubeadm", "certs", "check-expiration", "-o", "json")
    present = [c for c in info["certificates"] if not c["missing"]]
    first = min(present, key=lambda c: c["residualTime"])
    first_ca = min(info["certificateAuthorities"], key=lambda c: c["residualTime"])
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], "playbooks/summary.yml"],
        cwd=Path(__file__).resolve().parents[3],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    line = " ".join(next(s for s in result.stdout.splitlines() if "certificates on " in s).split())
    assert f"certificates on {CONTROL_PLANES[0]}: the first to expire is {first['name']} on " in line, line
    assert f"({first['residualTime'] // 86400} days left)" in line, line
    assert f"the first CA {first_ca['name']} on " in line, line
    assert "renew with playbooks/certificates.yml" in line, line
