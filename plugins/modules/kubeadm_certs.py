#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: kubeadm_certs
short_description: Read when a control plane's kubeadm certificates expire, and renew the ones that are due
version_added: 0.1.0
description:
  - Reads C(kubeadm certs check-expiration -o json) on a control plane and returns typed facts per certificate
    and per CA - expiry date, residual time in seconds and whole days, CA, missing, externally managed.
    Only the machine-readable output is read (kubeadm 1.30 or later), never the text table.
  - With O(state=renewed), runs C(kubeadm certs renew <name>) for every certificate that expires within
    O(renew_within), or C(kubeadm certs renew all) with O(renew_all=true); then reads the expiry again.
    Certificates that are missing on this node (C(super-admin.conf) on a joined control plane) or externally
    managed are never renewed.
  - Renewal changes only this node's files (leaf certificates and keys under C(/etc/kubernetes/pki) and the
    client certificates embedded in C(admin.conf), C(super-admin.conf), C(controller-manager.conf) and
    C(scheduler.conf)). The running API server, etcd, controller manager and scheduler go on serving the old
    certificates until their static pods restart; RV(restart_needed) says when to do it.
  - CAs are never renewed (kubeadm cannot renew them). A CA that expires within O(ca_warn_within) is listed in
    RV(cas_expiring) and reported as a warning.
attributes:
  check_mode:
    support: full
    description:
      - Reads the expiry (read only) and reports in RV(renewed) what would be renewed, with RV(ignore:changed)
        true when something would be; renews nothing.
  idempotent:
    support: partial
    description:
      - With O(state=renewed), a second run finds nothing due and changes nothing, unless O(renew_all=true)
        (which renews everything on every run) or O(renew_within) is longer than the certificates' validity.
extends_documentation_fragment:
  - kubeha.kubeadm._kubeadm
options:
  state:
    description:
      - V(read) only reads the expiry; V(renewed) renews what is due.
    type: str
    choices: [read, renewed]
    default: read
  renew_within:
    description:
      - A certificate is due when it expires within this time - a number of days (V(30)) or a duration such as
        V(30d), V(720h) or V(7d12h). Also decides RV(due) in V(read) state.
    type: str
    default: 30d
  renew_all:
    description:
      - With O(state=renewed), renew every certificate kubeadm manages on this node (C(kubeadm certs renew all)),
        due or not. Always reports a change.
    type: bool
    default: false
  ca_warn_within:
    description:
      - A CA that expires within this time (days or a duration, as O(renew_within)) is reported in
        RV(cas_expiring) and as a warning.
    type: str
    default: 365d
  cert_dir:
    description:
      - The certificate directory (C(--cert-dir)); kubeadm's default (from C(kubeadm-config), normally
        C(/etc/kubernetes/pki)) when unset.
    type: path
notes:
  - Run it on every control plane, one at a time; each one renews its own certificates.
  - The kubelet's client certificate (C(kubelet.conf)) rotates itself and is not one of kubeadm's certificates.
requirements:
  - kubeadm 1.30 or later (C(-o json) for C(certs check-expiration)), run as root.
seealso:
  - module: kubeha.kubeadm.kubeadm_node_info
  - name: Certificate management with kubeadm
    description: What kubeadm renews, and how to rotate CAs by hand.
    link: https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Read the expiry of this control plane's certificates
  kubeha.kubeadm.kubeadm_certs:
  register: certs

- name: Say when the first certificate lapses
  ansible.builtin.debug:
    msg: "{{ certs.earliest_expiry.name }} expires on {{ certs.earliest_expiry.expires }}"

- name: Renew what expires within 60 days
  kubeha.kubeadm.kubeadm_certs:
    state: renewed
    renew_within: 60d
  register: renewal

- name: Renew everything, due or not
  kubeha.kubeadm.kubeadm_certs:
    state: renewed
    renew_all: true
