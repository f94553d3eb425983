"""Every file the documentation names exists: the ``*.py`` files and the repository paths of
``docs/*.md`` and ``README.md``, and each module of the README's layout drawing where the
drawing puts it.

A name is checked as precisely as it is written:

- a Markdown link target (``[x](../web/messages.py)``) from the page's own folder;
- a path with a folder (``conference/media/h264.py``) from the repository's root, or, written
  short inside a paragraph that has already said where (``media/codecs.py``,
  ``rooms/speaker.py``), as the end of a path in the repository;
- a bare file name (``sfu.py``) as the name of some module of the repository;
- in the README's drawing (the code block under "How it is built"), each name in the folder
  the drawing shows it in: ``recorder/ ... writer.py`` must be ``recorder/writer.py``.

Paths under folders that git ignores (benchmark results, caches) are not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_FOLDERS = ("conference", "web", "recorder", "anpr_feed", "server", "tests", "bench", "docs")
IGNORED = ("bench/results/", "bench/.cache/")  # git-ignored: made by runs, not in the repository
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}

# A Python file name, with the folders written before it: `web/routes.py`, `sfu.py`, `../x.py`.
PY_NAME = re.compile(r"(?<![\w./*-])((?:\.\./|[\w.-]+/)*[\w*-]+\.py)(?![\w/])")
# A Markdown link target: [text](target).
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
# A path in backquotes under one of the repository's top folders: `tests/store_contracts/`.
REPO_PATH = re.compile(rf"`((?:{'|'.join(TOP_FOLDERS)})/[^`\s]*)`")


@dataclass(frozen=True)
class Mention:
    """One file name written in a document, and where."""

    doc: str  # from the repository's root
    line: int
    name: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: {self.name}"


def documents(root: Path = ROOT) -> list[Path]:
    """The documents checked: ``docs/*.md`` and ``README.md``."""
    return [*sorted((root / "docs").glob("*.md")), root / "README.md"]


def repository_files(root: Path = ROOT) -> list[str]:
    """Every file of the repository as a path from its root (``conference/sfu.py``)."""
    found = []
    stack = [root]
    while stack:
        folder = stack.pop()
        for entry in folder.iterdir():
            if entry.is_dir():
                if entry.name not in SKIPPED_DIRS:
                    stack.append(entry)
            else:
                found.append(entry.relative_to(root).as_posix())
    return sorted(found)


def _exists(root: Path, pattern: str) -> bool:
    """A path (or a glob like ``tests/test_security_*.py``, or a folder ``x/``) exists."""
    pattern = pattern.rstrip("/")
    if "*" in pattern or "?" in pattern:
        return any(root.glob(pattern))
    return (root / pattern).exists()


def _names_something(root: Path, mention: str) -> bool:
    """A path exists; a pytest node id (``tests/test_x.py::test_y``) names a test of its file."""
    path, _, test = mention.partition("::")
    if not _exists(root, path):
        return False
    if not test:
        return True
    name = test.split("[", 1)[0].split("::")[-1]
    return (
        re.search(
            rf"^\s*(?:async\s+)?def {re.escape(name)}\(",
            (root / path).read_text(encoding="utf-8"),
            re.M,
        )
        is not None
    )


def missing_mentions(root: Path = ROOT) -> list[str]:
    """Every name in the prose of the documents that names no file of the repository."""
    files = repository_files(root)
    basenames = {f.rsplit("/", 1)[-1] for f in files}
    problems = []
    for doc in documents(root):
        where = doc.relative_to(root).as_posix()
        for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            links = set()
            for target in LINK.findall(line):
                if "://" in target or target.startswith("mailto:"):
                    continue
                links.add(target)
                if not (doc.parent / target).resolve().exists():
                    problems.append(f"{Mention(where, number, target)} (link)")
            paths = set(REPO_PATH.findall(line))
            for path in sorted(paths):
                if not path.startswith(IGNORED) and not _names_something(root, path):
                    problems.append(str(Mention(where, number, path)))
            for name in PY_NAME.findall(line):
                if name in links or name in paths or name.startswith(IGNORED):
                    continue
                if name.startswith("../"):
                    found = (doc.parent / name).resolve().exists()
                elif "/" in name:
                    found = _exists(root, name) or any(f.endswith("/" + name) for f in files)
                elif "*" in name:
                    found = any(Path(b).match(name) for b in basenames)
                else:
                    found = name in basenames
                if not found:
                    problems.append(str(Mention(where, number, name)))
    return problems


def drawing_lines(readme: Path) -> list[tuple[int, str]]:
    """The lines of the README's layout drawing (the code block under "How it is built")."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    start = lines.index("## How it is built")
    opening = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i].startswith("```"))
    return [(i + 1, lines[i]) for i in range(opening + 1, closing)]


def missing_in_drawing(root: Path = ROOT) -> list[str]:
    """Each ``*.py`` of the README's drawing that is not in the folder the drawing puts it in.

    A name at the start of a line opens a folder (``conference/``) or, indented by two, a
    subfolder (``  media/``) or a module of the folder (``  peer.py``); the lines indented
    further continue the description of the line above and keep its folder.
    """
    readme = root / "README.md"
    problems = []
    top = sub = ""
    for number, line in drawing_lines(readme):
        head = re.match(r"( *)(\S+)", line)
        if head is None:
            continue
        indent, first = len(head.group(1)), head.group(2)
        if indent == 0:
            top, sub = (first if first.endswith("/") else ""), ""
        elif indent == 2:
            sub = first if first.endswith("/") else ""
        for name in PY_NAME.findall(line):
            if not (root / top / sub / name).is_file():
                problems.append(f"{Mention('README.md', number, name)} (drawn in {top}{sub or ''})")
    return problems


def test_every_file_the_documents_name_exists() -> None:
    assert missing_mentions() == []


def test_every_module_of_the_readme_drawing_is_where_it_is_drawn() -> None:
    assert missing_in_drawing() == []


def test_the_checks_find_a_missing_file(tmp_path: Path) -> None:
    """The checker itself: a planted document naming files that do not exist is refused."""
    for name in ("conference/sfu.py", "conference/media/codecs.py", "web/app.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "`conference/sfu.py`, `media/codecs.py`, sfu.py and [app](../web/app.py) exist;\n"
        "`conference/gone.py`, `media/gone.py`, gone.py, [x](../web/gone.py) and\n"
        "`tests/gone/` do not; `bench/results/run.json` is ignored.\n"
    )
    (tmp_path / "README.md").write_text(
        "# x\n\n## How it is built\n\n```\n"
        "conference/    the service: sfu.py\n"
        "  media/       codecs.py, and app.py (not here)\n"
        "               sfu.py (not here either)\n"
        "  sfu.py       here\n"
        "web/           app.py\n"
        "```\n"
    )
    assert missing_mentions(tmp_path) == [
        "docs/a.md:2: ../web/gone.py (link)",
        "docs/a.md:2: conference/gone.py",
        "docs/a.md:2: media/gone.py",
        "docs/a.md:2: gone.py",
        "docs/a.md:3: tests/gone/",
    ]
    assert missing_in_drawing(tmp_path) == [
        "README.md:7: app.py (drawn in conference/media/)",
        "README.md:8: sfu.py (drawn in conference/media/)",
    ]


def test_a_pytest_node_id_names_a_test_of_its_file(tmp_path: Path) -> None:
    """``tests/test_x.py::test_y`` is found when the file defines the test, refused when not."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("def test_y() -> None:\n    pass\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text(
        "`tests/test_x.py::test_y` and `tests/test_x.py::test_y[case]` hold it;\n"
        "`tests/test_x.py::test_gone` does not.\n"
    )
    (tmp_path / "README.md").write_text("# x\n")
    assert missing_mentions(tmp_path) == ["docs/a.md:2: tests/test_x.py::test_gone"]
