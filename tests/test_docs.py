"""The documentation: runnable examples of the main public functions, and citations that stay
inside the repository (docs/design.md#conventions).

The site itself is built by ``make docs`` (MkDocs, strict: a broken link or anchor inside
``docs/`` is an error there).
"""

import doctest
import importlib
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: modules whose docstring examples run here (the main public functions)
DOCTEST_MODULES = (
    "nubound.physics.form_factors",
    "nubound.physics.cross_sections.kinematics",
    "nubound.physics.cross_sections.cevns",
    "nubound.physics.cross_sections.nu_e",
    "nubound.physics.statistics.poisson",
    "nubound.physics.atomic_binding",
    "nubound.scanner.plan",
    "nubound.scanner.reference",
    "nubound.storage.limits",
    "nubound.storage.contours",
    "nubound.jobs.validation_report",
)


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


# Citations of files that are not in the repository: the starting briefs (physics.md,
# DESIGN.md, STYLE.md outside docs/), the shared folder's READMEs and notes, issue numbers.
# ``../shared/data`` alone is the default data directory of this machine (Makefile, .ci/run),
# a path, not a citation.
FORBIDDEN = re.compile(
    r"(?<!docs/)(?<![\w/])physics\.md(?!#)"
    r"|DESIGN\.md|STYLE\.md"
    r"|\b[Ii]ssues? #?[0-9]+"
    r"|shared/(?!data\b(?!/))"
    r"|(?<!docs/)\bdata/[\w-]+/README"
)
CITATION = re.compile(r"docs/([\w/]+\.md)(?:#([\w-]+))?")
TEXT_SUFFIXES = {".py", ".toml", ".sh", ".yaml", ".yml", ".md", ".cfg", ".sbatch", ".txt"}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    files = [ROOT / f for f in out]
    return [f for f in files if f.is_file() and (f.suffix in TEXT_SUFFIXES or f.name in (
        "Makefile", "run")) and f != Path(__file__).resolve()]


def test_no_citation_points_outside_the_repository():
    hits = []
    for path in tracked_files():
        if path.is_relative_to(DOCS):
            continue  # pages link each other relatively; mkdocs --strict checks those links
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "citations outside the repository:\n" + "\n".join(hits)


def slug(text: str) -> str:
    """Python-Markdown's toc anchor of a heading (its default ``slugify``)."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    """Anchors of a docs page: explicit ``{#id}`` attributes, else the heading's slug."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        m = re.match(r"#+\s+(.*?)\s*(\{#([\w-]+)\})?\s*$", line)
        if m:
            out.add(m.group(3) or slug(m.group(1)))
    return out


def test_slug_matches_markdown():
    assert slug("Published values") == "published-values"
    assert slug("Run times") == "run-times"


def test_every_docs_citation_resolves():
    missing = []
    for path in tracked_files():
        if path.is_relative_to(DOCS):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for page, anchor in CITATION.findall(line):
                target = DOCS / page
                if not target.is_file():
                    missing.append(f"{path.relative_to(ROOT)}:{n}: no page docs/{page}")
                elif anchor and anchor not in anchors(target):
                    missing.append(f"{path.relative_to(ROOT)}:{n}: no #{anchor} in docs/{page}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("line", [
    "see physics.md §4", "(DESIGN.md, Contracts)", "Target (issue 9): fast",
    "from ../shared/physics.md", "shared/data/dresden-ii/README.md",
    "(``data/dresden-ii/README.md``)", "(issues 9 and 10)",
])
def test_forbidden_pattern_catches_outside_citations(line):
    assert FORBIDDEN.search(line)


@pytest.mark.parametrize("line", [
    "see docs/physics.md#cevns", "NUBOUND_DATA_DIR=../shared/data", "pydata/xarray#8371",
    "[link](physics.md#contact-limit)",
])
def test_forbidden_pattern_allows_repository_citations(line):
    assert not FORBIDDEN.search(line)