"""

RETURN = r"""
certificates:
  description: Every certificate kubeadm manages on this node, in kubeadm's order, after any renewal.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: kubeadm's name for it, as C(kubeadm certs renew) takes it.
      type: str
      sample: apiserver
    ca_name:
      description: The CA that signs it (V(ca), V(etcd-ca) or V(front-proxy-ca)).
      type: str
      sample: ca
    expires:
      description: When it expires (RFC 3339, UTC); V(null) when missing.
      type: str
      sample: "2027-06-06T15:28:41Z"
    residual_seconds:
      description: Seconds left until it expires, by kubeadm's clock; V(null) when missing.
      type: int
      sample: 31449641
    residual_days:
      description: Whole days left (RV(certificates[].residual_seconds) // 86400); V(null) when missing.
      type: int
      sample: 364
    expired:
      description: Whether it has expired.
      type: bool
    missing:
      description: Whether kubeadm found it missing on this node (C(super-admin.conf) on a joined control plane).
      type: bool
    externally_managed:
      description: Whether its CA is external (no CA key here), so kubeadm cannot renew it.
      type: bool
certificate_authorities:
  description:
    - The CAs (V(ca), V(etcd-ca), V(front-proxy-ca)) with the same facts as RV(certificates), without C(ca_name).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The CA's name.
      type: str
      sample: ca
    expires:
      description: When it expires (RFC 3339, UTC).
      type: str
    residual_seconds:
      description: Seconds left.
      type: int
    residual_days:
      description: Whole days left.
      type: int
    expired:
      description: Whether it has expired.
      type: bool
    missing:
      description: Whether it is missing.
      type: bool
    externally_managed:
      description: Whether it is managed outside kubeadm.
      type: bool
renewed:
  description: The certificates renewed (in check mode, that would be renewed).
  returned: always
  type: list
  elements: str
  sample: [admin.conf, apiserver]
due:
  description: The certificates that expire within O(renew_within), from the facts returned.
  returned: always
  type: list
  elements: str
  sample: []
earliest_expiry:
  description: The present certificate that expires first; V(null) when none is present.
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    expires:
      description: When it expires.
      type: str
    residual_seconds:
      description: Seconds left.
      type: int
    residual_days:
      description: Whole days left.
      type: int
earliest_ca_expiry:
  description:
    - The CA that expires first, with the keys of RV(earliest_expiry) (C(name), C(expires), C(residual_seconds),
      C(residual_days)); V(null) when none is present.
  returned: always
  type: dict
cas_expiring:
  description: CAs that expire within O(ca_warn_within). kubeadm cannot renew them; rotate them by hand.
  returned: always
  type: list
  elements: str
  sample: []
restart_needed:
  description:
    - Whether certificates were renewed, so that the API server, etcd, controller manager and scheduler static pods
      must restart to use them.
  returned: always
  type: bool
commands:
  description: The kubeadm commands that ran.
  returned: always
  type: list
  elements: list
  sample: [["/usr/bin/kubeadm", "certs", "check-expiration", "-o", "json"]]
failure_category:
  description: Why kubeadm failed, when it did (see the collection's troubleshooting page).
  returned: failure
  type: str
  sample: unknown
rc:
  description: The exit status of the kubeadm command that failed.
  returned: when a kubeadm command failed
  type: int
  sample: 1
stdout:
  description: What the failed kubeadm command printed on standard output.
  returned: when a kubeadm command failed
  type: str
stderr:
  description: What the failed kubeadm command printed on standard error.
  returned: when a kubeadm command failed
  type: str
cmd:
  description: The kubeadm command line that failed.
  returned: when a kubeadm command failed
  type: list
  elements: str
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_certs import certificates_node  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_node import KUBERNETES_DIR  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_session import (  # noqa: E402
    KUBEADM_BASE_ARGSPEC,
    run_module,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **KUBEADM_BASE_ARGSPEC,
            "state": {"type": "str", "choices": ["read", "renewed"], "default": "read"},
            "renew_within": {"type": "str", "default": "30d"},
            "renew_all": {"type": "bool", "default": False},
            "ca_warn_within": {"type": "str", "default": "365d"},
            "cert_dir": {"type": "path"},
        },
        supports_check_mode=True,
    )
    run_module(module, certificates_node, KUBERNETES_DIR)


if __name__ == "__main__":
    main()
