"""Certificate renewal drill on the shared converged drills cluster.

Measured with the kubeadm TEST DOUBLE (its `kubeadm certs` commands renew real x509 certificates;
the kubelet and API server are stand-ins) and real haproxy, keepalived, etcd, kubectl and TLS;
not figures from a real Kubernetes cluster. With the double's clock eleven months ahead on every
double node, playbooks/certificates.yml renews every control plane's certificates while /readyz
is probed through the VIP; the certificates each control plane serves on :6443 and etcd on :2379
must change, the refreshed kubeconfig must work. Then two interrupted runs are staged: cp2 left as a run
stopped while its restart waited (every manifest parked), cp3 as one stopped between the renewal and the
restart (the restart recorded as owed, nothing parked); with nothing left to renew, the next run must
restart both, say so, and put every manifest back. A further run must change nothing; then the clock is
reset (the day-2 drills after these re-run ha_cluster.yml and require changed=0).
"""

from __future__ import annotations

import base64
import ssl
import time

import yaml
from cryptography import x509
from drills import (
    CONTROL_PLANES,
    LBS,
    PORT,
    STATS_SOCKET,
    SUBNET,
    Prober,
    ca_context,
    changed_hosts,
    figure,
    kubeconfig,
    kubectl,
    run_playbook,
    set_clock_offset,
    sh,
    wait_healthy,
)

ADDRESSES = {name: f"{SUBNET}.{11 + index}" for index, name in enumerate(CONTROL_PLANES)}
MANIFESTS = "/etc/kubernetes/manifests"
PROXY = "kube-apiserver"  # the loadbalancer role's haproxy backend
# Where the kubeadm_init role's restart entry point parks the manifests (its record of a restart owed).
PARKING = "/etc/kubernetes/kubeha-manifests-restart"
COMPONENTS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd")
ELEVEN_MONTHS = "8040h"  # 335 days: every leaf certificate (one year) is within the 30-day threshold
MIN_SUCCESS = 0.99


def served_serial(address: str) -> int | None:
    """Serial of the certificate the API server at address:6443 presents (test containers only)."""
    try:
        pem = ssl.get_server_certificate((address, PORT), timeout=5)
    except OSError:
        return None
    return x509.load_pem_x509_certificate(pem.encode()).serial_number


def etcd_served_serial(container: str) -> str:
    """Serial of the certificate etcd serves on the node's client port, asked from inside the
    node with its health-check client certificate (the key never leaves the node)."""
    result = sh(
        container,
        "openssl s_client -connect 127.0.0.1:2379 -cert /etc/kubernetes/pki/etcd/healthcheck-client.crt"
        " -key /etc/kubernetes/pki/etcd/healthcheck-client.key </dev/null 2>/dev/null | openssl x509 -noout -serial",
    )
    assert result.returncode == 0, f"{container}: {result.stderr[-500:]}"
    assert result.stdout.startswith("serial="), f"{container}: no certificate on 127.0.0.1:2379"
    return result.stdout.strip()


def manifests_in(container: str, directory: str) -> list[str]:
    result = sh(container, f"ls {directory} 2>/dev/null")
    return sorted(name for name in result.stdout.split() if name.endswith(".yaml"))


def stage_interrupted_restarts() -> None:
    """cp2 as a run left it that stopped while the restart waited for the pods to stop (every
    manifest parked), cp3 as one that stopped right after the renewal (the record, nothing parked)."""
    parked, owed = CONTROL_PLANES[1], CONTROL_PLANES[2]
    # A run drains the backend before it parks the manifests, so the one that stopped there left
    # cp2 drained on every load balancer: without that, haproxy would send /readyz to a stopped
    # API server until its health checks notice, which no real interrupted run leaves behind.
    for lb in LBS:
        drained = sh(lb, f"echo 'set server {PROXY}/{parked} state drain' | socat stdio UNIX-CONNECT:{STATS_SOCKET}")
        assert drained.returncode == 0, f"{lb}: {drained.stderr}"
        assert not drained.stdout.strip(), f"{lb}: haproxy refused the drain: {drained.stdout}"
    moves = " && ".join(f"mv {MANIFESTS}/{name}.yaml {PARKING}/{name}.yaml" for name in COMPONENTS)
    for container, command in ((parked, f"mkdir -m 0700 {PARKING} && {moves}"), (owed, f"mkdir -m 0700 {PARKING}")):
        result = sh(container, command)
        assert result.returncode == 0, f"{container}: {result.stderr[-500:]}"
    assert manifests_in(parked, MANIFESTS) == [], f"{parked}: the manifests were not parked"


def probed_run(context, drill: str, timeout: float) -> tuple[int, dict[str, dict], str, int, int]:
    """certificates.yml while /readyz is probed through the VIP; its time and success ratio as figures."""
    with Prober(context, limit=timeout + 60) as prober:
        started = time.monotonic()
        returncode, recap, output, took = run_playbook("certificates.yml", timeout=timeout)
        ended = time.monotonic()
    successes, probes = prober.rate_since(started, ended)
    figure(f"certificates.{drill}_seconds", f"{took:.0f}")
    figure(
        f"certificates.{drill}_readyz_through_vip",
        f"{successes}/{probes} = {successes / max(probes, 1):.2%} over {ended - started:.0f} s at 10/s",
    )
    return returncode, recap, output, successes, probes


