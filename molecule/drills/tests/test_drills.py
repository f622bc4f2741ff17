"""HA drills (issue 6) on one shared converged cluster: 2 LBs + keepalived VIP, 3 control planes, 1 worker.

Measured with the kubeadm TEST DOUBLE (kubeadm, kubelet, kube-apiserver are stand-ins) and real
haproxy, keepalived, etcd, kubectl and TLS; these are not figures from a real Kubernetes cluster.
The drills share one cluster: each starts from, and restores, the whole cluster (every container
running, every backend UP on both LBs, lb1 holding the VIP, three healthy etcd members) and
checks that it did; after each, ha-cluster.yml re-runs with changed=0 (drill 6).
Every figure is printed as a `KUBEHA-FIGURE drills.<name>: <value>` line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from drills import (
    CONTROL_PLANES,
    LBS,
    NODE_NAMES,
    Prober,
    all_backends_up,
    assert_rerun_changes_nothing,
    ca_context,
    docker,
    etcd_healthy,
    etcd_keys,
    etcd_members,
    figure,
    kubectl,
    readyz,
    run_playbook,
    server_states,
    sh,
    vip_holders,
    wait_healthy,
    wait_until,
)

# haproxy marks a backend DOWN after fall (3) failed checks at inter (1 s) on this scenario; the
# detection window allowed is that plus the time a check to a dead address takes to fail.
DETECTION_BOUND = 10.0
# The probe loop: 10 /readyz a second through the VIP for this many seconds after detection.
PROBE_SECONDS = 30.0
MIN_SUCCESS = 0.99
# Two control planes down: the playbook must end (and say so) within this bound, not hang.
NO_QUORUM_PLAYBOOK_BOUND = 300.0


@pytest.fixture(autouse=True)
def whole_cluster() -> Iterator[None]:
    """Every drill starts from the whole cluster and leaves it whole (it checks; this restores)."""
    wait_healthy()
    yield
    for name in CONTROL_PLANES:
        docker("start", name)
    for lb in LBS:
        sh(lb, "systemctl start haproxy keepalived")
    wait_healthy(300)


def kubectl_loop(since: float, created: list[str]) -> tuple[int, int]:
    """For PROBE_SECONDS after `since`: create a ConfigMap and list the nodes, twice a second."""
    calls = ok_calls = 0
    for attempt in range(1000):
        if time.monotonic() - since > PROBE_SECONDS:
            break
        name = f"drill-outage-{attempt}"
        calls += 2
        manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"drill": "1"}}
        # `create -f`, not `create configmap`: the API double rejects the latter's body (see report).
        if kubectl("create", "-f", "-", stdin=json.dumps(manifest)).returncode == 0:
            ok_calls += 1
            created.append(name)
        ok_calls += kubectl("get", "nodes", "-o", "name").returncode == 0
        time.sleep(0.5)
    return calls, ok_calls


def test_drill1_one_control_plane_down_then_back() -> None:
    victim = CONTROL_PLANES[2]
    context = ca_context()
    created: list[str] = []
    with Prober(context, limit=PROBE_SECONDS + 60) as prober:
        time.sleep(1)
        # docker stop -t 0: SIGKILL, a crash rather than a clean shutdown.
        stopped = time.monotonic()
        docker("stop", "-t", "0", victim)
        detection = wait_until(
            lambda: all(server_states(lb).get(victim) == "DOWN" for lb in LBS),
            DETECTION_BOUND * 3,
            f"{victim} is DOWN on both LBs",
        )
        detected = time.monotonic()
        figure("cp_loss.detection", f"{detection:.2f} s from docker stop to DOWN on both LBs")
        # Real kubectl calls through the VIP during the same window: reads and writes.
        calls, ok_calls = kubectl_loop(detected, created)
        ended = time.monotonic()
        successes, probes = prober.rate_since(detected, ended)
        before_ok, before = prober.rate_since(stopped, detected)
    figure(
        "cp_loss.readyz_success_after_detection",
        f"{successes}/{probes} = {successes / max(probes, 1):.2%} over {ended - detected:.0f} s at 10/s",
    )
    figure("cp_loss.readyz_success_during_detection", f"{before_ok}/{before}")
    figure("cp_loss.kubectl_success_after_detection", f"{ok_calls}/{calls} = {ok_calls / max(calls, 1):.2%}")
    assert probes >= PROBE_SECONDS * 5, f"the probe loop ran too few probes: {probes}"
    assert detection <= DETECTION_BOUND, f"detection took {detection:.2f} s"
    assert successes / probes >= MIN_SUCCESS, f"/readyz through the VIP: {successes}/{probes}"
    assert ok_calls / calls >= MIN_SUCCESS, f"kubectl through the VIP: {ok_calls}/{calls}"

    # etcd keeps quorum: the two survivors are healthy (they see a leader); the third is down.
    members = etcd_members(CONTROL_PLANES[0])
    health = {m["name"]: etcd_healthy(CONTROL_PLANES[0], m) for m in members}
    figure("cp_loss.etcd_health_with_one_down", json.dumps(health, sort_keys=True))
    assert health == {"cp1": True, "cp2": True, "cp3": False}, health

    # Back again: its backend returns UP, its etcd member is healthy and holds what was written.
    started = time.monotonic()
    docker("start", victim)
    wait_until(all_backends_up, 300, f"{victim} is UP again on both LBs")
    backend_up = time.monotonic() - started
    wait_until(
        lambda: all(etcd_healthy(CONTROL_PLANES[0], m) for m in etcd_members(CONTROL_PLANES[0])),
        120,
        "every etcd member is healthy",
    )
    wait_until(
        lambda: len(etcd_keys(victim, "drill-outage-")) >= len(created),
        60,
        f"{victim}'s own etcd member holds the ConfigMaps created while it was down",
    )
    rejoined = time.monotonic() - started
    figure("cp_loss.rejoin_backend_up", f"{backend_up:.1f} s from docker start to UP on both LBs")
    figure("cp_loss.rejoin_etcd_caught_up", f"{rejoined:.1f} s from docker start ({len(created)} objects)")
    listed = kubectl("get", "configmaps", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    assert {f"configmap/{name}" for name in created} <= set(listed.stdout.split()), listed.stdout
    kubectl("delete", "configmap", *created)
    wait_healthy()
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert {n["metadata"]["name"] for n in nodes} == NODE_NAMES
    assert_rerun_changes_nothing("cp_loss")


def test_drill2_haproxy_down_on_the_vip_holder() -> None:
    holder = vip_holders()[0]
    context = ca_context()
    with Prober(context, limit=60) as prober:
        time.sleep(1)
        stopped = time.monotonic()
        sh(holder, "systemctl stop haproxy")
        moved = wait_until(lambda: vip_holders() == [LBS[1]], 30, "the VIP moves to lb2")
        after = time.monotonic()
        time.sleep(PROBE_SECONDS / 2)
        ended = time.monotonic()
        successes, probes = prober.rate_since(after, ended)
        during_ok, during = prober.rate_since(stopped, after)
    figure("lb_loss.vip_move", f"{moved:.2f} s from stopping haproxy on {holder} to the VIP on lb2")
    figure(
        "lb_loss.readyz_success_after_vip_move",
        f"{successes}/{probes} = {successes / max(probes, 1):.2%} over {ended - after:.0f} s at 10/s",
    )
    figure("lb_loss.readyz_success_during_vip_move", f"{during_ok}/{during}")
    assert probes >= PROBE_SECONDS * 3, probes
    assert successes / probes >= MIN_SUCCESS, f"/readyz through the VIP after the move: {successes}/{probes}"

    sh(holder, "systemctl start haproxy")
    back = wait_until(lambda: vip_holders() == [LBS[0]], 60, "the VIP returns to lb1")
    figure("lb_loss.vip_return", f"{back:.2f} s from starting haproxy on {holder}")
    wait_healthy()
    assert_rerun_changes_nothing("lb_loss")


def test_drill1_two_control_planes_down_no_quorum() -> None:
    context = ca_context()
    victims = CONTROL_PLANES[1:]
    stopped = time.monotonic()
    for victim in victims:
        docker("stop", "-t", "0", victim)

    def failing() -> bool:
        return not any(readyz(context) for _probe in range(5))

    took = wait_until(failing, 60, "/readyz fails through the VIP")
    figure("no_quorum.readyz_failing", f"{took:.2f} s after stopping two of three control planes")
    members = etcd_members(CONTROL_PLANES[0])
    assert not any(etcd_healthy(CONTROL_PLANES[0], m) for m in members), "etcd still reports a leader"

    returncode, recap, output, took = run_playbook(timeout=NO_QUORUM_PLAYBOOK_BOUND)
    said = "quorum" in output.lower()
    figure("no_quorum.playbook_end", f"rc={returncode} after {took:.0f} s; names quorum: {said}")
    print(f"recap with two control planes down: {recap}; {time.monotonic() - stopped:.0f} s")
    print(output[-3000:])
    assert returncode != 0, "ha-cluster.yml reported success with two of three control planes down"
    assert returncode != 124, f"ha-cluster.yml did not end within {NO_QUORUM_PLAYBOOK_BOUND:.0f} s with quorum lost"
    # Not asserted (not done yet): that the run's own output names the lost quorum. Today
    # validate.yml stops the run first, on the unreachable control planes, so summary.yml never
    # says it; the figure above records whether the output mentions quorum.
