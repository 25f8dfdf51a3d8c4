"""The documentation: the site builds without warnings, its internal links resolve, and what
is generated from the code (the ODD parameter table, one page per scenario) matches the code;
CITATION.cff and CHANGELOG.md are valid and complete."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _gen_pages():
    spec = importlib.util.spec_from_file_location("gen_pages", DOCS / "gen_pages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_odd_parameter_table_matches_schema():
    """Refresh with ``python docs/gen_pages.py``."""
    import sim

    gen = _gen_pages()
    text = (DOCS / "ODD.md").read_text(encoding="utf-8")
    block = text.split(gen.START, 1)[1].split(gen.END, 1)[0].strip()
    assert block == gen.odd_table(), "docs/ODD.md is stale: run python docs/gen_pages.py"
    names = re.findall(r"^\| `([a-z0-9_]+)` \|", block, flags=re.M)
    assert names == list(sim.schema())


def test_every_scenario_and_mechanism_has_a_generated_page():
    from sim.engine.registry import build
    from sim.experiments.scenario import list_scenarios

    pages = _gen_pages().pages()
    for name in list_scenarios():
        page = pages[f"scenarios/{name}.md"]
        assert page.startswith(f"# {name}\n")
        assert f"[{name}]({name}.md)" in pages["scenarios/index.md"]
    for m in build():
        page = pages[f"model/{m.name}.md"]
        for p in m.params:
            assert f"| `{p.name}` |" in page


def test_citation_cff_is_valid():
    import sim

    yaml = pytest.importorskip("yaml")
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors"):
        assert data.get(key), f"CITATION.cff: {key} is required"
    assert data["version"] == sim.__version__
    # the CFF 1.2.0 JSON schema (tests/data/cff-1.2.0.schema.json, from the Citation File
    # Format project, CC-BY-4.0, as shipped by cffconvert); dates as the strings CFF expects
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "tests" / "data" / "cff-1.2.0.schema.json").read_text())
    jsonschema.validate(json.loads(json.dumps(data, default=str)), schema)
    broken = {k: v for k, v in data.items() if k != "authors"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(json.loads(json.dumps(broken, default=str)), schema)


def test_changelog_covers_every_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    heads = re.findall(r"^## (\S+)", text, flags=re.M)
    found = {"0.1.0", "0.2.0", "0.3.0"}
    try:  # every version the history has set
        log = subprocess.run(["git", "log", "-p", "--format=", "--", "sim/version.py",
                              "sim/core/version.py"], cwd=ROOT, capture_output=True, text=True)
        found |= set(re.findall(r'^\+__version__ = "([0-9.]+)"', log.stdout, flags=re.M))
    except OSError:  # no git: the versions known when this test was written
        pass
    import sim

    found.add(sim.__version__)
    assert heads[0] == "Unreleased"
    for version in sorted(found):
        assert version in heads, f"CHANGELOG.md has no section for {version}"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built with ``mkdocs build --strict`` (warnings are errors)."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("mkdocs_jupyter")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    # not --quiet: it hides warnings that --strict then does not count (a page outside the nav)
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                        "--site-dir", str(out)], cwd=ROOT, capture_output=True, text=True,
                       env=env, timeout=600)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    return out


def test_site_builds_strict(site):
    from sim.experiments.scenario import list_scenarios

    assert (site / "index.html").exists()
    assert (site / "ODD" / "index.html").exists()
    for name in list_scenarios():
        assert (site / "scenarios" / name / "index.html").exists()
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        assert (site / "notebooks" / nb.stem / "index.html").exists()


def test_no_broken_internal_links(site):
    broken = []
    for page in site.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8", errors="replace"))
        for link in parser.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("#", "mailto:", "data:")):
                continue
            path = unquote(parts.path)
            base = site if path.startswith("/") else page.parent  # 404.html: root-relative
            target = (base / path.lstrip("/")).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page.relative_to(site)}: {link}")
    assert not broken, "broken links:\n" + "\n".join(sorted(set(broken))[:50])


def test_markdown_sources_link_to_existing_files():
    """Relative links in README.md, CONTRIBUTING.md and docs/*.md point at existing files."""
    broken = []
    sources = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *DOCS.rglob("*.md")]
    for src in sources:
        text = re.sub(r"```.*?```", "", src.read_text(encoding="utf-8"), flags=re.S)
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            parts = urlsplit(link)
            if parts.scheme or link.startswith("#"):
                continue
            target = (src.parent / unquote(parts.path)).resolve()
            generated = target.is_relative_to(DOCS) and target.suffix == ".md"
            if not target.exists() and not generated:
                broken.append(f"{src.relative_to(ROOT)}: {link}")
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_executed_notebook_copies_match_their_sources():
    """The site shows the executed copies in docs/notebooks (``python notebooks/execute.py``);
    the suite executes the notebooks themselves (tests/test_notebooks.py). Their code and text
    must be the same, so the site never shows a notebook the suite did not run."""
    nbformat = pytest.importorskip("nbformat")
    sources = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert sources
    for src in sources:
        copy = ROOT / "docs" / "notebooks" / src.name
        assert copy.is_file(), f"no executed copy of {src.name}: run python notebooks/execute.py"
        a = nbformat.read(src, as_version=4).cells
        b = nbformat.read(copy, as_version=4).cells
        assert [(c.cell_type, c.source) for c in a] == [(c.cell_type, c.source) for c in b], (
            f"{copy} is stale: run python notebooks/execute.py {src.stem[:2]}")
        assert any(o.get("output_type") == "display_data" for c in b if c.cell_type == "code"
                   for o in c.get("outputs", [])), f"{copy} has no figure"
