"""Verify the `cp_loadbalancer` scenario: haproxy and keepalived on the control planes themselves.

Three control planes share the VIP; haproxy listens on 8443 on each, the API server keeps 6443.
The last test takes the VIP holder down (its whole container, as a crash) and measures the VIP
move, the detection of the lost API server and the share of /readyz probes through the VIP
that succeed after that. Figures are printed as KUBEHA-FIGURE lines. Traffic goes only to the
scenario's own containers on the docker network it created; every loop is bounded in count and
in time. The container helpers (docker exec, start, haproxy's states, /readyz) are the drills';
the bounded wait is the scenarios' shared one (molecule/resources/tests/helpers.py).
"""

from __future__ import annotations

import base64
import os
import ssl
import sys
import threading
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "drills" / "tests"))
import drills
from drills import boot, docker, running, sh
from helpers import wait_until

CONTROL_PLANES = ("kubeha-cplb-cp1", "kubeha-cplb-cp2", "kubeha-cplb-cp3")
WORKER = "kubeha-cplb-w1"
VIP = "172.28.83.100"
FRONTEND_PORT = 8443
API_PORT = 6443
# After the detection window: /readyz through the VIP this long, 10 a second, >= 99 % must answer.
PROBE_SECONDS = 20
MIN_SUCCESS = 0.99
# keepalived: 3 missed adverts (advert_int 1 s) plus skew; haproxy: fall 3 x inter 1 s with 1 s
# check timeouts. Both together, with slack for a loaded 2-core machine.
DETECTION_BOUND = 20.0


def figure(name: str, value: str) -> None:
    print(f"\nKUBEHA-FIGURE cp_loadbalancer.{name}: {value}", flush=True)


def vip_holders(candidates: tuple[str, ...] = CONTROL_PLANES) -> list[str]:
    return [cp for cp in candidates if running(cp) and f" {VIP}/" in sh(cp, "ip -4 -o addr show").stdout]


def server_states(cp: str) -> dict[str, str]:
    """haproxy's view of the API servers on one control plane (UP, DOWN, ...)."""
    return drills.server_states(cp, CONTROL_PLANES)


def ca_context() -> ssl.SSLContext:
    """TLS checked against the cluster CA of the controller's kubeconfig: the VIP must be in the SANs."""
    path = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "kubeha-cplb.config"
    cluster = yaml.safe_load(path.read_text())["clusters"][0]["cluster"]
    assert cluster["server"] == f"https://{VIP}:{FRONTEND_PORT}", cluster["server"]
    return ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())


def ready_through_vip(context: ssl.SSLContext, timeout: float = 0.9) -> bool:
    """GET /readyz through the VIP on haproxy's port: True only for a 200."""
    return drills.readyz(context, timeout=timeout, address=VIP, port=FRONTEND_PORT)


def test_haproxy_and_keepalived_run_on_every_control_plane_beside_the_api_server() -> None:
    for cp in CONTROL_PLANES:
        assert sh(cp, "systemctl is-active haproxy keepalived").stdout.split() == ["active", "active"], cp
        listening = sh(cp, "ss -Htlnp").stdout.splitlines()
        haproxy = {line.split()[3] for line in listening if '"haproxy"' in line}
        assert haproxy == {f"0.0.0.0:{FRONTEND_PORT}"}, f"{cp}: haproxy listens on {haproxy}"
        # The API server (the double) keeps its own port; haproxy is not on it.
        api = [line for line in listening if line.split()[3].endswith(f":{API_PORT}")]
        assert api, f"{cp}: nothing listens on {API_PORT}"
        assert not [line for line in api if '"haproxy"' in line], f"{cp}: haproxy on {API_PORT}: {api}"
        assert server_states(cp) == dict.fromkeys(CONTROL_PLANES, "UP"), f"{cp}: {server_states(cp)}"
    # The init host has the highest VRRP priority: it holds the VIP, and only it (not the worker).
    assert vip_holders((*CONTROL_PLANES, WORKER)) == [CONTROL_PLANES[0]]


