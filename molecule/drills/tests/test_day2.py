"""Day-2 drills on the shared converged drills cluster: etcd backup and restore, and reset.

etcd, haproxy, keepalived, kubectl and TLS are real; kubeadm, the kubelet and kube-apiserver
are the kubeadm TEST DOUBLE (its API server keeps every object in the real etcd, so a restore
really brings back the keyspace of the snapshot). These are not figures of a real Kubernetes
cluster. Each drill starts from the whole cluster and leaves it whole; figures are printed as
`KUBEHA-FIGURE drills.<name>: <value>` lines.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from drills import (
    CONTROL_PLANES,
    LBS,
    WORKERS,
    assert_rerun_changes_nothing,
    ca_context,
    changed_hosts,
    etcd_healthy,
    etcd_is_whole,
    etcd_members,
    figure,
    kubeconfig,
    kubectl,
    node_names,
    readyz,
    run_playbook,
    sh,
    vip_holders,
    wait_healthy,
    wait_until,
)

CLUSTER = "kubeha-drills"
BACKUP_DIR = "/var/lib/kubeha/etcd-backups"
SNAPSHOT_NAME = re.compile(rf"^{CLUSTER}-\d{{8}}T\d{{6}}Z\.db$")


@pytest.fixture(autouse=True)
def whole_cluster() -> Iterator[None]:
    wait_healthy()
    yield
    wait_healthy(300)


def local_backups() -> Path:
    return kubeconfig().parent / "etcd-backups"


def create_configmaps(prefix: str, count: int) -> list[str]:
    names = [f"{prefix}-{index}" for index in range(count)]
    for name in names:
        manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"drill": prefix}}
        created = kubectl("create", "-f", "-", stdin=json.dumps(manifest))
        assert created.returncode == 0, f"cannot create ConfigMap {name}: {created.stderr}"
    return names


def configmaps() -> set[str]:
    listed = kubectl("get", "configmaps", "-o", "name")
    assert listed.returncode == 0, listed.stderr
    return {name.removeprefix("configmap/") for name in listed.stdout.split()}


def remote_mode(container: str, path: str) -> int:
    found = sh(container, f"stat -c %a {path}")
    assert found.returncode == 0, f"{path} on {container}: {found.stderr}"
    return int(found.stdout.strip(), 8)


def remote_snapshots(container: str) -> list[str]:
    listed = sh(container, f"ls {BACKUP_DIR}")
    return sorted(name for name in listed.stdout.split() if SNAPSHOT_NAME.match(name))


def backup(*extra: str) -> tuple[str, float, str]:
    """etcd_backup.yml at -vvv; returns the control plane that took it, the seconds, the output."""
    returncode, _recap, output, took = run_playbook(
        "etcd_backup.yml", "-vvv", "-e", f"kubeha_etcd_backup_local_dir={local_backups()}", *extra
    )
    assert returncode == 0, f"etcd_backup.yml failed:\n{output[-4000:]}"
    source = re.search(r"etcd snapshot from (\S+): ", output)
    assert source, f"etcd_backup.yml did not say what it saved:\n{output[-3000:]}"
    return source[1], took, output


def secrets_of(container: str) -> list[str]:
    """Key material of the control plane: the private keys' base64 bodies, as lines."""
    keys = sh(container, "cat /etc/kubernetes/pki/etcd/healthcheck-client.key /etc/kubernetes/pki/etcd/ca.key").stdout
    return [line for line in keys.splitlines() if line and not line.startswith("-----") and len(line) > 40]


def destroy_etcd_data(container: str) -> None:
    """The member's data destroyed in place: its WAL and database overwritten with random bytes.

    The manifest stays: the kubelet keeps restarting etcd, which cannot read its data and exits.
    """
    command = (
        "mv /etc/kubernetes/manifests/etcd.yaml /root/etcd.yaml.drill"
        " && for i in $(seq 1 150); do ss -ltn | grep -q '127.0.0.1:2379 ' || break; sleep 0.2; done"
        " && for f in /var/lib/etcd/member/wal/*.wal /var/lib/etcd/member/snap/db; do"
        ' head -c "$(stat -c %s "$f")" /dev/urandom > "$f"; done'
        " && mv /root/etcd.yaml.drill /etc/kubernetes/manifests/etcd.yaml"
    )
    result = sh(container, command, timeout=60)
    assert result.returncode == 0, f"cannot destroy etcd's data on {container}: {result.stderr}"


def check_backup(source: str, snapshot: Path, output: str) -> None:
    """The snapshot and its checksum private on both sides; no secret in the -vvv output."""
    checksum = Path(f"{snapshot}.sha256").read_text().split()
    assert checksum[1] == snapshot.name, checksum
    assert len(checksum[0]) == 64, checksum
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{snapshot}.sha256").stat().st_mode) == 0o600
    assert stat.S_IMODE(local_backups().stat().st_mode) == 0o700
    assert remote_mode(source, BACKUP_DIR) == 0o700
    assert remote_mode(source, f"{BACKUP_DIR}/{snapshot.name}") == 0o600
    assert remote_mode(source, f"{BACKUP_DIR}/{snapshot.name}.sha256") == 0o600
    leaked = [line[:12] for line in secrets_of(source) if line in output]
    assert not leaked, f"key material in etcd_backup.yml's -vvv output (starts: {leaked})"
    assert "day2-before" not in output, "snapshot content in etcd_backup.yml's -vvv output"


