"""Shared helpers of the HA drills (molecule/drills): probes, container control, playbook runs.

Everything here talks only to the scenario's own containers on the docker network it created
(172.28.60.0/24) and to loopback; every loop is bounded in count and in time. The upgrade
scenario (molecule/upgrade, 172.28.62.0/24) has the same load balancers and control planes, two
workers, and uses these helpers on its own containers: the names, addresses and workers follow
the scenario Molecule runs.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from helpers import ETCD_CLIENT_TLS, wait_until

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOKS = ROOT / "playbooks"
SCENARIO = os.environ.get("MOLECULE_SCENARIO_NAME", "drills")
PREFIX = f"kubeha-{SCENARIO}"


def scenario_platforms(scenario: str) -> list[dict]:
    """The scenario's platforms, from its molecule.yml.

    Read rather than tabled: other scenarios (upgrade, cp_loadbalancer) import this module.
    """
    return yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text())["platforms"]


def scenario_subnet(scenario: str) -> str:
    """The /24 (first three octets) the scenario's first platform sits on."""
    return scenario_platforms(scenario)[0]["networks"][0]["ipv4_address"].rsplit(".", 1)[0]


SUBNET = scenario_subnet(SCENARIO)
LBS = [f"{PREFIX}-lb1", f"{PREFIX}-lb2"]
CONTROL_PLANES = [f"{PREFIX}-cp1", f"{PREFIX}-cp2", f"{PREFIX}-cp3"]
# The cluster's workers (the drills' w1; the upgrade drill's w1 and w2), spares left out.
_WORKER_PLATFORMS = [p for p in scenario_platforms(SCENARIO) if "workers" in p.get("groups", [])]
WORKERS = [p["name"] for p in _WORKER_PLATFORMS]
NODE_NAMES = {"cp1", "cp2", "cp3", *(p["hostname"] for p in _WORKER_PLATFORMS)}
# Spare machines in no cluster group: drills add them with an extra inventory (extra_inventory).
SPARE_CONTROL_PLANE = f"{PREFIX}-cp4"
SPARE_WORKER = f"{PREFIX}-w2"
DOUBLE_NODES = [*CONTROL_PLANES, *WORKERS, SPARE_CONTROL_PLANE, SPARE_WORKER]
VIP = f"{SUBNET}.100"
PORT = 6443
STATS_SOCKET = "/run/haproxy/admin.sock"
ETCD_CLIENT = " ".join(ETCD_CLIENT_TLS)
RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def figure(name: str, value: str) -> None:
    """Report a measured figure in the project's format (collected by the test runner)."""
    print(f"\nKUBEHA-FIGURE {SCENARIO}.{name}: {value}", flush=True)


def kubeconfig() -> Path:
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / f"{PREFIX}.config"


