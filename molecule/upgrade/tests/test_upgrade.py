"""Upgrade drills on one shared cluster (2 LBs + keepalived VIP, 3 control planes, 2 workers), in order.

The cluster is converged at 1.36.4 from this run's package repositories; each drill leaves the
release the next one starts from:
1. check mode of an upgrade to 1.36.5 reports it and changes nothing;
2. refusals before any change, each with its message: a skipped minor (1.38.0: the repositories
   carry 1.36 and 1.37 only, so the request is one a user could make, and the run must name the
   minor it skips among its errors), a version missing from the repository (1.36.6), a control
   plane down (cp3 stopped);
3. the patch upgrade 1.36.4 -> 1.36.5, interrupted during the second control plane (its container
   killed once kubeadm upgrade node rewrote its kube-apiserver manifest), completed by re-running
   upgrade.yml with no manual step;
   etcd's member list unchanged;
4. a downgrade (1.36.4) refused;
5. the minor upgrade 1.36.5 -> 1.37.1 under a bounded probe loop through the VIP (/readyz and real
   kubectl calls reading the Node objects), every node at 1.37.1 with held packages, then a re-run
   with changed=0. The workers go in two batches of one (20% of two, at least one): the run's own
   output (its batch plan, the workers play's batches, each worker's times) and the Node objects
   the kubectl probe saw show the second batch starting only after the first was upgraded, Ready
   and uncordoned, and never more than one batch out of service.
Measured with the kubeadm TEST DOUBLE inside real .deb packages; not figures from a real
Kubernetes cluster. Every figure is printed as `KUBEHA-FIGURE upgrade.<name>: <value>`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from drills import (
    CONTROL_PLANES,
    LBS,
    WORKERS,
    Prober,
    boot,
    ca_context,
    changed_hosts,
    docker,
    etcd_members,
    figure,
    kubectl,
    playbook_argv,
    run_playbook,
    server_states,
    sh,
    wait_until,
)

NODES = [*CONTROL_PLANES, *WORKERS]
NODE_OF = {name: name.rsplit("-", 1)[1] for name in NODES}
MIN_SUCCESS = 0.99
UPGRADE_TIMEOUT = 900
UPGRADING = "kubeha.kubeadm/upgrading"
APISERVER_IMAGE = "grep -o 'kube-apiserver:v[0-9.]*' /etc/kubernetes/manifests/kube-apiserver.yaml"
NODE_TIME = re.compile(
    r"(?P<host>kubeha-upgrade-\S+): upgraded to (?P<version>\S+) in (?P<seconds>[\d.]+) s"
    r"[^\n]*worked on from (?P<start>[\d.]+) to (?P<end>[\d.]+), Unix time"
)
BATCH_PLAN = re.compile(r"workers in (?P<count>\d+) batches of (?P<batch>\S+): (?P<plan>[^\"\n]+)")
WORKERS_PLAY = "Upgrade the workers, a batch at a time"
PLAY = re.compile(r"^PLAY \[(?P<name>[^\]]*)\]", re.MULTILINE)
HOST_RESULT = re.compile(r"^(?:ok|changed|skipping|fatal): \[(?P<host>kubeha-upgrade-[^\] ]+)", re.MULTILINE)


def release(version: str) -> None:
    """What converge.yml (and the shared check-mode test) requests from now on: the running release."""
    (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "release").write_text(version)


def packages(container: str) -> dict[str, str]:
    """package -> 'version selection status' (e.g. '1.36.4-1.1 hold installed') of kubeadm, kubelet, kubectl."""
    result = sh(
        container,
        "dpkg-query -W -f='${Package} ${Version} ${db:Status-Want} ${db:Status-Status}\\n' kubeadm kubelet kubectl",
    )
    rows = [line.split() for line in result.stdout.splitlines() if line.strip()]
    return {row[0]: " ".join(row[1:]) for row in rows}


def state() -> dict[str, object]:
    """What an upgrade changes: packages, repository, static pod manifests, kubelet config, etcd members."""
    found: dict[str, object] = {}
    for name in NODES:
        found[f"{name} packages"] = packages(name)
        found[f"{name} files"] = sh(
            name,
            "cat /etc/apt/sources.list.d/kubernetes.sources; md5sum /etc/kubernetes/manifests/*.yaml "
            "/var/lib/kubelet/config.yaml 2>/dev/null",
        ).stdout
    found["etcd"] = members()
    found["lb"] = {lb: server_states(lb) for lb in LBS}
    return found


def members() -> list[tuple[str, str]]:
    return sorted((str(m.get("ID")), m.get("name", "")) for m in etcd_members(CONTROL_PLANES[0]))


def upgrade(version: str, *args: str) -> tuple[int, dict[str, dict], str, float]:
    return run_playbook("upgrade.yml", "-e", f"kubeha_kubernetes_version={version}", *args, timeout=UPGRADE_TIMEOUT)


def at(version: str) -> None:
    """Every node's packages at `version` and held, its Node reporting it, the API server too."""
    for name in NODES:
        assert packages(name) == dict.fromkeys(("kubeadm", "kubectl", "kubelet"), f"{version}-1.1 hold installed"), name
    listed = kubectl(
        "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion}{' '}{end}"
    )
    assert listed.returncode == 0, listed.stderr
    assert sorted(listed.stdout.split()) == sorted(f"{n}=v{version}" for n in NODE_OF.values()), listed.stdout
    served = kubectl("get", "--raw", "/version")
    assert served.returncode == 0, served.stderr
    assert json.loads(served.stdout)["gitVersion"] == f"v{version}", served.stdout


