"""The documentation site: built offline with warnings as errors, complete, and working in a browser.

tools/docs runs in a network namespace of its own (no network at all), so a build that tries to
fetch anything fails here. The built pages are then opened in Debian's headless chromium, in a
namespace without network too, from file:// URLs: starting at the index, every local page is
visited, its links must resolve (files and fragments), and the module, filter and role pages
must render their titles and option tables.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections import deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest
import yaml
from ansible_collections.kubeha.kubeadm.plugins.module_utils._kubeadm_errors import FAILURE_ADVICE, FAILURE_CATEGORIES

from tests.conftest import ROOT, load_script
from tests.static.offline import offline

pytestmark = pytest.mark.static

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Page(HTMLParser):
    """What the tests read from a DOM: title, h1, element ids, links, sub-resources, option tables."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.title = ""
        self.h1 = ""
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.resources: list[str] = []
        self.option_tables = 0
        self.text = ""
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.ids.add(attributes["id"])
        if tag == "a" and "href" in attributes:
            self.links.append(attributes["href"])
        if tag in ("script", "img", "iframe") and attributes.get("src"):
            self.resources.append(attributes["src"])
        if tag == "link" and attributes.get("href"):
            self.resources.append(attributes["href"])
        if tag == "table" and "ansible-option-table" in attributes.get("class", "").split():
            self.option_tables += 1
        if tag in ("title", "h1") and not getattr(self, tag):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._in:
            setattr(self, self._in, getattr(self, self._in) + data)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    result = offline([str(ROOT / "tools" / "docs"), str(out)], timeout=300)
    assert result.returncode == 0, f"tools/docs failed offline:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}"
    return out / "html"


@pytest.fixture(scope="module")
def browser() -> str:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: run tools/dev-setup"
    return chromium


def dump_dom(chromium: str, page: Path) -> Page:
    with tempfile.TemporaryDirectory(prefix="kubeha-chromium-") as profile:
        result = offline([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()], 90)
    assert result.returncode == 0, f"chromium could not open {page}: {result.stderr[-3000:]}"
    assert "<body" in result.stdout, f"chromium returned no DOM for {page}"
    return Page(result.stdout)


@pytest.fixture(scope="module")
def crawl(site: Path, browser: str) -> dict[Path, Page]:
    """Every local page reachable from the index, as the browser rendered it."""
    pages: dict[Path, Page] = {}
    queue = deque([site / "index.html"])
    while queue:
        path = queue.popleft()
        if path in pages or not path.is_file():
            continue
        pages[path] = dump_dom(browser, path)
        for href in pages[path].links:
            target = local_target(path, href)
            if target is not None and target.suffix == ".html":
                queue.append(target)
    return pages


def local_target(page: Path, href: str) -> Path | None:
    parts = urlsplit(href)
    if parts.scheme not in ("", "file") or parts.netloc or not parts.path:
        return None
    base = Path(unquote(parts.path)) if parts.scheme == "file" else page.parent / unquote(parts.path)
    return base.resolve()


def modules() -> list[str]:
    return sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")


def filters() -> list[str]:
    """The filter names the plugins really provide (FilterModule().filters()), not file names."""
    names = []
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        plugin = load_script(path, f"kubeha_docs_filter_{path.stem}")
        names.extend(plugin.FilterModule().filters())
    return sorted(names)


