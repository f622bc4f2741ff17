"""Verify the `loadbalancer` scenario through the keepalived VIP.

Two haproxy load balancers (lb1, lb2) share a VIP in front of three HTTPS /readyz fixtures
(be1..be3). Every figure a test measures (detection time, failover success rate) is printed.
Traffic goes only to the scenario's own containers on the docker network it created; every
probe loop is bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import helpers
import pytest
import testinfra

LB_NAMES = ("lb1", "lb2")
BACKEND_NAMES = ("be1", "be2", "be3")
# Debian's haproxy (the node image): the role's vars/Debian.yml places the admin socket here.
STATS_SOCKET = "/run/haproxy/admin.sock"
UNREADY_MARKER = "/run/readyz-fixture-unready"
PROXY = "kube-apiserver"
# Polling granularity and slack allowed on top of haproxy's own timing, for docker exec latency.
POLL = 0.1
SLACK = 0.75
# The share of probes that must succeed through the VIP while it fails over twice and back.
MIN_FAILOVER_SUCCESS_RATE = 0.80


def figure(name: str, value: str) -> None:
    """Report a measured figure in the project's format (collected by the test runner)."""
    print(f"\nKUBEHA-FIGURE loadbalancer.{name}: {value}")


def _get_host(name: str) -> testinfra.host.Host:
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


@pytest.fixture(scope="module")
def hosts() -> dict[str, testinfra.host.Host]:
    return {name: _get_host(name) for name in LB_NAMES + BACKEND_NAMES}


@pytest.fixture(scope="module")
def lb_vars(hosts: dict[str, testinfra.host.Host]) -> dict:
    return hosts["lb1"].ansible.get_variables()


@pytest.fixture(scope="module")
def vip(lb_vars: dict) -> tuple[str, int]:
    return lb_vars["loadbalancer_keepalived_vip"], int(lb_vars.get("loadbalancer_frontend_port", 6443))


def seconds(value: str | int) -> float:
    """An haproxy time ("1s", "500ms", "2m", or bare milliseconds) in seconds."""
    match = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)?", str(value).strip())
    assert match, f"not an haproxy time: {value!r}"
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1e-3}
    return int(match[1]) * unit[match[2]]


def whoami(address: str, port: int, timeout: float = 1.0) -> str | None:
    """The backend that answers GET /whoami through the VIP, or None on any failure."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the fixtures' certificates are throwaway self-signed ones
    connection = http.client.HTTPSConnection(address, port, timeout=timeout, context=context)
    try:
        connection.request("GET", "/whoami")
        response = connection.getresponse()
        body = response.read().decode().strip()
        return body if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def server_states(lb: testinfra.host.Host) -> dict[str, str]:
    """haproxy's view of every backend server (UP, DOWN, "UP 1/3", ...) from the admin socket."""
    out = lb.check_output(f"echo 'show stat' | socat stdio UNIX-CONNECT:{STATS_SOCKET}")
    lines = out.splitlines()
    header = lines[0].lstrip("# ").split(",")
    states = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(","), strict=False))
        if row.get("pxname") == PROXY and row.get("svname") in BACKEND_NAMES:
            states[row["svname"]] = row["status"]
    return states


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    return helpers.wait_until(condition, timeout, what, poll=POLL)


def vip_holders(hosts: dict[str, testinfra.host.Host], address: str) -> list[str]:
    return [name for name in LB_NAMES if f" {address}/" in hosts[name].check_output("ip -4 -o addr show")]


@pytest.fixture(autouse=True)
def healthy_start(hosts: dict[str, testinfra.host.Host], vip: tuple[str, int]) -> Iterator[None]:
    """Every test starts, and leaves, all backends ready, both LBs running, lb1 holding the VIP."""

    def restore() -> None:
        for name in BACKEND_NAMES:
            hosts[name].run(f"rm -f {UNREADY_MARKER}")
        for name in LB_NAMES:
            hosts[name].run("systemctl start haproxy keepalived")

    def all_healthy() -> bool:
        return all(set(server_states(hosts[name]).values()) == {"UP"} for name in LB_NAMES) and vip_holders(
            hosts, vip[0]
        ) == ["lb1"]

    restore()
    wait_until(all_healthy, 30, "every backend is UP on both LBs and lb1 holds the VIP")
    yield
    restore()


def test_requests_are_spread_over_all_backends(vip: tuple[str, int]) -> None:
    requests = 30
    answers = Counter(whoami(*vip) for _request in range(requests))
    figure("spread", f"{requests} requests through the VIP: {dict(sorted(answers.items(), key=str))}")
    assert set(answers) == set(BACKEND_NAMES), f"expected answers from every backend, got {dict(answers)}"
    for name in BACKEND_NAMES:
        assert answers[name] >= requests // 6, f"{name} got too few of {requests} requests: {dict(answers)}"


