# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Configuration files a module owns, written whole and atomically (kernel_settings, apt_source).

Private to kubeha.kubeadm: the names here may change in any release. Runs on the managed node:
standard library only, Python 3.9+.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

MANAGED_MODE = 0o644


def read_text(path: str) -> str | None:
    """A file's text, None when it does not exist (or cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def write_file(module: Any, path: str, content: str, keep_attributes: bool = False) -> None:
    """Replace path with content through a temporary file beside it and AnsibleModule.atomic_move.

    A file the module owns ends 0644 root:root; with keep_attributes (a file it only edits, such as
    fstab) the existing mode and owner stay.
    """
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".kubeha-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(content)
    if keep_attributes and os.path.exists(path):
        stat = os.stat(path)
        os.chmod(temporary, stat.st_mode & 0o7777)
        os.chown(temporary, stat.st_uid, stat.st_gid)
    else:
        os.chmod(temporary, MANAGED_MODE)
        os.chown(temporary, 0, 0)
    module.atomic_move(temporary, path)


def wrong_attributes(path: str) -> bool:
    """A file that exists with another mode or owner than 0644 root:root."""
    try:
        stat = os.stat(path)
    except OSError:
        return False
    return (stat.st_mode & 0o7777) != MANAGED_MODE or stat.st_uid != 0 or stat.st_gid != 0


def fix_attributes(path: str) -> None:
    """Make path 0644 root:root."""
    os.chmod(path, MANAGED_MODE)
    os.chown(path, 0, 0)


def plan(wanted: list[tuple[str, str, str, bool]]) -> list[dict[str, Any]]:
    """The changes wanted files need, from (path, content, reason, owned) entries.

    A file whose content differs is rewritten (after: the content); an owned file whose content is
    right but whose mode or owner is not 0644 root:root only has them fixed (after: None). A file
    that is not owned (edited in place, such as fstab) keeps its own mode and owner.
    """
    plans = []
    for path, content, reason, owned in wanted:
        current = read_text(path)
        if current != content:
            plans.append({"path": path, "before": current, "after": content, "reason": reason, "owned": owned})
        elif owned and wrong_attributes(path):
            plans.append(
                {"path": path, "before": current, "after": None, "reason": "mode 0644, owner root:root", "owned": owned}
            )
    return plans


def apply(module: Any, plans: list[dict[str, Any]]) -> None:
    """Carry out plan()'s changes."""
    for change in plans:
        if change["after"] is None:
            fix_attributes(change["path"])
        else:
            write_file(module, change["path"], change["after"], keep_attributes=not change["owned"])


def diffs(plans: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Ansible's diff entries for the rewritten files."""
    return [
        {"before_header": c["path"], "after_header": c["path"], "before": c["before"] or "", "after": c["after"]}
        for c in plans
        if c["after"] is not None
    ]
