"""Helpers shared by the scenarios' testinfra tests.

Not a test file: a scenario's `tests/conftest.py` puts this directory on `sys.path`, and its
tests import from `helpers`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

# TLS flags (curl's and etcdctl's names) for etcd's client API as the health-check client,
# the identity kubeadm's own etcd checks use.
ETCD_CLIENT_TLS = [
    "--cacert", "/etc/kubernetes/pki/etcd/ca.crt",
    "--cert", "/etc/kubernetes/pki/etcd/healthcheck-client.crt",
    "--key", "/etc/kubernetes/pki/etcd/healthcheck-client.key",
]  # fmt: skip


def wait_until(condition: Callable[[], bool], timeout: float, what: str, poll: float = 0.2) -> float:
    """Poll `condition` every `poll` s for at most `timeout` s; return the seconds it took.

    Bounded in time and in count; fails the test naming `what` when the time is up.
    """
    start = time.monotonic()
    for _attempt in range(int(timeout / poll) + 1):
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            break
        time.sleep(poll)
    pytest.fail(f"timed out after {timeout:.0f} s waiting until {what}")
