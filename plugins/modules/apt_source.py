#!/usr/bin/python
# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: apt_source
short_description: Add an apt repository and its signing key, fetched from where the repository says, in one call
version_added: 0.2.0
description:
  - Fetches the repository's ASCII-armored OpenPGP signing key from O(key_url), keeps it as
    C(<keyrings>/<name>.asc), and writes C(/etc/apt/sources.list.d/<name>.sources), a deb822 stanza
    whose C(Signed-By) names that key. The paths and the stanza are the ones
    C(ansible.builtin.deb822_repository) writes, so machines set up that way see no change.
  - Needs nothing on the node beyond Python and apt (no C(python3-debian)), and fetches the key in check
    mode too, so check mode on a fresh machine can say what it would add.
  - Does not refresh apt's lists - C(changed) tells the caller a refresh is due, so that several
    repositories can share one.
options:
  name:
    description: The repository's name, for both file names and C(X-Repolib-Name).
    type: str
    required: true
  uris:
    description: The repository's URI (C(URIs)).
    type: str
    required: true
  suites:
    description: C(Suites) - a distribution release, or V(/) for a flat repository such as pkgs.k8s.io's.
    type: str
    required: true
  components:
    description: C(Components), when the repository has them (not for a flat repository).
    type: str
  key_url:
    description: Where the ASCII-armored signing key is served.
    type: str
    required: true
  keyrings:
    description: The directory holding the key.
    type: path
    default: /etc/apt/keyrings
  sources_dir:
    description: The directory holding the C(.sources) file.
    type: path
    default: /etc/apt/sources.list.d
  timeout:
    description: Seconds to wait for the key.
    type: int
    default: 30
  hint:
    description: What to check when the key cannot be read, appended to the error (the variable to fix).
    type: str
    default: ""
attributes:
  check_mode:
    support: full
    description: Fetches the key (read only) and reports what it would write.
  diff_mode:
    support: full
    description: Shows each file's change.
  idempotent:
    support: full
    description: A second run with the same options and the same key changes nothing.
  platform:
    support: full
    platforms: debian
    description: Debian and Ubuntu (apt 2.4+ reads C(.sources) files with C(Signed-By)).
seealso:
  - name: ansible.builtin.deb822_repository
    description: The module whose files this one writes, which needs C(python3-debian) on the node.
    link: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/deb822_repository_module.html
  - name: Installing kubeadm
    description: The pkgs.k8s.io repositories, one per minor version, and their keys.
    link: https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/
author:
  - kubeha developers (@kubeha)
"""

EXAMPLES = r"""
- name: Add the Kubernetes 1.37 repository
  kubeha.kubeadm.apt_source:
    name: kubernetes
    uris: https://pkgs.k8s.io/core:/stable:/v1.37/deb/
    suites: /
    key_url: https://pkgs.k8s.io/core:/stable:/v1.37/deb/Release.key
  register: repository

- name: Refresh apt's lists when it changed
  ansible.builtin.apt:
    update_cache: true
  when: repository is changed
"""

RETURN = r"""
key_path:
  description: Where the signing key is kept.
  returned: always
  type: str
  sample: /etc/apt/keyrings/kubernetes.asc
source_path:
  description: The C(.sources) file.
  returned: always
  type: str
  sample: /etc/apt/sources.list.d/kubernetes.sources
files:
  description: The files written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [/etc/apt/keyrings/kubernetes.asc]
"""

# Ansible modules keep their imports below the documentation strings (validate-modules insists).
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.urls import fetch_url  # noqa: E402
from ansible_collections.kubeha.kubeadm.plugins.module_utils import _apt_source, _files  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "uris": {"type": "str", "required": True},
            "suites": {"type": "str", "required": True},
            "components": {"type": "str"},
            "key_url": {"type": "str", "required": True, "no_log": False},
            "keyrings": {"type": "path", "default": "/etc/apt/keyrings"},
            "sources_dir": {"type": "path", "default": "/etc/apt/sources.list.d"},
            "timeout": {"type": "int", "default": 30},
            "hint": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    params = module.params
    response, info = fetch_url(module, params["key_url"], timeout=params["timeout"])
    body = response.read().decode("utf-8", "replace") if response is not None and info.get("status") == 200 else ""
    problem = _apt_source.key_problem(params["key_url"], info.get("status", -1), info.get("msg", ""), body)
    if problem:
        module.fail_json(msg=f"{problem} {params['hint']}".strip())

    plans = _apt_source.plan(
        params["name"],
        key=body,
        stanza=_apt_source.stanza(
            params["name"], params["uris"], params["suites"], params["components"], params["keyrings"]
        ),
        keyrings=params["keyrings"],
        sources_dir=params["sources_dir"],
    )
    if not module.check_mode:
        _files.apply(module, plans)
    module.exit_json(
        changed=bool(plans),
        key_path=_apt_source.key_path(params["name"], params["keyrings"]),
        source_path=_apt_source.source_path(params["name"], params["sources_dir"]),
        files=[change["path"] for change in plans],
        diff=_files.diffs(plans),
    )


if __name__ == "__main__":
    main()
