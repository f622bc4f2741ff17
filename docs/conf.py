# Copyright: kubeha.kubeadm contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sphinx configuration of the kubeha.kubeadm documentation site (built by tools/docs).

tools/docs copies the guide pages beside this file and the reference pages antsibull-docs
renders from the collection into one source tree, then runs sphinx-build on it with this
configuration (``-c docs``) and warnings as errors. The build is offline: no intersphinx
inventory is fetched, and the few labels the generated pages take from Ansible's own
documentation resolve to fixed addresses there.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from docutils import nodes

_GALAXY = yaml.safe_load((Path(__file__).resolve().parent.parent / "galaxy.yml").read_text())

project = f"{_GALAXY['namespace']}.{_GALAXY['name']}"
copyright = "kubeha.kubeadm contributors"
author = "kubeha.kubeadm contributors"
version = release = str(_GALAXY["version"])
html_title = f"{project} {release}"
html_short_title = project

extensions = ["sphinx_antsibull_ext"]

# Every reference must resolve: a broken link in a generated page is a build failure.
nitpicky = True
default_role = "any"
pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
html_copy_source = False
html_use_index = False
html_use_modindex = False
html_theme_options = {"collapse_navigation": False}

# Labels of Ansible's documentation that antsibull-docs' pages refer to. The site is built
# offline, so they point at the published pages instead of a downloaded inventory; any other
# unresolved label still fails the build.
_ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
ANSIBLE_LABELS = {
    "common_return_values": (
        "reference_appendices/common_return_values.html#common-return-values",
        "Ansible's common return values",
    ),
    "ansible_configuration_settings": (
        "reference_appendices/config.html#ansible-configuration-settings",
        "Ansible configuration settings",
    ),
}


def _ansible_label(app, env, node, contnode):
    if node.get("refdomain") != "std" or node.get("reftype") != "ref":
        return None
    target = ANSIBLE_LABELS.get(node.get("reftarget", ""))
    if target is None:
        return None
    path, title = target
    reference = nodes.reference("", "", internal=False, refuri=_ANSIBLE_DOCS + path)
    reference += contnode if node.get("refexplicit") else nodes.inline(title, title)
    return reference


def setup(app):
    app.connect("missing-reference", _ansible_label)
    return {"parallel_read_safe": True}
