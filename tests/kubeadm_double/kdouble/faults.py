"""Test-only fault injection: hold kubeadm at a named point so a drill can kill it there.

A drill writes a checkpoint name to /etc/kubeadm-double/pause-at; when kubeadm reaches that
point it records it in /run/kubeadm-double/paused (so the drill knows when to strike) and
waits, for at most PAUSE_LIMIT seconds, until the pause file is removed. Real kubeadm has no
such pauses: with no file, nothing changes. Checkpoints:

- `join/etcd-member-added`: a control-plane join has added this node's etcd member (learner or
  voting) and has not yet written etcd.yaml, so the member is unstarted.
- `upgrade/<component>-manifest-moved`: `kubeadm upgrade apply` or `node` has written that
  component's new static pod manifest (etcd, kube-apiserver, kube-controller-manager,
  kube-scheduler) and not yet waited for the kubelet to restart it.
"""

from __future__ import annotations

import os
import time

PAUSE_FILE = "/etc/kubeadm-double/pause-at"
PAUSED_FILE = "/run/kubeadm-double/paused"
PAUSE_LIMIT = 600.0


def checkpoint(name: str) -> None:
    try:
        with open(PAUSE_FILE, encoding="utf-8") as handle:
            wanted = handle.read().strip()
    except OSError:
        return
    if wanted != name:
        return
    os.makedirs(os.path.dirname(PAUSED_FILE), exist_ok=True)
    with open(PAUSED_FILE, "w", encoding="utf-8") as handle:
        handle.write(f"{name} {os.getpid()}\n")
    start = time.monotonic()
    for _second in range(int(PAUSE_LIMIT)):
        if not os.path.exists(PAUSE_FILE) or time.monotonic() - start > PAUSE_LIMIT:
            break
        time.sleep(1)
    os.remove(PAUSED_FILE)
