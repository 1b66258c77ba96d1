"""Every link in the README and the notebooks' markdown must point at something that exists: relative
links at a file in the repository, Colab / Binder / GitHub / nbviewer links to this course at a file on
its main branch. Links to other sites are not fetched (the gate runs offline).

Used by ``scripts/check_notebooks.py``; ``python scripts/check_links.py`` checks on its own.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SLUG = "step-by-step-torch/course"
BRANCH = "main"
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|(?:href|src)=[\"']([^\"']+)[\"']")
PATTERNS = {  # host -> (branch, path) of a link to this course's repository
    "colab.research.google.com": rf"/github/{SLUG}/blob/([^/]+)/(.+)",
    "github.com": rf"/{SLUG}(?:\.git)?(?:/(?:blob|tree|raw)/([^/]+)(?:/(.*))?)?/?",
    "raw.githubusercontent.com": rf"/{SLUG}/([^/]+)/(.+)",
    "nbviewer.org": rf"/github/{SLUG}/blob/([^/]+)/(.+)",
    "mybinder.org": rf"/v2/gh/{SLUG}/([^/?]+)",
}


def links(text: str) -> list[str]:
    return [a or b for a, b in LINK.findall(text)]


def _binder_target(query: str) -> str:
    params = parse_qs(query)
    target = next((re.sub(r"^(lab/tree|tree|notebooks|lab/workspaces/[^/]+/tree)/", "", params[k][0])
                   for k in ("urlpath", "labpath", "filepath") if k in params), "binder")
    return "binder" if target in ("lab", "tree", "") else target


def repo_target(url: str, base: Path) -> tuple[str | None, str]:
    """(repo path a link must resolve to, or None for an external link; a problem, or '')."""
    parts = urlsplit(url)
    if parts.scheme in ("mailto", "data") or url.startswith("#"):
        return None, ""
    if not parts.scheme and not parts.netloc:  # relative link
        target = (base / unquote(parts.path)).resolve()
        try:
            return target.relative_to(ROOT).as_posix() or ".", ""
        except ValueError:
            return None, f"{url} points outside the repository"
    host, path = parts.netloc.lower().removeprefix("www."), unquote(parts.path)
    if host not in PATTERNS:
        return None, ""
    m = re.fullmatch(PATTERNS[host], path, re.I)
    if m is None:
        if SLUG.lower() in path.lower():
            return None, f"{url}: not a link form this check knows for {SLUG}"
        return None, ""  # another repository, e.g. a model to learn from
    branch, target = m.group(1), (m.group(2) if m.lastindex and m.lastindex >= 2 else None)
    if host == "mybinder.org":
        target = _binder_target(parts.query)
    if branch and branch != BRANCH:
        return None, f"{url} points at branch {branch!r}, not {BRANCH!r}"
    return (target or ".").rstrip("/"), ""


def bad_links(text: str, base: Path) -> list[tuple[str, str | None]]:
    """(problem, the missing repo path if that is the problem) for every bad link in ``text``."""
    problems = []
    for url in links(text):
        target, problem = repo_target(url, base)
        if problem:
            problems.append((problem, None))
        elif target is not None and not (ROOT / target).exists():
            problems.append((f"{url} → {target}, which does not exist in the repository", target))
    return problems


def link_problems(text: str, base: Path) -> list[str]:
    return [problem for problem, _ in bad_links(text, base)]


def notebook_markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def main() -> int:
    import nbformat

    docs = [(ROOT / "README.md", (ROOT / "README.md").read_text(encoding="utf-8"))]
    docs += [(p, notebook_markdown(nbformat.read(p, as_version=4)))
             for p in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))]
    failed = False
    for path, text in docs:
        for problem in link_problems(text, path.parent):
            print(f"{path.relative_to(ROOT)}: {problem}")
            failed = True
    print("links: problems found" if failed else "links: ok")
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