def roles() -> dict[str, dict]:
    return {
        p.name: yaml.safe_load((p / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        for p in sorted((ROOT / "roles").iterdir())
        if (p / "meta" / "argument_specs.yml").is_file()
    }


@pytest.fixture(scope="module")
def module_docs() -> dict[str, dict]:
    """ansible-doc's view of every module: its own options and those of its doc fragments."""
    names = [f"kubeha.kubeadm.{name}" for name in modules()]
    result = subprocess.run(
        ["ansible-doc", "--json", "-t", "module", *names], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {name.rsplit(".", 1)[1]: doc["doc"] for name, doc in json.loads(result.stdout).items()}


def test_tree_has_content_to_document() -> None:
    assert modules(), "no modules found"
    assert filters(), "no filters found"
    assert roles(), "no roles found"


def test_every_module_filter_and_role_has_a_page(site: Path, crawl: dict[Path, Page]) -> None:
    reference = site / "reference"
    expected = (
        [reference / f"{name}_module.html" for name in modules()]
        + [reference / f"{name}_filter.html" for name in filters()]
        + [reference / f"{name}_role.html" for name in roles()]
    )
    missing = [str(p.relative_to(site)) for p in expected if not p.is_file()]
    assert not missing, f"no page for {missing}"
    unreachable = [str(p.relative_to(site)) for p in expected if p.resolve() not in crawl]
    assert not unreachable, f"pages not reachable from the index: {unreachable}"


@pytest.mark.parametrize("name", modules())
def test_module_page_renders_title_and_options(
    site: Path, crawl: dict[Path, Page], module_docs: dict[str, dict], name: str
) -> None:
    page = crawl[(site / "reference" / f"{name}_module.html").resolve()]
    assert page.title.startswith(f"kubeha.kubeadm.{name} module"), page.title
    assert page.h1.startswith(f"kubeha.kubeadm.{name} module"), page.h1
    assert page.option_tables >= 1, f"{name}: no option table rendered"
    options = module_docs[name].get("options") or {}
    assert options, f"{name}: ansible-doc lists no options"
    missing = [option for option in options if f"parameter-{option}" not in page.ids]
    assert not missing, f"{name}: options without a row on the page: {missing}"


@pytest.mark.parametrize("name", filters())
def test_filter_page_renders(site: Path, crawl: dict[Path, Page], name: str) -> None:
    page = crawl[(site / "reference" / f"{name}_filter.html").resolve()]
    assert page.h1.startswith(f"kubeha.kubeadm.{name} filter"), page.h1
    assert page.option_tables >= 1, f"{name}: no option table rendered"


@pytest.mark.parametrize("role", sorted(roles()))
def test_role_page_has_every_entry_point_and_option(site: Path, crawl: dict[Path, Page], role: str) -> None:
    page = crawl[(site / "reference" / f"{role}_role.html").resolve()]
    assert page.h1.startswith(f"kubeha.kubeadm.{role} role"), page.h1
    for entry_point, spec in roles()[role].items():
        section = f"ansible-collections-kubeha-kubeadm-{role}-role-entrypoint-{entry_point}".replace("_", "-")
        assert section in page.ids, f"{role}: entry point {entry_point} has no section"
        missing = [o for o in spec.get("options") or {} if f"parameter-{entry_point}--{o}" not in page.ids]
        assert not missing, f"{role} ({entry_point}): options without a row on the page: {missing}"


def test_internal_links_resolve(site: Path, crawl: dict[Path, Page]) -> None:
    broken = []
    for path, page in crawl.items():
        for href in page.links:
            target = local_target(path, href)
            fragment = urldefrag(href).fragment
            if target is None:
                # Same-page anchors (#id) must exist on this page.
                if href.startswith("#") and len(href) > 1 and unquote(href[1:]) not in page.ids:
                    broken.append(f"{path.relative_to(site)}: {href}")
                continue
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {href} (no such file)")
            elif fragment and target in crawl and unquote(fragment) not in crawl[target].ids:
                broken.append(f"{path.relative_to(site)}: {href} (no such anchor)")
    assert len(crawl) >= 10, f"the crawl reached only {len(crawl)} pages"
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_pages_load_nothing_from_the_network(site: Path, crawl: dict[Path, Page]) -> None:
    remote = sorted(
        f"{path.relative_to(site)}: {src}"
        for path, page in crawl.items()
        for src in page.resources
        if urlsplit(src).netloc
    )
    assert not remote, "pages load resources from other hosts:\n" + "\n".join(remote)


def test_troubleshooting_has_every_failure_category(site: Path, crawl: dict[Path, Page]) -> None:
    page = crawl[(site / "troubleshooting.html").resolve()]
    text = plain(page.text)
    assert set(FAILURE_ADVICE) >= set(FAILURE_CATEGORIES)
    for category, (explanation, fix) in FAILURE_ADVICE.items():
        assert f"kubeha-failure-{category.replace('_', '-')}" in page.ids, f"no section for {category}"
        for words in (explanation, fix):
            assert plain(words) in text, f"{category}: {words!r} is not on the page"


# Sphinx's smart quotes, dashes and ellipses, and what they were typed as.
TYPOGRAPHY = (
    ("\u2019", "'"),
    ("\u2018", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u2014", "---"),
    ("\u2013", "--"),
    ("\u2026", "..."),
)


def plain(text: str) -> str:
    """Text as a reader sees it, whatever typography Sphinx applied (quotes, dashes, line breaks)."""
    for fancy, ascii_ in TYPOGRAPHY:
        text = text.replace(fancy, ascii_)
    return " ".join(text.split())


def test_validation_page_has_every_check(site: Path, crawl: dict[Path, Page]) -> None:
    pages = load_script(ROOT / "tools" / "docs_pages.py", "kubeha_docs_pages")
    text = plain(crawl[(site / "validation.html").resolve()].text)
    rows = pages.validation_rows()
    assert len(rows) == pages.report_calls()
    for row in rows:
        for words in (row["variable"], row["message"], row["fix"]):
            assert plain(words) in text, f"{row['check']}: {words!r} is not on the page"
