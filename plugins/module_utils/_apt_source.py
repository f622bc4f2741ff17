# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An apt repository as two files, its signing key and its deb822 stanza (the apt_source module).

Private to kubeha.kubeadm: the names here may change in any release. Runs on the managed node:
standard library only, Python 3.9+. The paths and the stanza are ansible.builtin.deb822_repository's.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.kubeha.kubeadm.plugins.module_utils import _files

ARMORED_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


def key_path(name: str, keyrings: str) -> str:
    return os.path.join(keyrings, f"{name}.asc")


def source_path(name: str, sources_dir: str) -> str:
    return os.path.join(sources_dir, f"{name}.sources")


def key_problem(url: str, status: int, message: str, body: str) -> str | None:
    """Why the fetched key cannot be used, or None: it must be read (HTTP 200) and ASCII-armored OpenPGP."""
    if status != 200:
        return f"cannot read the signing key {url} ({message or 'no answer'})."
    if ARMORED_KEY not in body:
        return f"the signing key {url} is not an ASCII-armored OpenPGP public key."
    return None


def stanza(name: str, uris: str, suites: str, components: str | None, keyrings: str) -> str:
    """The .sources file: deb822's fields in deb822_repository's order."""
    lines = [f"Components: {components}"] if components else []
    lines += [
        f"X-Repolib-Name: {name}",
        f"Signed-By: {key_path(name, keyrings)}",
        f"Suites: {suites}",
        "Types: deb",
        f"URIs: {uris}",
    ]
    return "\n".join(lines) + "\n"


def plan(name: str, *, key: str, stanza: str, keyrings: str, sources_dir: str) -> list[dict[str, Any]]:
    """_files.plan() of the key and the .sources file, both owned."""
    return _files.plan(
        [
            (key_path(name, keyrings), key, "signing key", True),
            (source_path(name, sources_dir), stanza, "deb822 stanza", True),
        ]
    )