def test_unready_backend_is_marked_down_avoided_and_back_up(
    hosts: dict[str, testinfra.host.Host], lb_vars: dict, vip: tuple[str, int]
) -> None:
    inter = seconds(lb_vars["loadbalancer_check_inter"])
    downinter = seconds(lb_vars["loadbalancer_check_downinter"])
    fall = int(lb_vars.get("loadbalancer_server_fall", 3))
    rise = int(lb_vars.get("loadbalancer_server_rise", 2))
    victim = "be2"

    # /readyz starts failing: every LB must mark the server DOWN within fall x inter.
    hosts[victim].check_output(f"touch {UNREADY_MARKER}")
    marked = time.monotonic()
    detection: dict[str, float] = {}

    def all_down() -> bool:
        for name in LB_NAMES:
            if name not in detection and server_states(hosts[name])[victim] == "DOWN":
                detection[name] = time.monotonic() - marked
        return len(detection) == len(LB_NAMES)

    wait_until(all_down, 4 * fall * inter + 5, f"{victim} is DOWN on both LBs")
    for name, took in sorted(detection.items()):
        figure(f"down_detection.{name}", f"{took:.2f} s (fall x inter = {fall * inter:.1f} s)")
    for name, took in detection.items():
        assert took <= fall * inter + SLACK, f"{name} took {took:.2f} s, more than fall x inter = {fall * inter} s"
        # At least fall - 1 further checks must have failed: the per-server fall is in force.
        assert took >= (fall - 1) * inter - SLACK, f"{name} marked {victim} DOWN too early ({took:.2f} s)"

    answers = Counter(whoami(*vip) for _request in range(20))
    figure("spread_with_one_down", f"20 requests with {victim} DOWN: {dict(sorted(answers.items(), key=str))}")
    assert victim not in answers, f"traffic still reached {victim}: {dict(answers)}"
    assert None not in answers, f"some requests failed while {victim} was DOWN: {dict(answers)}"

    # /readyz answers 200 again: UP after `rise` successful checks (the first at downinter).
    hosts[victim].check_output(f"rm -f {UNREADY_MARKER}")
    healed = time.monotonic()
    recovery: dict[str, float] = {}

    def all_up() -> bool:
        for name in LB_NAMES:
            if name not in recovery and server_states(hosts[name])[victim] == "UP":
                recovery[name] = time.monotonic() - healed
        return len(recovery) == len(LB_NAMES)

    bound = downinter + (rise - 1) * inter
    wait_until(all_up, 4 * bound + 5, f"{victim} is UP again on both LBs")
    for name, took in sorted(recovery.items()):
        figure(f"up_recovery.{name}", f"{took:.2f} s (downinter + (rise - 1) x inter = {bound:.1f} s)")
    for name, took in recovery.items():
        assert took <= bound + SLACK, f"{name} took {took:.2f} s to mark {victim} UP, bound {bound} s"


@dataclass
class Prober:
    """GET /whoami through the VIP every 0.1 s in a thread, bounded in count and time."""

    address: str
    port: int
    max_seconds: float = 90.0
    max_probes: int = 1500
    results: list[tuple[float, bool]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        while not self._stop.is_set() and len(self.results) < self.max_probes and time.monotonic() < deadline:
            ok = whoami(self.address, self.port, timeout=0.5) is not None
            self.results.append((time.monotonic(), ok))
            self._stop.wait(0.1)

    @contextlib.contextmanager
    def running(self) -> Iterator[Prober]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=5)

    def longest_outage(self) -> float:
        longest, failing_since = 0.0, None
        for at, ok in self.results:
            if not ok and failing_since is None:
                failing_since = at
            elif ok and failing_since is not None:
                longest, failing_since = max(longest, at - failing_since), None
        return longest


def test_vip_follows_a_healthy_haproxy(hosts: dict[str, testinfra.host.Host], vip: tuple[str, int]) -> None:
    address, port = vip
    with Prober(address, port).running() as prober:
        for service in ("haproxy", "keepalived"):
            hosts["lb1"].check_output(f"systemctl stop {service}")
            took = wait_until(lambda: vip_holders(hosts, address) == ["lb2"], 20, f"the VIP moves to lb2 ({service})")
            figure(f"vip_move.{service}_stopped", f"VIP on lb2 {took:.2f} s after stopping {service} on lb1")
            time.sleep(2)
            hosts["lb1"].check_output(f"systemctl start {service}")
            took = wait_until(lambda: vip_holders(hosts, address) == ["lb1"], 20, f"the VIP returns to lb1 ({service})")
            figure(f"vip_move.{service}_started", f"VIP back on lb1 {took:.2f} s after starting {service}")
            time.sleep(2)

    probes = len(prober.results)
    succeeded = sum(ok for _at, ok in prober.results)
    rate = succeeded / probes if probes else 0.0
    figure(
        "vip_failover_success_rate",
        f"{rate:.1%} ({succeeded}/{probes} probes, longest outage {prober.longest_outage():.2f} s, "
        f"threshold {MIN_FAILOVER_SUCCESS_RATE:.0%})",
    )
    assert probes >= 50, f"too few probes ran ({probes})"
    assert rate >= MIN_FAILOVER_SUCCESS_RATE, f"only {rate:.1%} of probes through the VIP succeeded"