def sh(container: str, command: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run a shell command in a node container (docker exec: much faster than Ansible per call)."""
    try:
        return subprocess.run(
            ["docker", "exec", container, "sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([container, command], 124, "", "timed out")


def docker(*argv: str, timeout: float = 60) -> None:
    subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout, check=True)


def running(container: str) -> bool:
    result = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", container],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.stdout.strip() == "true"


def server_states(lb: str, servers: tuple[str, ...] | list[str] = tuple(CONTROL_PLANES)) -> dict[str, str]:
    """haproxy's view of the API server backends `servers` (UP, DOWN, "UP 1/2", ...) on one LB."""
    result = sh(lb, f"echo 'show stat' | socat stdio UNIX-CONNECT:{STATS_SOCKET}", timeout=10)
    lines = result.stdout.splitlines()
    if result.returncode != 0 or not lines:
        return {}
    header = lines[0].lstrip("# ").split(",")
    states = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("svname") in servers:
            states[row["svname"]] = row["status"]
    return states


def vip_holders() -> list[str]:
    return [lb for lb in LBS if running(lb) and f" {VIP}/" in sh(lb, "ip -4 -o addr show").stdout]


def etcd_members(via: str) -> list[dict]:
    result = sh(via, f"curl -sS -m 5 -X POST -d '{{}}' {ETCD_CLIENT} https://127.0.0.1:2379/v3/cluster/member/list")
    if result.returncode != 0:
        return []
    return json.loads(result.stdout).get("members", [])


def etcd_healthy(via: str, member: dict) -> bool:
    """The member answers /health with "true" (it sees a leader: the cluster has quorum)."""
    urls = member.get("clientURLs") or [""]
    result = sh(via, f"curl -sS -m 5 {ETCD_CLIENT} {urls[0]}/health", timeout=10)
    return result.returncode == 0 and '"health":"true"' in result.stdout.replace(" ", "")


def etcd_keys(container: str, needle: str) -> list[str]:
    """Keys containing `needle` in the container's OWN etcd member (serializable: no quorum read)."""
    body = json.dumps({"key": "AA==", "range_end": "AA==", "keys_only": True, "serializable": True})
    result = sh(container, f"curl -sS -m 5 -X POST -d '{body}' {ETCD_CLIENT} https://127.0.0.1:2379/v3/kv/range")
    if result.returncode != 0:
        return []
    keys = [base64.b64decode(kv["key"]).decode() for kv in json.loads(result.stdout).get("kvs", [])]
    return [key for key in keys if needle in key]


def ca_context() -> ssl.SSLContext:
    """TLS verified against the cluster CA from the kubeconfig the playbook wrote (VIP in the SANs)."""
    config = yaml.safe_load(kubeconfig().read_text())
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    return ssl.create_default_context(cadata=ca)


def readyz(context: ssl.SSLContext, timeout: float = 1.0, address: str = VIP, port: int = PORT) -> bool:
    """GET /readyz through the VIP: True only for a 200 (the API double needs etcd quorum)."""
    connection = http.client.HTTPSConnection(address, port, timeout=timeout, context=context)
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def kubectl(*argv: str, stdin: str | None = None, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["kubectl", f"--kubeconfig={kubeconfig()}", f"--request-timeout={int(timeout)}s", *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout + 5,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", "timed out")


@dataclass
class Prober:
    """`probe` `rate` times a second in a thread, bounded in count and time.

    The probe is GET /readyz through the VIP with `context` unless another one is given.
    """

    context: ssl.SSLContext | None = None
    rate: float = 10.0
    limit: float = 180.0
    probe: Callable[[], bool] | None = None
    results: list[tuple[float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        start = time.monotonic()
        for _probe in range(int(self.limit * self.rate)):
            if self._stop.is_set() or time.monotonic() - start > self.limit:
                return
            sent = time.monotonic()
            ok = self.probe() if self.probe else readyz(self.context, timeout=1.0 / self.rate * 9)
            self.results.append((sent, ok))
            time.sleep(max(0.0, 1.0 / self.rate - (time.monotonic() - sent)))

    def __enter__(self) -> Prober:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=20)  # a slow probe (a kubectl call) may still be in flight

    def rate_since(self, since: float, until: float | None = None) -> tuple[int, int]:
        window = [ok for sent, ok in list(self.results) if sent >= since and (until is None or sent < until)]
        return sum(window), len(window)


def all_backends_up() -> bool:
    return all(server_states(lb) == dict.fromkeys(CONTROL_PLANES, "UP") for lb in LBS)


def etcd_is_whole() -> bool:
    members = etcd_members(CONTROL_PLANES[0])
    names = sorted(m.get("name", "") for m in members)
    return names == ["cp1", "cp2", "cp3"] and all(etcd_healthy(CONTROL_PLANES[0], m) for m in members)


def cluster_is_healthy() -> bool:
    """Every container runs, every backend UP on both LBs, lb1 holds the VIP, etcd whole."""
    return (
        all(running(name) for name in LBS + CONTROL_PLANES + WORKERS)
        and vip_holders() == [LBS[0]]
        and all_backends_up()
        and etcd_is_whole()
    )


def wait_healthy(timeout: float = 180) -> float:
    return wait_until(cluster_is_healthy, timeout, "the cluster is whole again (VIP on lb1, 3 UP backends, 3 etcd)")


def extra_inventory(name: str, groups: dict[str, list[str]]) -> str:
    """An inventory file that adds hosts of Molecule's inventory to cluster groups (used with it)."""
    path = kubeconfig().parent / f"extra-{name}.yml"
    children = {group: {"hosts": {host: {} for host in hosts}} for group, hosts in groups.items()}
    path.write_text(yaml.safe_dump({"all": {"children": children}}))
    return str(path)


def playbook_argv(playbook: str = "ha_cluster.yml", *args: str, inventories: tuple[str, ...] = ()) -> list[str]:
    """ansible-playbook for one of the collection's playbooks on Molecule's inventory (+ `inventories`)."""
    argv = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"]]
    for inventory in inventories:
        argv += ["-i", inventory]
    return [*argv, *args, str(PLAYBOOKS / playbook)]


def run_playbook(
    playbook: str = "ha_cluster.yml",
    *args: str,
    inventories: tuple[str, ...] = (),
    timeout: float = 900,
) -> tuple[int, dict[str, dict], str, float]:
    """Run a playbook (see playbook_argv); return rc, the recap by host, the output and the seconds."""
    start = time.monotonic()
    try:
        result = subprocess.run(
            playbook_argv(playbook, *args, inventories=inventories),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        returncode, output = result.returncode, result.stdout + result.stderr
    except subprocess.TimeoutExpired as error:
        returncode = 124
        output = (error.stdout or b"").decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
    return returncode, recap_of(output), output, time.monotonic() - start


def recap_of(output: str) -> dict[str, dict]:
    return {m["host"]: m.groupdict() for m in RECAP_LINE.finditer(output)}


def changed_hosts(recap: dict[str, dict]) -> dict[str, int]:
    return {host: int(row["changed"]) for host, row in recap.items() if int(row["changed"])}


def assert_rerun_changes_nothing(drill: str, inventories: tuple[str, ...] = ()) -> None:
    """Drill 6: after a drill, ha_cluster.yml on the restored cluster reports changed=0 everywhere."""
    returncode, recap, output, took = run_playbook(inventories=inventories)
    changed = changed_hosts(recap)
    figure(f"{drill}.rerun_after_drill", f"changed={sum(changed.values())} on {len(recap)} hosts in {took:.0f} s")
    assert returncode == 0, f"ha_cluster.yml after the {drill} drill failed:\n{output[-4000:]}"
    assert recap, f"no play recap:\n{output[-4000:]}"
    assert not changed, f"ha_cluster.yml after the {drill} drill changed {changed}:\n{output[-6000:]}"


def remove_nodes(*hosts: str, inventories: tuple[str, ...] = ()) -> float:
    """remove_node.yml for `hosts`; asserts success and that a second run changes nothing."""
    returncode, _recap, output, took = run_playbook(
        "remove_node.yml", "-e", f"kubeha_remove_nodes={','.join(hosts)}", inventories=inventories
    )
    assert returncode == 0, f"remove_node.yml {hosts} failed:\n{output[-4000:]}"
    return took


def etcd_member_names() -> list[str]:
    """Every member's name, "" for an unstarted one, sorted."""
    return sorted(m.get("name", "") for m in etcd_members(CONTROL_PLANES[0]))


def node_names() -> set[str]:
    listed = kubectl("get", "nodes", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    return {name.removeprefix("node/") for name in listed.stdout.split()}


def haproxy_servers(lb: str) -> list[str]:
    """The API servers in the LB's haproxy configuration (what is configured, not their state)."""
    config = sh(lb, "cat /etc/haproxy/haproxy.cfg").stdout
    return [line.split()[1] for line in config.splitlines() if line.strip().startswith("server ")]


def set_clock_offset(offset: str | None) -> None:
    """Move the kubeadm double's clock (token and kubeadm-certs expiry) on every double node.

    The configuration directory exists only on the golden image: a node installed from the
    packages gets it here.
    """
    for name in DOUBLE_NODES:
        command = (
            f"mkdir -p /etc/kubeadm-double && echo {offset} > /etc/kubeadm-double/clock-offset"
            if offset
            else "rm -f /etc/kubeadm-double/clock-offset"
        )
        assert sh(name, command).returncode == 0, f"cannot set the clock offset on {name}"


def boot(container: str) -> None:
    """Start a node container and wait until its systemd has booted (bounded)."""
    docker("start", container)
    wait_until(
        lambda: sh(container, "systemctl is-system-running").stdout.strip() in {"running", "degraded"},
        180,
        f"{container} has booted",
    )