def ready_again() -> bool:
    nodes = kubectl(
        "get", "nodes", "-o", "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Ready')].status}{end}"
    )
    return nodes.returncode == 0 and nodes.stdout == "True" * len(NODES) and len(members()) == len(CONTROL_PLANES)


@dataclass
class NodeWatch:
    """Real kubectl calls through the VIP, each reading the Node objects: what every worker looked like when."""

    seen: list[tuple[float, dict[str, WorkerState]]] = field(default_factory=list)

    def __call__(self) -> bool:
        listed = kubectl("get", "nodes", "-o", "json", timeout=5)
        if listed.returncode != 0:
            return False
        at = time.monotonic()
        states = {}
        for item in json.loads(listed.stdout)["items"]:
            ready = [c["status"] for c in item["status"].get("conditions", []) if c["type"] == "Ready"]
            states[item["metadata"]["name"]] = WorkerState(
                kubelet=item["status"]["nodeInfo"]["kubeletVersion"],
                ready=ready == ["True"],
                cordoned=bool(item["spec"].get("unschedulable")),
                marked=UPGRADING in (item["metadata"].get("annotations") or {}),
            )
        self.seen.append((at, states))
        return True


@dataclass(frozen=True)
class WorkerState:
    kubelet: str
    ready: bool
    cordoned: bool
    marked: bool

    def busy(self) -> bool:
        """Being worked on or out of service: marked by upgrade.yml, cordoned or not Ready."""
        return self.marked or self.cordoned or not self.ready

    def done(self, version: str) -> bool:
        return self.kubelet == f"v{version}" and not self.busy()


def worker_batches_run(output: str) -> list[list[str]]:
    """The hosts of each run of the workers play, in order (Ansible prints a PLAY header per batch)."""
    plays = list(PLAY.finditer(output))
    batches = []
    for number, play in enumerate(plays):
        if play["name"] != WORKERS_PLAY:
            continue
        end = plays[number + 1].start() if number + 1 < len(plays) else len(output)
        hosts = dict.fromkeys(m["host"] for m in HOST_RESULT.finditer(output, play.end(), end))
        batches.append([host for host in hosts if host in WORKERS])
    return batches