def test_the_endpoint_is_the_vip_on_haproxys_port_everywhere() -> None:
    endpoint = f"server: https://{VIP}:{FRONTEND_PORT}"
    for node in [*CONTROL_PLANES, WORKER]:
        conf = "/etc/kubernetes/admin.conf" if node != WORKER else "/etc/kubernetes/kubelet.conf"
        assert endpoint in sh(node, f"cat {conf}").stdout, f"{node}: {conf} does not name {endpoint}"
    context = ca_context()
    assert ready_through_vip(context, timeout=5), "GET /readyz through the VIP failed"
    # Each API server's certificate names the VIP (checked by the TLS handshake above) and
    # the cluster's kubeadm-config carries it as the controlPlaneEndpoint.
    config = sh(
        CONTROL_PLANES[0],
        "kubectl --kubeconfig=/etc/kubernetes/admin.conf -n kube-system get cm "
        "kubeadm-config -o jsonpath='{.data.ClusterConfiguration}'",
    ).stdout
    assert f"controlPlaneEndpoint: {VIP}:{FRONTEND_PORT}" in config, config


def test_the_vip_holder_down_moves_the_vip_and_the_api_keeps_answering() -> None:
    holder = vip_holders()
    assert holder == [CONTROL_PLANES[0]], holder
    victim, survivors = CONTROL_PLANES[0], CONTROL_PLANES[1:]
    context = ca_context()
    results: list[tuple[float, bool]] = []
    stop = threading.Event()

    def probe() -> None:
        started = time.monotonic()
        for _probe in range(10 * (PROBE_SECONDS + 90)):
            if stop.is_set() or time.monotonic() - started > PROBE_SECONDS + 90:
                return
            sent = time.monotonic()
            results.append((sent, ready_through_vip(context)))
            time.sleep(max(0.0, 0.1 - (time.monotonic() - sent)))

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        time.sleep(2)
        stopped = time.monotonic()
        # docker stop -t 0: SIGKILL, a crash of the whole machine (keepalived, haproxy, API, etcd).
        docker("stop", "-t", "0", victim)
        moved = wait_until(lambda: len(vip_holders(survivors)) == 1, DETECTION_BOUND, "the VIP moves to a survivor")
        new_holder = vip_holders(survivors)[0]
        wait_until(
            lambda: (
                server_states(new_holder).get(victim) == "DOWN"
                and all(server_states(new_holder).get(cp) == "UP" for cp in survivors)
            ),
            DETECTION_BOUND,
            f"{new_holder}'s haproxy marks {victim} DOWN and keeps the survivors UP",
        )
        detected = time.monotonic()
        time.sleep(PROBE_SECONDS)
        ended = time.monotonic()
    finally:
        stop.set()
        prober.join(timeout=5)
    before = [ok for sent, ok in results if stopped <= sent < detected]
    after = [ok for sent, ok in results if detected <= sent < ended]
    rate = sum(after) / max(len(after), 1)
    figure("vip_move", f"{moved:.2f} s from docker stop of {victim} to the VIP on {new_holder}")
    figure("detection_window", f"{detected - stopped:.2f} s (VIP moved and {victim} DOWN in haproxy)")
    figure("readyz_during_detection", f"{sum(before)}/{len(before)}")
    figure(
        "readyz_after_detection",
        f"{sum(after)}/{len(after)} = {rate:.2%} over {ended - detected:.0f} s at 10/s (threshold {MIN_SUCCESS:.0%})",
    )
    assert len(after) >= PROBE_SECONDS * 5, f"the probe loop ran too few probes: {len(after)}"
    assert detected - stopped <= 2 * DETECTION_BOUND, f"detection took {detected - stopped:.2f} s"
    assert rate >= MIN_SUCCESS, f"/readyz through the VIP after detection: {sum(after)}/{len(after)}"

    # Back: the init host boots, its API server comes back UP everywhere and it takes the VIP
    # back (highest priority).
    started = time.monotonic()
    boot(victim)
    wait_until(
        lambda: (
            vip_holders() == [victim]
            and all(server_states(cp) == dict.fromkeys(CONTROL_PLANES, "UP") for cp in CONTROL_PLANES)
        ),
        180,
        f"{victim} holds the VIP again and every API server is UP on every control plane",
    )
    figure("recovery", f"{time.monotonic() - started:.1f} s from docker start of {victim} to the VIP back and all UP")
