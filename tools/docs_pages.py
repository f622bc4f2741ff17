#!/usr/bin/env python
"""Write the documentation pages that come from the code (tools/docs calls this).

troubleshooting.rst: one section per failure category the modules report, from the failure
tables in plugins/module_utils (every ``*FAILURE_ADVICE`` mapping of category to (what went
wrong, how to fix it)), in the order of FAILURE_CATEGORIES, with the modules whose RETURN
documents the category. Generated on every build, so the page cannot drift from the code.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = "ansible_collections.kubeha.kubeadm"
# tools/dev-setup links this checkout there as the collection kubeha.kubeadm.
sys.path.insert(0, str(ROOT / ".venv" / "collections"))

_RST_SPECIAL = re.compile(r"([\\`*_|])")
_VALUE = re.compile(r"V\(([a-z_]+)\)")


def rst_text(text: str) -> str:
    """Text as it reads, no markup: no emphasis, no references, no link made of a sample URL."""
    return _RST_SPECIAL.sub(r"\\\1", text).replace("://", r"\://")


def module_utils() -> list[Any]:
    """The helper the modules import first (kept as the facade), then every other module_utils file."""
    package = importlib.import_module(f"{COLLECTION}.plugins.module_utils")
    modules = [importlib.import_module(f"{COLLECTION}.plugins.module_utils._kubeadm")]
    for info in sorted(pkgutil.walk_packages(package.__path__, f"{package.__name__}."), key=lambda i: i.name):
        module = importlib.import_module(info.name)
        if module not in modules:
            modules.append(module)
    return modules


def failure_advice() -> dict[str, tuple[str, str]]:
    """Every category with its (what went wrong, how to fix it), in FAILURE_CATEGORIES order."""
    advice: dict[str, tuple[str, str]] = {}
    order: list[str] = []
    for module in module_utils():
        for name, table in vars(module).items():
            if name.endswith("FAILURE_ADVICE") and isinstance(table, dict):
                for category, entry in table.items():
                    advice.setdefault(category, tuple(entry))
        order.extend(c for c in getattr(module, "FAILURE_CATEGORIES", ()) if c not in order)
    if not advice:
        raise SystemExit("docs_pages: no FAILURE_ADVICE table found in plugins/module_utils")
    ranked = [c for c in order if c in advice] + sorted(c for c in advice if c not in order)
    return {category: advice[category] for category in ranked}


def message_format(category: str) -> str | None:
    """The failure line the modules print for a category, from the helpers' own formatter."""
    for module in module_utils():
        describe = getattr(module, "describe_failure", None)
        if callable(describe):
            return describe("<command>", category, "", "")
    return None


def module_docs(path: Path) -> dict[str, Any]:
    """A module file's DOCUMENTATION and RETURN, parsed without importing the module."""
    docs: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "RETURN"):
                    docs[target.id] = yaml.safe_load(node.value.value) or {}
    return docs


def reporters() -> tuple[dict[str, list[str]], list[str]]:
    """Category -> the modules whose RETURN value failure_category names it; the modules without one."""
    found: dict[str, list[str]] = {}
    uncategorised: list[str] = []
    for path in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        returned = module_docs(path).get("RETURN", {}).get("failure_category")
        if not returned:
            uncategorised.append(f"kubeha.kubeadm.{path.stem}")
            continue
        description = returned.get("description", "")
        text = " ".join(description) if isinstance(description, list) else str(description)
        for category in _VALUE.findall(text):
            found.setdefault(category, []).append(f"kubeha.kubeadm.{path.stem}")
    return found, uncategorised


INTRO = """\
.. _kubeha_troubleshooting:

Troubleshooting
===============

When a kubeha.kubeadm module fails, its result says why in ``failure_category`` and its message
is one line that names the category, what went wrong, the fix, and then kubeadm's own words:

.. code-block:: text

{example}

Tokens and certificate keys are scrubbed from the message, from ``stdout``, ``stderr`` and the
returned command line. A failed ``kubeadm join`` is reset afterwards unless
``reset_on_failure=false`` (``reset_after_failure`` in the result says whether it was); a node
that already runs Kubernetes (``already_initialized``, ``already_joined``) is never reset.

Before any host changes, ``playbooks/validate.yml`` (the first play of ``ha_cluster.yml``)
reports every inventory problem at once, each naming the host, the variable and the fix; see
:ansplugin:`kubeha.kubeadm.cluster_problems#filter`.

The categories below are generated from the modules' failure table.
"""


def troubleshooting() -> str:
    advice = failure_advice()
    reported_by, uncategorised = reporters()
    example = message_format("token_invalid" if "token_invalid" in advice else next(iter(advice)))
    shape = example or "<command> failed (<category>): <what went wrong>. Fix: <how to fix it>."
    lines = [INTRO.format(example="   " + shape + " kubeadm said: ...")]
    for category, (explanation, fix) in advice.items():
        title = f"``{category}``"
        lines += [f".. _kubeha_failure_{category}:", "", title, "-" * len(title), ""]
        lines += [f"**What went wrong:** {rst_text(explanation)}.", ""]
        lines += [f"**Fix:** {rst_text(fix)}.", ""]
        modules = reported_by.get(category)
        if modules:
            links = ", ".join(f":ansplugin:`{name}#module`" for name in modules)
            lines += [f"**Reported by:** {links}.", ""]
    if uncategorised:
        title = "Modules without a failure category"
        links = ", ".join(f":ansplugin:`{name}#module`" for name in uncategorised)
        lines += [title, "-" * len(title), ""]
        lines += [f"{links} return no ``failure_category``; their pages say what they return.", ""]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="the Sphinx source directory to write into")
    args = parser.parse_args(argv)
    (args.dest / "troubleshooting.rst").write_text(troubleshooting())
    return 0


if __name__ == "__main__":
    sys.exit(main())