def assert_batched(output: str, watch: NodeWatch, version: str) -> list[list[str]]:
    """The workers went batch after batch, each starting once the one before was back; one batch busy at a time."""
    plans = list(BATCH_PLAN.finditer(output))
    assert len(plans) == 1, f"upgrade.yml printed {len(plans)} batch plans:\n{output[-6000:]}"
    planned = [batch.split(", ") for batch in plans[0]["plan"].split(" | ")]
    # 20% of 2 workers, rounded down, at least one: two batches of one.
    assert planned == [[w] for w in WORKERS], planned
    assert worker_batches_run(output) == planned, "the workers play did not run in the printed batches"
    times = {m["host"]: (float(m["start"]), float(m["end"])) for m in NODE_TIME.finditer(output)}
    assert set(WORKERS) <= set(times), f"no times for every worker: {times}"
    for before, after in zip(planned, planned[1:]):
        finished = max(times[h][1] for h in before)
        started = min(times[h][0] for h in after)
        assert started >= finished, f"{after} started at {started}, before {before} was back at {finished}"
    name = {w: NODE_OF[w] for w in WORKERS}
    busy_seen = set()
    for at, states in watch.seen:
        busy = [i for i, batch in enumerate(planned) if any(states[name[h]].busy() for h in batch)]
        assert len(busy) <= 1, f"batches {busy} out of service together at {at:.1f}: {states}"
        for i in busy:
            busy_seen.update(h for h in planned[i] if states[name[h]].busy())
            earlier = [h for batch in planned[:i] for h in batch]
            later = [h for batch in planned[i + 1 :] for h in batch]
            assert all(states[name[h]].done(version) for h in earlier), f"batch {i} began early: {states}"
            assert not any(states[name[h]].kubelet == f"v{version}" for h in later), f"a later batch moved: {states}"
    # The probe saw each worker being worked on: the checks above had something to check.
    assert busy_seen == set(WORKERS), f"the Node probe never saw {set(WORKERS) - busy_seen} out of service"
    return planned


def assert_refused(version: str, expected: list[str], name: str) -> None:
    before = state()
    returncode, recap, output, took = upgrade(version)
    figure(f"refusal.{name}", f"refused in {took:.0f} s")
    tail = output[-6000:]
    assert returncode != 0, f"upgrade.yml to {version} was not refused:\n{tail}"
    assert "Fail with every error, one line each" in output, f"refused elsewhere than in validation:\n{tail}"
    for line in expected:
        assert re.search(line, output), f"no line matching {line!r}:\n{tail}"
    assert not changed_hosts(recap), f"a refused upgrade changed {changed_hosts(recap)}:\n{tail}"
    assert state() == before


def test_1_check_mode_reports_the_upgrade_and_changes_nothing() -> None:
    before = state()
    returncode, recap, output, took = upgrade("1.36.5", "--check")
    figure("check_mode", f"{took:.0f} s, changed reported on {sorted(changed_hosts(recap))}")
    assert returncode == 0, output[-6000:]
    assert set(changed_hosts(recap)) >= set(NODES), f"check mode did not report the upgrade: {recap}"
    assert "Report what the upgrade would do on this node" in output
    assert state() == before


def test_2_refusals_before_any_change() -> None:
    assert_refused(
        "1.38.0",
        [
            r"ERROR \[all\] kubeha_kubernetes_version: the cluster runs 1\.36\.4; 1\.38\.0 would skip 1\.37: "
            r"kubeadm upgrades the control plane one minor at a time\. Fix: upgrade to 1\.37 first"
        ],
        "skipped_minor",
    )
    assert_refused(
        "1.36.6",
        [
            r"kubeha_kubernetes_version: the repository https://kubeha-upgrade-repo/v1\.36/deb/ has no kubeadm, "
            r"kubelet, kubectl at 1\.36\.6 \(it has 1\.36\.[45], 1\.36\.[45]\)\."
        ],
        "missing_version",
    )
    docker("stop", CONTROL_PLANES[2])
    try:
        wait_until(
            lambda: all(server_states(lb).get(CONTROL_PLANES[2]) == "DOWN" for lb in LBS), 60, "cp3's backend is DOWN"
        )
        assert_refused(
            "1.36.5",
            [
                rf"ERROR \[{CONTROL_PLANES[2]}\] ansible_host: unreachable \(or failed\) during validation; "
                r"nothing was changed\."
            ],
            "control_plane_down",
        )
    finally:
        boot(CONTROL_PLANES[2])
    wait_until(ready_again, 240, "cp3 is back (every node Ready, three etcd members)")