def check_refusals(snapshot: Path, after: list[str]) -> None:
    """A healthy quorum and a damaged snapshot are refused, with the reason, changing nothing."""
    returncode, recap, output, _took = run_playbook(
        "etcd_restore.yml", "-e", f"kubeha_etcd_restore_snapshot={snapshot}"
    )
    assert returncode != 0, "etcd_restore.yml restored over a healthy quorum"
    assert "etcd's quorum is healthy" in output, output[-3000:]
    assert "kubeha_etcd_restore_force" in output, output[-3000:]
    assert not changed_hosts(recap), recap
    assert set(after) <= configmaps()

    damaged = local_backups() / "damaged.db"
    damaged.write_bytes(snapshot.read_bytes()[:-1] + b"\x00")
    damaged.chmod(0o600)
    Path(f"{damaged}.sha256").write_text(Path(f"{snapshot}.sha256").read_text())
    returncode, recap, output, _took = run_playbook("etcd_restore.yml", "-e", f"kubeha_etcd_restore_snapshot={damaged}")
    assert returncode != 0, "etcd_restore.yml accepted a damaged snapshot"
    assert "it is damaged or another file" in output, output[-3000:]
    assert not changed_hosts(recap), recap


def test_day2_etcd_backup_then_restore_after_quorum_loss() -> None:
    context = ca_context()
    run = int(time.time())
    before = create_configmaps(f"day2-before-{run}", 3)

    # Two backups, the second with a retention of one: the first is pruned on that control plane.
    first_source, _took, _output = backup()
    source, took, output = backup("-e", "kubeha_etcd_backup_retention=1")
    taken = re.search(r"taken in ([0-9.]+) s", output)
    kept = remote_snapshots(source)
    assert len(kept) == 1 or first_source != source, f"retention 1 kept {kept} on {source}"
    snapshot = local_backups() / kept[-1]
    assert snapshot.is_file(), f"{snapshot} was not fetched"
    check_backup(source, snapshot, output)
    figure("day2.snapshot_time", f"{taken[1] if taken else '?'} s etcdctl snapshot save; {took:.0f} s etcd_backup.yml")
    figure("day2.snapshot_size", f"{snapshot.stat().st_size} bytes")

    after = create_configmaps(f"day2-after-{run}", 3)
    check_refusals(snapshot, after)

    # Two of three members' data destroyed: the quorum is lost and /readyz fails through the VIP.
    for victim in CONTROL_PLANES[1:]:
        destroy_etcd_data(victim)
    lost = time.monotonic()
    wait_until(lambda: not any(readyz(context) for _probe in range(5)), 90, "/readyz fails through the VIP")
    failing_since = time.monotonic()
    assert not any(etcd_healthy(CONTROL_PLANES[0], m) for m in etcd_members(CONTROL_PLANES[0])), "etcd has a leader"

    returncode, _recap, output, took = run_playbook(
        "etcd_restore.yml", "-vvv", "-e", f"kubeha_etcd_restore_snapshot={snapshot}", timeout=600
    )
    assert returncode == 0, f"etcd_restore.yml failed:\n{output[-6000:]}"
    leaked = [line[:12] for line in secrets_of(CONTROL_PLANES[0]) if line in output]
    assert not leaked, f"key material in etcd_restore.yml's -vvv output (starts: {leaked})"
    answered = wait_until(lambda: readyz(context), 60, "/readyz answers through the VIP")
    back = time.monotonic()
    figure("day2.restore_time", f"{took:.0f} s etcd_restore.yml on 3 control planes")
    figure(
        "day2.time_without_api",
        f"{back - failing_since:.0f} s from /readyz failing through the VIP to its first 200 after the restore"
        f" ({back - lost:.0f} s since the data was destroyed; {answered:.1f} s after the playbook ended)",
    )

    present = configmaps()
    assert set(before) <= present, f"objects in the snapshot are missing: {set(before) - present}"
    assert not set(after) & present, f"objects written after the snapshot came back: {set(after) & present}"
    wait_until(etcd_is_whole, 60, "three healthy etcd members")
    for container in CONTROL_PLANES:
        restored = f"{BACKUP_DIR}/restore/{snapshot.name}"
        assert remote_mode(container, restored) == 0o600, f"{restored} on {container}"
        assert sh(container, "test -e /etc/kubernetes/kubeha-restore-manifests").returncode != 0
    wait_healthy(300)
    assert_rerun_changes_nothing("day2_restore")


