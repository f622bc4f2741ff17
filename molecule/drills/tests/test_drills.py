"""HA drills on one shared converged cluster: 2 LBs + keepalived VIP, 3 control planes, 1 worker.

Measured with the kubeadm TEST DOUBLE (kubeadm, kubelet, kube-apiserver are stand-ins) and real
haproxy, keepalived, etcd, kubectl and TLS; these are not figures from a real Kubernetes cluster.
The drills share one cluster: each starts from, and restores, the whole cluster (every container
running, every backend UP on both LBs, lb1 holding the VIP, three healthy etcd members) and
checks that it did; after each, ha_cluster.yml re-runs with changed=0 (drill 6).
Every figure is printed as a `KUBEHA-FIGURE drills.<name>: <value>` line.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator

import pytest
from drills import (
    CONTROL_PLANES,
    LBS,
    NODE_NAMES,
    SPARE_CONTROL_PLANE,
    SPARE_WORKER,
    WORKERS,
    Prober,
    all_backends_up,
    assert_rerun_changes_nothing,
    boot,
    ca_context,
    changed_hosts,
    docker,
    etcd_healthy,
    etcd_keys,
    etcd_member_names,
    etcd_members,
    extra_inventory,
    figure,
    haproxy_servers,
    kubectl,
    node_names,
    playbook_argv,
    readyz,
    remove_nodes,
    run_playbook,
    server_states,
    set_clock_offset,
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
    set_clock_offset(None)


def ready_nodes() -> set[str]:
    listed = kubectl("get", "nodes", "-o", "json")
    if listed.returncode != 0:
        return set()
    return {
        node["metadata"]["name"]
        for node in json.loads(listed.stdout)["items"]
        if {c["type"]: c["status"] for c in node["status"].get("conditions", [])}.get("Ready") == "True"
    }


def kubectl_loop(since: float, created: list[str]) -> tuple[int, int]:
    """For PROBE_SECONDS after `since`: create a ConfigMap and list the nodes, twice a second."""
    calls = ok_calls = 0
    for attempt in range(1000):
        if time.monotonic() - since > PROBE_SECONDS:
            break
        name = f"drill-outage-{int(since)}-{attempt}"  # unique per run: a failed run leaves its own
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

    # A worker still joins: ha_cluster.yml limited to the new worker (a full run would stop on
    # the unreachable control plane), through the VIP, with a token minted on a live one.
    as_worker = extra_inventory("w2-worker", {"workers": [SPARE_WORKER]})
    returncode, _recap, output, took = run_playbook("ha_cluster.yml", "--limit", SPARE_WORKER, inventories=(as_worker,))
    figure("cp_loss.worker_join_during_outage", f"rc={returncode} in {took:.0f} s with {victim} down")
    assert returncode == 0, f"the worker could not join during the outage:\n{output[-4000:]}"
    wait_until(lambda: "w2" in ready_nodes(), 60, "w2 is Ready")

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
    assert_rerun_changes_nothing("cp_loss", inventories=(as_worker,))
    # Leave the cluster as found: the worker that joined during the outage goes again.
    remove_nodes(SPARE_WORKER, inventories=(as_worker,))
    assert node_names() == NODE_NAMES


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
    said = "etcd quorum lost" in output
    figure("no_quorum.playbook_end", f"rc={returncode} after {took:.0f} s; says 'etcd quorum lost': {said}")
    print(f"recap with two control planes down: {recap}; {time.monotonic() - stopped:.0f} s")
    assert returncode != 0, "ha_cluster.yml reported success with two of three control planes down"
    assert returncode != 124, f"ha_cluster.yml did not end within {NO_QUORUM_PLAYBOOK_BOUND:.0f} s with quorum lost"
    assert said, f"ha_cluster.yml did not say that etcd lost its quorum:\n{output[-4000:]}"
    for victim in victims:
        assert f"ERROR [{victim}] ansible_host: unreachable" in output, f"{victim} is not named:\n{output[-4000:]}"
    assert not changed_hosts(recap), f"a run without quorum changed something: {recap}"


def test_drill3_interrupted_control_plane_join() -> None:
    """The joining node dies right after kubeadm added its etcd member (an unstarted member)."""
    as_control_plane = extra_inventory("cp4", {"control_plane": [SPARE_CONTROL_PLANE]})
    # The double holds kubeadm there (tests/kubeadm_double/kdouble/faults.py) so the kill is exact.
    sh(
        SPARE_CONTROL_PLANE,
        "mkdir -p /etc/kubeadm-double && echo join/etcd-member-added > /etc/kubeadm-double/pause-at",
    )
    started = time.monotonic()
    with subprocess.Popen(
        playbook_argv(inventories=(as_control_plane,)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as first_run:
        wait_until(
            lambda: sh(SPARE_CONTROL_PLANE, "test -e /run/kubeadm-double/paused").returncode == 0,
            600,
            "cp4's kubeadm join has added its etcd member",
        )
        members = etcd_member_names()
        docker("stop", "-t", "0", SPARE_CONTROL_PLANE)
        killed = time.monotonic() - started
        output, _stderr = first_run.communicate(timeout=600)
    figure("interrupted_join.members_when_killed", f"{members} ('' = unstarted) after {killed:.0f} s")
    assert members == ["", "cp1", "cp2", "cp3"], members
    assert first_run.returncode != 0, f"the interrupted run reported success:\n{output[-3000:]}"

    boot(SPARE_CONTROL_PLANE)
    sh(SPARE_CONTROL_PLANE, "rm -f /etc/kubeadm-double/pause-at")
    left = sh(SPARE_CONTROL_PLANE, "ls /etc/kubernetes /etc/kubernetes/manifests").stdout.split()
    figure("interrupted_join.left_on_the_node", " ".join(sorted(left)))
    returncode, _recap, output, took = run_playbook(inventories=(as_control_plane,))
    figure("interrupted_join.rerun", f"rc={returncode} in {took:.0f} s")
    assert returncode == 0, f"re-running ha_cluster.yml after the interrupted join failed:\n{output[-4000:]}"
    # Exactly the inventory's control planes, every one started and healthy: no stale member.
    assert etcd_member_names() == ["cp1", "cp2", "cp3", "cp4"], etcd_member_names()
    assert all(etcd_healthy(CONTROL_PLANES[0], m) for m in etcd_members(CONTROL_PLANES[0]))
    assert "cp4" in ready_nodes()
    for lb in LBS:
        assert SPARE_CONTROL_PLANE in haproxy_servers(lb)
    assert_rerun_changes_nothing("interrupted_join", inventories=(as_control_plane,))
    remove_nodes(SPARE_CONTROL_PLANE, inventories=(as_control_plane,))


def token_ids() -> set[str]:
    """Bootstrap token IDs in the cluster (the Secrets' names; never the token secrets)."""
    listed = kubectl("get", "secrets", "-n", "kube-system", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    prefix = "secret/bootstrap-token-"
    return {name.removeprefix(prefix) for name in listed.stdout.split() if name.startswith(prefix)}


def ledger_digests(container: str, ledger: str) -> list[str]:
    """sha256 of each secret a node was given (the double's ledger), so none is ever printed."""
    lines = sh(container, f"cat /var/lib/kubeadm-double/{ledger} 2>/dev/null").stdout.split()
    return [hashlib.sha256(line.encode()).hexdigest() for line in lines]


def last_token_id(container: str) -> str:
    lines = sh(container, "tail -n 1 /var/lib/kubeadm-double/tokens 2>/dev/null").stdout.split()
    return lines[-1].split(".")[0] if lines else ""


def test_drill4_joins_days_later() -> None:
    """With the double's clock 3 h, then 25 h ahead, one control plane and one worker join."""
    spares = extra_inventory("spares", {"control_plane": [SPARE_CONTROL_PLANE], "workers": [SPARE_WORKER]})
    keys_seen: set[str] = set()
    for offset in ("3h", "25h"):
        set_clock_offset(offset)
        tokens_before = token_ids()
        returncode, recap, output, took = run_playbook(inventories=(spares,))
        figure(f"joins_later.{offset}.join_run", f"rc={returncode} in {took:.0f} s")
        assert returncode == 0, f"joins with the clock {offset} ahead failed:\n{output[-4000:]}"
        existing = {host: recap[host]["changed"] for host in CONTROL_PLANES + WORKERS}
        figure(f"joins_later.{offset}.existing_nodes_changed", json.dumps(existing, sort_keys=True))
        assert all(int(changed) == 0 for changed in existing.values()), existing
        assert {"cp4", "w2"} <= ready_nodes()
        assert etcd_member_names() == ["cp1", "cp2", "cp3", "cp4"], etcd_member_names()
        # Fresh credentials: each joiner used a token minted in this run, and cp4 a new key.
        fresh = token_ids() - tokens_before
        used = {last_token_id(SPARE_CONTROL_PLANE), last_token_id(SPARE_WORKER)}
        assert used <= fresh, f"tokens used {used} were not minted by this run ({fresh})"
        key = ledger_digests(SPARE_CONTROL_PLANE, "certificate-keys")[-1]
        assert key not in keys_seen, "cp4 joined with a certificate key it had been given before"
        keys_seen.add(key)
        took = remove_nodes(SPARE_CONTROL_PLANE, SPARE_WORKER, inventories=(spares,))
        figure(f"joins_later.{offset}.removed_again", f"{took:.0f} s")
    set_clock_offset(None)
    wait_healthy()
    assert node_names() == NODE_NAMES
    assert_rerun_changes_nothing("joins_later")


def test_drill5_remove_and_replace_a_control_plane() -> None:
    keeper, healthy, victim = CONTROL_PLANES
    # Refused: with cp3 down, removing cp2 would leave cp1 alone of two members.
    docker("stop", "-t", "0", victim)
    returncode, recap, output, took = run_playbook(
        "remove_node.yml", "-e", f"kubeha_remove_nodes={healthy}", timeout=300
    )
    figure("replace.refused_removal", f"rc={returncode} in {took:.0f} s with {victim} down")
    assert returncode != 0, f"remove_node.yml broke etcd's quorum:\n{output[-4000:]}"
    assert "would break etcd's quorum" in output, output[-4000:]
    assert not changed_hosts(recap), f"a refused removal changed {recap}"
    assert sorted(m["name"] for m in etcd_members(keeper)) == ["cp1", "cp2", "cp3"]
    for lb in LBS:
        assert healthy in haproxy_servers(lb)
    docker("start", victim)
    wait_healthy(300)

    # Removed: drained, deleted, out of etcd and of both LBs, reset.
    took = remove_nodes(victim)
    figure("replace.removal", f"{took:.0f} s")
    assert etcd_member_names() == ["cp1", "cp2"]
    assert node_names() == NODE_NAMES - {"cp3"}
    for lb in LBS:
        assert victim not in haproxy_servers(lb)
        assert server_states(lb) == dict.fromkeys(CONTROL_PLANES[:2], "UP")
    leftovers = sh(victim, "ls /etc/kubernetes/kubelet.conf; find /etc/kubernetes/manifests /var/lib/etcd -mindepth 1")
    assert not leftovers.stdout.strip(), f"kubeadm reset left {leftovers.stdout}"
    returncode, recap, output, _took = run_playbook("remove_node.yml", "-e", f"kubeha_remove_nodes={victim}")
    assert returncode == 0, f"a second removal failed:\n{output[-3000:]}"
    assert not changed_hosts(recap), f"a second removal changed {recap}:\n{output[-3000:]}"

    # Added back: ha_cluster.yml joins it again (fresh member, backend back).
    returncode, _recap, output, took = run_playbook()
    figure("replace.add_back", f"rc={returncode} in {took:.0f} s")
    assert returncode == 0, f"adding {victim} back failed:\n{output[-4000:]}"
    wait_healthy()
    assert node_names() == NODE_NAMES
    assert_rerun_changes_nothing("replace")
