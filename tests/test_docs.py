"""The documentation: the site builds with no warning, and its examples run.

* ``mkdocs build --strict`` (what ``make docs`` runs) into a temporary folder: any warning — a
  broken link or anchor, a page missing from the nav, a docstring griffe cannot parse — fails.
* Every ```` ```python ```` block of the README and of the guide pages runs, page by page in one
  namespace (a page's examples build on each other), in a temporary working directory, on the
  bundled example data. Blocks written as ``>>>`` sessions run as doctests. A block preceded by
  ``<!-- docs-test: skip (REASON) -->`` is not run (it needs data the repository does not
  have); the reason is required.
* The ``Examples`` sections of the entry points' docstrings run as doctests.
* The notebooks import no private module or name (they must show the public API).
"""

from __future__ import annotations

import ast
import doctest
import importlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
#: Guide pages (and the README) whose python examples must run.
EXAMPLE_PAGES = [REPO / "README.md", *sorted(p for p in DOCS.glob("*.md"))]
#: Marker that excludes the following block from the run; group 1 is the reason.
SKIP_MARKER = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->")
#: A fenced python block: the fence line, the code, the closing fence.
FENCE = re.compile(r"^```python[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.S | re.M)
#: Modules whose docstring Examples must run (every module with an API page whose public
#: functions and classes have Examples: issue 20 item 2).
DOCTEST_MODULES = ["xrdkit.data", "xrdkit.readers", "xrdkit.simulate", "xrdkit.structures",
                   "xrdkit.phases", "xrdkit.instrument", "xrdkit.instrument_files",
                   "xrdkit.calibrate", "xrdkit.qpa", "xrdkit.results", "xrdkit.export",
                   "xrdkit.refine", "xrdkit.identify", "xrdkit.session", "xrdkit.batch", "xrdkit.schema",
                   "xrdkit.scans", "xrdkit.errors", "xrdkit.vocabulary", "xrdkit.hdf5",
                   "xrdkit.amorphous", "xrdkit.coordinates", "xrdkit.ponkcs", "xrdkit.analysis",
                   "xrdkit.report",
                   "xrdkit.cell.predict", "xrdkit.cell.conductivity", "xrdkit.cell.electrode",
                   "xrdkit.cell.fullcell", "xrdkit.cell.rate", "xrdkit.cell.constants",
                   "xrdkit.cell.ocv", "xrdkit.cell.fade", "xrdkit.cell.separator",
                   "xrdkit.cell.porous", "xrdkit.cell.uncertainty", "xrdkit.cell.calibration",
                   "xrdkit.cell.plot", "xrdkit.cell.pybamm_backend",
                   "irkit.spectra", "irkit.fit", "irkit.assess", "irkit.batch", "irkit.synthetic",
                   "irkit.ratio", "irkit.baseline", "irkit.templates", "irkit.bands", "irkit.vocabulary"]
#: Time allowed for one build of the site (it takes ~5–10 s on the CI-class machine).
BUILD_TIMEOUT_S = 300


def python_blocks(path: Path) -> list[tuple[int, str, str | None]]:
    """``(line number, code, skip reason or None)`` of every fenced python block of ``path``."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip().splitlines()
        marker = SKIP_MARKER.fullmatch(before[-1].strip()) if before else None
        line = text.count("\n", 0, m.start()) + 1
        blocks.append((line, m.group("code"), marker.group("reason").strip() if marker else None))
    return blocks


def run_block(code: str, namespace: dict, name: str) -> None:
    """Run one block in ``namespace``: as a doctest when written as a ``>>>`` session."""
    if code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(code, namespace, name, name, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, clear_globs=False)
        assert runner.failures == 0, f"{name}: {runner.failures} doctest failure(s)"
    else:
        exec(compile(code, name, "exec"), namespace)  # noqa: S102 - the documentation's own code


# --------------------------------------------------------------------------- fast checks


def test_block_parser_finds_blocks_and_skip_markers(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("text\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip (no data) -->\n"
                    "```python\nread('mine.xy')\n```\n\n```bash\nls\n```\n", encoding="utf-8")
    blocks = python_blocks(page)
    assert [(c, r) for _, c, r in blocks] == [("x = 1\n", None), ("read('mine.xy')\n", "no data")]
    ns: dict = {}
    run_block(blocks[0][1], ns, "p.md")
    assert ns["x"] == 1
    with pytest.raises(AssertionError, match="doctest failure"):
        run_block(">>> 1 + 1\n3\n", {}, "bad")


def test_every_guide_page_has_runnable_examples():
    """Each guide page that shows Python shows some that runs (skips are the exception)."""
    for page in EXAMPLE_PAGES:
        blocks = python_blocks(page)
        if blocks:
            assert any(reason is None for _, _, reason in blocks), f"{page.name}: every example skipped"


def test_readme_links_resolve():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)", readme) + re.findall(r"`(docs/[\w./-]+\.md)`", readme)
    assert {"docs/instruments.md", "docs/recipes.md", "docs/cell.md"} <= set(targets)
    for target in targets:
        if "://" not in target:
            assert (REPO / target).exists(), target


def test_mkdocs_nav_lists_every_page():
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)

    def pages(nav):
        for entry in nav:
            for value in entry.values() if isinstance(entry, dict) else [entry]:
                yield from pages(value) if isinstance(value, list) else [value]

    listed = set(pages(config["nav"]))
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert listed == on_disk
    for module in DOCTEST_MODULES + ["xrdkit.identify", "xrdkit.refine", "xrdkit.qpa",
                                     "xrdkit.amorphous", "xrdkit.batch", "xrdkit.cell"]:
        page = "xrdkit.cell" if module.startswith("xrdkit.cell.") else module  # one page
        assert f"api/{page}.md" in listed, module


def test_hooks_rewrite_repository_links_and_sphinx_roles(tmp_path):
    sys.path.insert(0, str(DOCS))
    try:
        hooks = importlib.import_module("hooks")
    finally:
        sys.path.remove(str(DOCS))
    html = ("<p>:func:<code>~xrdkit.refine.refine</code> and :class:<code>PhaseVerdict</code>, "
            "not <code>plain</code></p>")
    out = hooks.on_page_content(html, None, None, None)
    assert out == "<p><code>refine</code> and <code>PhaseVerdict</code>, not <code>plain</code></p>"
    docs = (REPO / "docs").resolve()
    schema = "../reference_data/instruments/instrument.schema.json"
    assert hooks._outside_target("instruments.md", schema, docs, REPO) == (REPO / schema[3:]).resolve()
    assert hooks._outside_target("instruments.md", "cell.md", docs, REPO) is None  # inside docs/
    assert hooks._outside_target("instruments.md", "../no/such.json", docs, REPO) is None
    assert hooks._outside_target("index.md", "https://example.org/x", docs, REPO) is None


def _private_imports(source: str) -> list[str]:
    tree = ast.parse("\n".join(line for line in source.splitlines()
                               if not line.lstrip().startswith(("%", "!"))))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            parts = (node.module or "").split(".") + [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            parts = [p for a in node.names for p in a.name.split(".")]
        else:
            continue
        found += [p for p in parts if p.startswith("_") and not p.startswith("__")]
    return found


def test_private_import_check_can_fail():
    assert _private_imports("from xrdkit._paths import reference_data_dir") == ["_paths"]
    assert _private_imports("from xrdkit.hdf5 import _helper\nimport xrdkit._jit") == ["_helper", "_jit"]
    assert _private_imports("%matplotlib inline\nfrom xrdkit.data import example_file") == []


@pytest.mark.parametrize("path", sorted((REPO / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_use_only_public_api(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    bad = [name for c in nb.cells if c.cell_type == "code" for name in _private_imports(c.source)]
    assert not bad, f"{path.name} imports private names: {bad}"


# --------------------------------------------------------------------------- slow checks


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    """``mkdocs build --strict`` succeeds without a single warning, and the pages are there."""
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=REPO, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, env=env)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "WARNING" not in log, log
    for page in ("index", "instruments", "cifs", "recipes", "verdicts", "batch", "ir", "cell"):
        assert (site / page / "index.html").is_file() if page != "index" else (site / "index.html").is_file()
    readers = (site / "api" / "xrdkit.readers" / "index.html").read_text(encoding="utf-8")
    assert 'id="xrdkit.readers.read_scan"' in readers
    identify = (site / "api" / "xrdkit.identify" / "index.html").read_text(encoding="utf-8")
    assert 'id="xrdkit.identify.identify"' in identify and ":func:<code>" not in identify
    assert (site / "_repo" / "reference_data" / "instruments" / "instrument.schema.json").is_file()
    instruments = (site / "instruments" / "index.html").read_text(encoding="utf-8")
    assert "../_repo/reference_data/instruments/instrument.schema.json" in instruments


@pytest.mark.slow
@pytest.mark.parametrize("page", EXAMPLE_PAGES, ids=lambda p: p.name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    """The page's python examples run top to bottom, as a reader would paste them."""
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no python example")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOSOKIT_USER_PHASES", str(tmp_path / "user_phases"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace: dict = {"__name__": "__docs__"}
    ran = 0
    for line, code, reason in blocks:
        if reason is not None:
            continue
        name = f"{page.relative_to(REPO)}:{line}"
        try:
            run_block(textwrap.dedent(code), namespace, name)
        except Exception as exc:
            raise AssertionError(f"example at {name} failed: {type(exc).__name__}: {exc}") from exc
        ran += 1
    assert ran


@pytest.mark.slow
@pytest.mark.parametrize("module", DOCTEST_MODULES)
def test_docstring_examples_run(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # what the examples write (reflection-list cache, user phases) stays in the test's folder
    monkeypatch.setenv("XRDKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CLOSOKIT_USER_PHASES", str(tmp_path / "user_phases"))
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0, f"{module} has no runnable example"