def kubeconfig_client_serial() -> int:
    config = yaml.safe_load(kubeconfig().read_text())
    data = base64.b64decode(config["users"][0]["user"]["client-certificate-data"])
    return x509.load_pem_x509_certificate(data).serial_number


def test_certificates_renewed_eleven_months_on_without_losing_the_api() -> None:
    wait_healthy()
    context = ca_context()
    before = {name: served_serial(address) for name, address in ADDRESSES.items()}
    assert all(before.values()), f"a control plane serves no certificate: {before}"
    client_before = kubeconfig_client_serial()
    etcd_before = {name: etcd_served_serial(name) for name in CONTROL_PLANES}
    set_clock_offset(ELEVEN_MONTHS)
    try:
        check_rc, check_recap, check_output, check_took = run_playbook("certificates.yml", "--check", timeout=600)
        figure("certificates.check_seconds", f"{check_took:.0f}")
        assert check_rc == 0, f"certificates.yml --check failed:\n{check_output[-6000:]}"
        assert all(name in changed_hosts(check_recap) for name in CONTROL_PLANES), "--check reports no renewal"
        assert {name: served_serial(address) for name, address in ADDRESSES.items()} == before, "--check restarted"
        assert kubeconfig_client_serial() == client_before, "--check changed the controller's kubeconfig"
        assert all(sh(name, f"test -e {PARKING}").returncode == 1 for name in CONTROL_PLANES), "--check left a record"

        returncode, recap, output, successes, probes = probed_run(context, "renewal", timeout=900)
        assert returncode == 0, f"certificates.yml failed:\n{output[-6000:]}"
        changed = changed_hosts(recap)
        assert all(name in changed for name in CONTROL_PLANES), f"not every control plane renewed: {changed}"
        assert "CA ROTATION NEEDED" not in output  # CAs are ten years; eleven months leave nine
        assert "BEGIN" not in output
        assert "PRIVATE KEY" not in output
        assert probes >= 100, f"the probe loop ran too few probes: {probes}"
        assert successes / probes >= MIN_SUCCESS, f"/readyz through the VIP during renewal: {successes}/{probes}"

        after = {name: served_serial(address) for name, address in ADDRESSES.items()}
        assert all(after[name] and after[name] != before[name] for name in CONTROL_PLANES), (before, after)
        etcd_after = {name: etcd_served_serial(name) for name in CONTROL_PLANES}
        assert all(etcd_after[name] != etcd_before[name] for name in CONTROL_PLANES), (etcd_before, etcd_after)
        assert kubeconfig_client_serial() != client_before, "the controller's kubeconfig was not refreshed"
        listed = kubectl("get", "nodes", "-o", "name")
        assert listed.returncode == 0, listed.stderr
        assert "node/cp1" in listed.stdout

        rerun_rc, rerun_recap, rerun_output, rerun_took = run_playbook("certificates.yml", timeout=600)
        figure("certificates.rerun", f"changed={sum(changed_hosts(rerun_recap).values())} in {rerun_took:.0f} s")
        assert rerun_rc == 0, rerun_output[-4000:]
        assert not changed_hosts(rerun_recap), (
            f"a re-run of certificates.yml changed something:\n{rerun_output[-6000:]}"
        )
    finally:
        set_clock_offset(None)


def test_a_run_finishes_the_restarts_interrupted_runs_left() -> None:
    wait_healthy()
    context = ca_context()
    serving = {name: served_serial(address) for name, address in ADDRESSES.items()}
    stage_interrupted_restarts()
    returncode, recap, output, successes, probes = probed_run(context, "resume", timeout=600)
    assert returncode == 0, f"certificates.yml after the interrupted runs failed:\n{output[-6000:]}"
    resumed = [name for name in CONTROL_PLANES if f"{name}: an earlier run stopped" in output]
    assert resumed == CONTROL_PLANES[1:], f"the runs that finished an interrupted restart: {resumed}"
    changed = changed_hosts(recap)
    assert CONTROL_PLANES[0] not in changed, changed
    assert all(name in changed for name in CONTROL_PLANES[1:]), changed
    for name in CONTROL_PLANES:
        assert manifests_in(name, MANIFESTS) == sorted(f"{c}.yaml" for c in COMPONENTS), name
        assert sh(name, f"test -e {PARKING}").returncode == 1, f"{name}: {PARKING} is left"
    assert served_serial(ADDRESSES[CONTROL_PLANES[1]]) == serving[CONTROL_PLANES[1]], "cp2 serves its API again"
    assert probes >= 50, f"the probe loop ran too few probes: {probes}"
    assert successes / probes >= MIN_SUCCESS, f"/readyz through the VIP while the restarts finished: {successes}"
    wait_healthy()
