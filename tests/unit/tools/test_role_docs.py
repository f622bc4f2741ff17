"""tools/role_docs.py: Ansible's markup becomes Markdown in the generated role README tables."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, load_script

role_docs = load_script(ROOT / "tools" / "role_docs.py", "role_docs")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Copy to C(/root/.kube/config).", "Copy to `/root/.kube/config`.", id="code"),
        pytest.param("Use O(cni_calico_version=v3).", "Use `cni_calico_version=v3`.", id="option"),
        pytest.param("V(auto) or V(tcp)", "`auto` or `tcp`", id="values"),
        pytest.param("See M(kubeha.kubeadm.kubeadm_init).", "See `kubeha.kubeadm.kubeadm_init`.", id="module"),
        pytest.param("I(not) B(ever)", "*not* **ever**", id="italic-bold"),
        pytest.param("L(the guide,https://example.invalid/g)", "[the guide](https://example.invalid/g)", id="link"),
        pytest.param("U(https://example.invalid)", "<https://example.invalid>", id="url"),
        pytest.param("C(a|b) in a table", "`a\\|b` in a table", id="pipe-escaped"),
        pytest.param("RFC(1123) and ETC(x) stay", "RFC(1123) and ETC(x) stay", id="not-markup"),
    ],
)
def test_markup_becomes_markdown(text: str, expected: str) -> None:
    assert role_docs.cell(text) == expected


def test_no_generated_table_carries_ansible_markup() -> None:
    leaks = {}
    for readme in sorted(ROOT.glob("roles/*/README.md")):
        generated = readme.read_text().split(role_docs.BEGIN, 1)[-1].split(role_docs.END, 1)[0]
        found = re.findall(r"\b(?:C|V|O|E|RV|M|P|I|B|U|L)\([^()]*\)", generated)
        if found:
            leaks[readme.parent.name] = found
    assert not leaks, leaks
