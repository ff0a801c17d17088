"""MkDocs hooks for closokit's documentation (``hooks:`` in ``mkdocs.yml``; not a page).

1. **Repository files linked from a page.** The guide pages are also read on their own (the
   README links ``docs/instruments.md``), so they link repository files by their relative path,
   e.g. ``../reference_data/instruments/instrument.schema.json``. MkDocs only knows files inside
   ``docs/``; such a link would be a broken-link warning (an error with ``--strict``). Every
   linked file that exists in the repository is copied into the site under ``_repo/`` and the
   link is pointed there. A link to a repository file that does not exist stays as it is, and
   MkDocs reports it.
2. **Sphinx roles in docstrings.** The package docstrings use Sphinx cross-reference roles
   (``:func:`~xrdkit.refine.refine```), which Markdown renders as ``:func:`` followed by code.
   They are shown as the code alone (``~`` keeps the last component, as in Sphinx).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File, Files

#: Site folder that receives the repository files the pages link to.
REPO_PREFIX = "_repo"
#: A Markdown inline link target (no spaces), possibly with a #fragment.
_LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?P<fragment>#[^)\s]*)?\)")
#: A Sphinx role as Markdown renders it: ``:func:<code>target</code>``.
_ROLE_HTML = re.compile(
    r":(?:py:)?(?:func|class|meth|attr|mod|data|exc|obj|const|term|ref):<code>(?P<target>[^<]*)</code>")


def _repo_root(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def _outside_target(src_uri: str, target: str, docs_dir: Path, repo: Path) -> Path | None:
    """The repository file (outside ``docs/``) a relative link of page ``src_uri`` names."""
    if "://" in target or target.startswith(("/", "mailto:")):
        return None
    path = (docs_dir / posixpath.dirname(src_uri) / target).resolve()
    try:
        path.relative_to(docs_dir)
        return None  # inside docs/: MkDocs checks it
    except ValueError:
        pass
    try:
        path.relative_to(repo)
    except ValueError:
        return None
    return path if path.is_file() else None


def on_files(files: Files, config) -> Files:
    """Add every repository file a page links to under ``_repo/``."""
    docs_dir = Path(config["docs_dir"]).resolve()
    repo = _repo_root(config)
    wanted: dict[str, Path] = {}
    for f in files.documentation_pages():
        text = Path(f.abs_src_path).read_text(encoding="utf-8")
        for m in _LINK.finditer(text):
            path = _outside_target(f.src_uri, m.group("target"), docs_dir, repo)
            if path is not None:
                wanted[f"{REPO_PREFIX}/{path.relative_to(repo).as_posix()}"] = path
    for uri, path in sorted(wanted.items()):
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Point links to repository files at their copies under ``_repo/``."""
    docs_dir = Path(config["docs_dir"]).resolve()
    repo = _repo_root(config)
    src_uri = page.file.src_uri

    def repl(m: re.Match) -> str:
        path = _outside_target(src_uri, m.group("target"), docs_dir, repo)
        if path is None:
            return m.group(0)
        uri = f"{REPO_PREFIX}/{path.relative_to(repo).as_posix()}"
        rel = posixpath.relpath(uri, posixpath.dirname(src_uri) or ".")
        return f"]({rel}{m.group('fragment') or ''})"

    return _LINK.sub(repl, markdown)


def on_page_content(html: str, page, config, files) -> str:
    """Show Sphinx roles from docstrings as plain code."""

    def repl(m: re.Match) -> str:
        target = m.group("target")
        if target.startswith("~"):
            target = target[1:].rsplit(".", 1)[-1]
        return f"<code>{target}</code>"

    return _ROLE_HTML.sub(repl, html)