def test_admin_socket_is_local_and_no_stats_listener(hosts: dict[str, testinfra.host.Host], lb_vars: dict) -> None:
    port = int(lb_vars.get("loadbalancer_frontend_port", 6443))
    for name in LB_NAMES:
        lb = hosts[name]
        socket_file = lb.file(STATS_SOCKET)
        assert socket_file.is_socket
        assert socket_file.mode & 0o007 == 0, f"{name}: {STATS_SOCKET} is open to others ({socket_file.mode:o})"
        assert lb.check_output(f"echo 'show cli level' | socat stdio UNIX-CONNECT:{STATS_SOCKET}").strip() == "admin"
        listening = lb.check_output("ss -Htlnp")
        haproxy_ports = {line.split()[3].rsplit(":", 1)[1] for line in listening.splitlines() if '"haproxy"' in line}
        assert haproxy_ports == {str(port)}, f"{name}: haproxy listens on {haproxy_ports}, expected only {port}"


def test_keepalived_priorities_follow_the_hosts_order(hosts: dict[str, testinfra.host.Host]) -> None:
    priorities = {}
    for name in LB_NAMES:
        config = hosts[name].file("/etc/keepalived/keepalived.conf")
        assert config.mode == 0o600, f"{name}: keepalived.conf (it holds the VRRP password) is {config.mode:o}"
        match = re.search(r"^\s*priority (\d+)$", config.content_string, re.MULTILINE)
        assert match, f"{name}: no priority in keepalived.conf"
        priorities[name] = int(match[1])
    assert priorities["lb1"] > priorities["lb2"], priorities


def backend_entry_point(tmp_path, state: str, server: str, *args: str) -> tuple[int, str, dict[str, int]]:
    """Run the role's backend entry point on lb1, delegated to both load balancers; return the
    exit code, the output and the recap's changed count per host."""
    playbook = tmp_path / f"backend-{state}-{server}.yml"
    playbook.write_text(
        "- hosts: lb1\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.include_role:\n"
        "        name: kubeha.kubeadm.loadbalancer\n"
        "        tasks_from: backend\n"
        "      vars:\n"
        f"        loadbalancer_backend_server: {server}\n"
        f"        loadbalancer_backend_state: {state}\n"
        f"        loadbalancer_backend_hosts: {list(LB_NAMES)}\n"
    )
    result = subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], *args, str(playbook)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    changed = {m[1]: int(m[2]) for m in re.finditer(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", output, re.MULTILINE)}
    return result.returncode, output, changed


def test_backend_entry_point_drains_and_restores_a_server(hosts: dict[str, testinfra.host.Host], tmp_path) -> None:
    try:
        rc, output, changed = backend_entry_point(tmp_path, "drain", "be2")
        assert rc == 0, output[-3000:]
        assert changed == {"lb1": 1}, changed  # one task, looped over both load balancers
        for name in LB_NAMES:
            assert server_states(hosts[name])["be2"] == "DRAIN", (name, server_states(hosts[name]))
            assert server_states(hosts[name])["be1"] == "UP", (name, server_states(hosts[name]))

        rc, output, changed = backend_entry_point(tmp_path, "drain", "be2")
        assert rc == 0, output[-3000:]
        assert changed == {"lb1": 0}, f"a second drain changed something:\n{output[-3000:]}"

        rc, output, changed = backend_entry_point(tmp_path, "ready", "be2", "--check")
        assert rc == 0, output[-3000:]
        assert changed == {"lb1": 1}, f"check mode must report the change:\n{output[-3000:]}"
        assert all(server_states(hosts[name])["be2"] == "DRAIN" for name in LB_NAMES), "check mode changed haproxy"

        rc, output, changed = backend_entry_point(tmp_path, "drain", "no-such-server")
        assert rc != 0, output[-3000:]
        assert "loadbalancer_backend_server=no-such-server could not be read on lb1, lb2" in " ".join(output.split())
    finally:
        rc, output, changed = backend_entry_point(tmp_path, "ready", "be2")
    assert rc == 0, output[-3000:]
    assert changed == {"lb1": 1}, changed
    wait_until(
        lambda: all(server_states(hosts[name])["be2"] == "UP" for name in LB_NAMES), 10, "be2 is UP again on both LBs"
    )
