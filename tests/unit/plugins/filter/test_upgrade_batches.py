"""The upgrade_batches filter over plugin_utils/_upgrade.py's batches, as upgrade.yml calls it."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.kubeha.kubeadm.plugins.filter import upgrade_batches as plugin


@pytest.mark.parametrize(
    ("count", "sizes"),
    [(1, [1]), (2, [1, 1]), (5, [1, 1, 1, 1, 1]), (21, [4, 4, 4, 4, 4, 1])],
)
def test_the_default_20_percent(count: int, sizes: list[int]) -> None:
    workers = [f"w{i}" for i in range(1, count + 1)]
    batches = plugin.upgrade_batches(workers)
    assert [len(b) for b in batches] == sizes
    assert [h for b in batches for h in b] == workers
    assert plugin.upgrade_batches(workers, "20%") == batches


def test_the_variable_as_a_count_or_as_an_extra_var_string() -> None:
    assert plugin.upgrade_batches(["w1", "w2", "w3"], 2) == [["w1", "w2"], ["w3"]]
    assert plugin.upgrade_batches(["w1", "w2", "w3"], "2") == [["w1", "w2"], ["w3"]]
    assert plugin.upgrade_batches(["w1", "w2", "w3"], "100%") == [["w1", "w2", "w3"]]
    assert plugin.upgrade_batches([], "20%") == []


def test_bad_input_names_the_variable() -> None:
    with pytest.raises(AnsibleFilterError, match=r"kubeha_upgrade_worker_batch: '0%' is not a number of workers"):
        plugin.upgrade_batches(["w1"], "0%")
    with pytest.raises(AnsibleFilterError, match="expects the list"):
        plugin.upgrade_batches("w1,w2")


def test_the_filter_is_registered() -> None:
    assert plugin.FilterModule().filters()["upgrade_batches"] is plugin.upgrade_batches