def test_3_patch_upgrade_interrupted_during_the_second_control_plane_completes_on_rerun() -> None:
    before = members()
    second = CONTROL_PLANES[1]
    start = time.monotonic()
    log = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "upgrade-interrupted.log"
    # The output goes to a file: a pipe nobody reads while waiting would fill and stall the run.
    with (
        log.open("w") as sink,
        subprocess.Popen(
            playbook_argv("upgrade.yml", "-e", "kubeha_kubernetes_version=1.36.5"),
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        ) as run,
    ):
        try:
            # kubeadm upgrade node has rewritten cp2's kube-apiserver manifest (its package moved before).
            wait_until(
                lambda: "kube-apiserver:v1.36.5" in sh(second, APISERVER_IMAGE).stdout or run.poll() is not None,
                UPGRADE_TIMEOUT,
                "kubeadm upgrade node rewrote the second control plane's kube-apiserver manifest",
            )
            assert run.poll() is None, f"upgrade.yml ended before the second control plane:\n{log.read_text()[-4000:]}"
            docker("kill", second)
            killed_at = time.monotonic() - start
            run.wait(timeout=600)
        finally:
            if run.poll() is None:
                run.kill()
    output = log.read_text()
    figure("interrupted.killed_after", f"{killed_at:.0f} s (cp2's kube-apiserver manifest at v1.36.5)")
    assert run.returncode != 0, f"upgrade.yml did not notice cp2 dying:\n{output[-4000:]}"
    boot(second)
    wait_until(ready_again, 300, "cp2 is back (every node Ready, three etcd members)")
    returncode, recap, output, took = upgrade("1.36.5")
    figure("interrupted.rerun", f"{took:.0f} s, changed on {sorted(changed_hosts(recap))}")
    assert returncode == 0, f"re-running upgrade.yml did not complete the upgrade:\n{output[-6000:]}"
    at("1.36.5")
    release("1.36.5")
    assert members() == before, "etcd's member list changed"
    wait_until(
        lambda: all(server_states(lb) == dict.fromkeys(CONTROL_PLANES, "UP") for lb in LBS),
        30,
        "every backend is UP on both LBs",
    )


def test_4_downgrade_refused() -> None:
    assert_refused(
        "1.36.4",
        [r"kubeha_kubernetes_version: 1\.36\.4 is older than what runs here \(.*\): upgrade\.yml never downgrades"],
        "downgrade",
    )


def test_5_minor_upgrade_under_probes_then_rerun_changes_nothing() -> None:
    with (
        Prober(ca_context(), rate=5.0, limit=UPGRADE_TIMEOUT) as readyz,
        Prober(probe=(watch := NodeWatch()), rate=2.0, limit=UPGRADE_TIMEOUT) as calls,
    ):
        since = time.monotonic()
        returncode, recap, output, took = upgrade("1.37.1")
        ok, total = readyz.rate_since(since)
        good, count = calls.rate_since(since)
    assert returncode == 0, output[-6000:]
    figure("minor.upgrade", f"1.36.5 -> 1.37.1 in {took:.0f} s on {len(NODES)} nodes")
    for match in NODE_TIME.finditer(output):
        figure(f"minor.node.{NODE_OF.get(match['host'], match['host'])}", f"{float(match['seconds']):.0f} s")
    figure("minor.readyz_through_vip", f"{ok}/{total} ({ok / max(total, 1):.1%})")
    figure("minor.kubectl_through_vip", f"{good}/{count} ({good / max(count, 1):.1%})")
    assert total > 0
    assert count > 0
    assert ok / total >= MIN_SUCCESS
    assert good / count >= MIN_SUCCESS
    planned = assert_batched(output, watch, "1.37.1")
    figure("minor.worker_batches", " then ".join("+".join(NODE_OF[h] for h in batch) for batch in planned))
    at("1.37.1")
    release("1.37.1")
    returncode, recap, output, took = upgrade("1.37.1")
    figure("minor.rerun", f"changed={sum(changed_hosts(recap).values())} on {len(recap)} hosts in {took:.0f} s")
    assert returncode == 0, output[-6000:]
    assert recap, output[-4000:]
    assert not changed_hosts(recap), (
        f"re-running the finished upgrade changed {changed_hosts(recap)}:\n{output[-6000:]}"
    )