def test_day2_reset_then_rebuild() -> None:
    # Leftovers kubeadm reset does not remove, planted where a real cluster would leave them.
    cp1 = CONTROL_PLANES[0]
    plant = (
        "mkdir -p /etc/cni/net.d /etc/kubernetes/tmp/kubeadm-backup-etcd-drill"
        " && echo '{}' > /etc/cni/net.d/10-calico.conflist"
        " && iptables -N KUBE-DRILL && iptables -A INPUT -j KUBE-DRILL && iptables -N KEEP-DRILL"
    )
    assert sh(cp1, plant).returncode == 0

    # The double's kubeadm reset on a worker, as FACTS-2 part B §7 has the real one (1.33+ note).
    worker = WORKERS[0]
    assert sh(worker, "mkdir -p /etc/kubernetes/tmp/kubeadm-backup-manifests-drill").returncode == 0
    direct = sh(worker, "kubeadm reset --force --cleanup-tmp-dir", timeout=60)
    assert direct.returncode == 0, direct.stderr
    assert "[reset] No kubeadm config, using etcd pod spec to get data directory" in direct.stderr
    assert "[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n" in direct.stdout
    assert (
        "[reset] Deleting contents of directories: [/etc/kubernetes/manifests /var/lib/kubelet"
        " /etc/kubernetes/pki /etc/kubernetes/tmp]\n"
    ) in direct.stdout
    assert direct.stdout.endswith(
        "The reset process does not perform cleanup of CNI plugin configuration,\n"
        "network filtering rules and kubeconfig files.\n\n"
        "For information on how to perform this cleanup manually, please see:\n"
        "    https://k8s.io/docs/reference/setup-tools/kubeadm/kubeadm-reset/\n\n"
    ), direct.stdout[-400:]
    assert sh(worker, "ls -A /etc/kubernetes/tmp").stdout.strip() == ""

    returncode, recap, output, _took = run_playbook("reset.yml", "-e", "kubeha_reset_confirm=wrong")
    assert returncode != 0, "reset.yml ran without the confirmation"
    assert f"kubeha_reset_confirm={CLUSTER}" in output, output[-3000:]
    assert not changed_hosts(recap), recap
    assert sh(cp1, "test -f /etc/kubernetes/admin.conf").returncode == 0

    returncode, recap, output, took = run_playbook("reset.yml", "-vvv", "-e", f"kubeha_reset_confirm={CLUSTER}")
    assert returncode == 0, f"reset.yml failed:\n{output[-6000:]}"
    figure("day2.reset", f"{took:.0f} s reset.yml on {len(recap)} hosts")
    for node in [*CONTROL_PLANES, *WORKERS]:
        for path in (
            "/etc/kubernetes/admin.conf",
            "/etc/kubernetes/kubelet.conf",
            "/etc/kubernetes/pki/ca.crt",
            "/etc/kubernetes/manifests/etcd.yaml",
            "/var/lib/etcd",
            "/root/.kube/config",
        ):
            assert sh(node, f"test -e {path}").returncode != 0, f"{path} left on {node}"
        # Emptied, not removed (containerd watches it): see reset.yml.
        cni = sh(node, "ls -A /etc/cni/net.d 2>/dev/null").stdout.strip()
        assert cni == "", f"/etc/cni/net.d on {node} still holds {cni}"
    assert sh(cp1, "ls -A /etc/kubernetes/tmp 2>/dev/null").stdout.strip() == "", "kubeadm's tmp dir left"
    rules = sh(cp1, "iptables-save").stdout
    assert "KUBE-DRILL" not in rules, rules
    assert "KEEP-DRILL" in rules, "reset.yml removed a chain that is not Kubernetes' own"
    sh(cp1, "iptables -X KEEP-DRILL")
    for lb in LBS:
        for path in ("/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf", "/root/.kube/config"):
            assert sh(lb, f"test -e {path}").returncode != 0, f"{path} left on {lb}"
        assert sh(lb, "systemctl is-active haproxy keepalived").stdout.split() == ["inactive", "inactive"]
    assert vip_holders() == []
    assert not kubeconfig().exists(), "the controller's kubeconfig was left"

    returncode, recap, output, took = run_playbook("reset.yml", "-e", f"kubeha_reset_confirm={CLUSTER}")
    figure("day2.reset_rerun", f"changed={sum(changed_hosts(recap).values())} in {took:.0f} s")
    assert returncode == 0, output[-4000:]
    assert not changed_hosts(recap), f"a second reset.yml changed {changed_hosts(recap)}:\n{output[-6000:]}"

    returncode, recap, output, took = run_playbook(timeout=1200)
    figure("day2.rebuild_after_reset", f"rc={returncode} in {took:.0f} s ha_cluster.yml on the reset machines")
    assert returncode == 0, f"ha_cluster.yml after reset.yml failed:\n{output[-6000:]}"
    wait_healthy(300)
    assert node_names() == {"cp1", "cp2", "cp3", "w1"}
    assert create_configmaps(f"day2-rebuilt-{int(time.time())}", 1)
    assert os.stat(kubeconfig()).st_mode & 0o077 == 0
