"""tools/docs_pages.py's validation page: a row for every problem a check can report, read from the source."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_script

docs_pages = load_script(ROOT / "tools" / "docs_pages.py", "kubeha_docs_pages")


def test_every_report_call_has_a_row() -> None:
    rows = docs_pages.validation_rows()
    assert len(rows) == docs_pages.report_calls()
    assert len(rows) > 60


def test_every_checks_module_is_read() -> None:
    modules = sorted(p.name for p in (ROOT / "plugins" / "plugin_utils").glob("_checks_*.py"))
    read = sorted(Path(s).name for s in docs_pages.CHECK_SOURCES if "_checks_" in s)
    assert read == [m for m in modules if m != "_checks_common.py"]


def test_rows_name_a_variable_a_message_and_a_fix() -> None:
    for row in docs_pages.validation_rows():
        assert re.match(r"^[a-z0-9_.<>/ ]+$", row["variable"]), row
        assert row["message"], row
        assert row["fix"], row
        assert row["severity"] in ("error", "warning"), row


def test_the_page_has_every_row_and_every_role_rule() -> None:
    page = docs_pages.validation()
    rows = docs_pages.validation_rows()
    inputs = importlib.import_module(f"{docs_pages.COLLECTION}.plugins.plugin_utils._checks_inputs")
    rules = set(inputs.RANGES) | set(inputs.FORMATS)
    assert page.count("\n   * - ``") == len(rows) + len(rules)
    for name in rules:
        assert f"   * - ``{name}``" in page, name
    for row in rows:
        assert docs_pages.rst_text(row["message"]) in page, row


def test_a_new_check_without_a_readable_variable_stops_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "plugins" / "plugin_utils" / "_checks_new.py"
    source.parent.mkdir(parents=True)
    source.write_text("def new(checker):\n    checker.report.error('all', compute(), 'message.', 'fix.')\n")
    monkeypatch.setattr(docs_pages, "ROOT", tmp_path)
    monkeypatch.setattr(docs_pages, "CHECK_SOURCES", ("plugins/plugin_utils/_checks_new.py",))
    with pytest.raises(SystemExit, match="cannot name the variable of the check"):
        docs_pages.validation_rows()
