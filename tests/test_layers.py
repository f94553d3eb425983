"""The import rules of the layout (docs/architecture.md), read from the source with ``ast``.

- ``conference/`` imports none of ``web``, ``recorder``, ``anpr_feed``, ``server``;
  the one exception is ``conference/__main__.py`` (``python -m conference``
  runs the command line, which lives in the composition root ``server/``).
- The media plane (``conference/sfu.py``, ``conference/slot.py``, ``conference/layer_policy.py``,
  ``conference/media/``) imports
  nothing from ``conference`` above it: only itself and the two generic
  helpers every layer uses (``conference.tasks``, ``conference.ratelog``),
  which themselves import nothing from the product.
- ``recorder/`` and ``anpr_feed/`` import neither ``web`` nor ``server``;
  ``web/`` does not import ``server``.
- No import cycle among the product's modules (imports at module level;
  imports inside functions and under ``TYPE_CHECKING`` do not run at import
  time and are left out of this one rule).
- Tests and benchmarks import no test module (``test_*``, ``conftest``): what
  they share lives in ``tests/support/``.

Every import counts for the layer rules, wherever it is written: a lazy import
upward is still a dependency upward.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("conference", "web", "recorder", "anpr_feed", "server")
MEDIA_PLANE_HELPERS = {"conference.tasks", "conference.ratelog"}
ALLOWED_UPWARD = {("conference.__main__", "server.cli")}


@dataclass(frozen=True)
class Import:
    """One import of a product module by another."""

    importer: str
    imported: str
    line: int
    module_level: bool  # runs when the importer is imported (not in a function, not TYPE_CHECKING)


def product_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the product by dotted name (packages by their ``__init__``)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The product module ``name`` is or lies in (``pkg.mod.Class`` -> ``pkg.mod``)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The product modules ``name`` imports, each with where and how."""
    found: list[Import] = []
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]

    def add(target: str, node: ast.Import | ast.ImportFrom, module_level: bool) -> None:
        resolved = _resolve(target, modules)
        if resolved is not None and resolved != name:
            found.append(Import(name, resolved, node.lineno, module_level))

    def visit(nodes: Iterable[ast.AST], module_level: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, node, module_level)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package[: len(package) - (node.level - 1)]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                for alias in node.names:
                    # ``from pkg import module`` imports the module, ``from mod import name`` mod.
                    submodule = f"{source}.{alias.name}"
                    add(submodule if submodule in modules else source, node, module_level)
            elif isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.body, False)
                visit(node.orelse, module_level)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(node.body, False)
            else:
                # Bodies of classes, try/except, with, loops, if, match: still at module level.
                visit(
                    (n for n in ast.iter_child_nodes(node) if not isinstance(n, ast.expr)),
                    module_level,
                )

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)).body, True)
    return found


def all_imports(root: Path = ROOT) -> list[Import]:
    """Every import between product modules."""
    modules = product_modules(root)
    return [i for name, path in modules.items() for i in imports_of(name, path, modules)]


def _top(module: str) -> str:
    return module.split(".")[0]


def _in_media_plane(module: str) -> bool:
    return module in (
        "conference.sfu",
        "conference.slot",
        "conference.layer_policy",
    ) or module.startswith("conference.media")


def layer_violations(imports: list[Import]) -> list[str]:
    """Each import that runs against the layers, as ``importer:line -> imported (rule)``."""
    refused = {
        "conference": {"web", "recorder", "anpr_feed", "server"},
        "recorder": {"web", "server"},
        "anpr_feed": {"web", "server"},
        "web": {"server"},
    }
    problems = []
    for i in imports:
        where = f"{i.importer}:{i.line} -> {i.imported}"
        if (i.importer, i.imported) in ALLOWED_UPWARD:
            continue
        if _top(i.imported) in refused.get(_top(i.importer), set()):
            problems.append(f"{where} (imports upward)")
        if (
            _in_media_plane(i.importer)
            and _top(i.imported) == "conference"
            and not _in_media_plane(i.imported)
            and i.imported not in MEDIA_PLANE_HELPERS
        ):
            problems.append(f"{where} (the media plane imports nothing above media/)")
        if i.importer in MEDIA_PLANE_HELPERS:
            problems.append(f"{where} (a media-plane helper must import nothing of the product)")
    return problems


def import_cycles(imports: list[Import]) -> list[list[str]]:
    """The import cycles at module level: each strongly connected set of two or more modules."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        graph.setdefault(i.importer, set())
        graph.setdefault(i.imported, set())
        if i.module_level:
            graph[i.importer].add(i.imported)
    # Tarjan's algorithm, iterative (no recursion limit on a deep graph).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports()


def test_every_product_package_is_read(imports: list[Import]) -> None:
    modules = product_modules()
    for package in PACKAGES:
        assert package in modules, f"{package}/__init__.py is missing"
    importers = {i.importer for i in imports}
    # Sanity: the parser sees the imports that wire the layers together.
    assert "conference.service" in importers and "server.compose" in importers
    assert any(i.importer == "server.compose" and i.imported == "web.app" for i in imports)


def test_no_import_runs_upward(imports: list[Import]) -> None:
    assert layer_violations(imports) == []


def test_the_one_upward_import_is_python_dash_m_conference(imports: list[Import]) -> None:
    upward = [
        (i.importer, i.imported)
        for i in imports
        if _top(i.importer) == "conference" and _top(i.imported) == "server"
    ]
    assert upward == [("conference.__main__", "server.cli")]


def test_no_import_cycles(imports: list[Import]) -> None:
    assert import_cycles(imports) == []


def test_the_rules_catch_violations(tmp_path: Path) -> None:
    """The checker itself: a planted upward import, media import and cycle are all found."""
    files = {
        "conference/__init__.py": "",
        "conference/__main__.py": "from server.cli import main\n",
        "conference/service.py": "from recorder.control import X\n",
        "conference/sfu.py": "from conference.tasks import spawn\n",
        "conference/tasks.py": "",
        "conference/ratelog.py": "",
        "conference/rooms/__init__.py": "",
        "conference/rooms/room.py": "from . import events\n",
        "conference/rooms/events.py": "from conference.rooms.room import Room\n",
        "conference/media/__init__.py": "",
        "conference/media/glue.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from conference.rooms import room\n"
            "def f():\n    from conference.store import x\n"
        ),
        "conference/store.py": "",
        "web/__init__.py": "",
        "web/app.py": "import server.compose\n",
        "recorder/__init__.py": "",
        "recorder/control.py": "from conference.service import Conference\n",
        "anpr_feed/__init__.py": "",
        "anpr_feed/in_meetings.py": "def f():\n    from web import app\n",
        "server/__init__.py": "",
        "server/cli.py": "",
        "server/compose.py": "from web.app import create_app\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    planted = all_imports(tmp_path)
    problems = layer_violations(planted)
    assert any(p.startswith("conference.service:1 -> recorder.control") for p in problems)
    assert any(p.startswith("conference.media.glue:3 -> conference.rooms.room") for p in problems)
    assert any(p.startswith("conference.media.glue:5 -> conference.store") for p in problems)
    assert any(p.startswith("web.app:1 -> server.compose") for p in problems)
    assert any(p.startswith("anpr_feed.in_meetings:2 -> web.app") for p in problems)
    assert not any(p.startswith(("conference.__main__", "conference.sfu")) for p in problems)
    assert len(problems) == 5, problems
    # room <-> events (a relative import), service <-> control, web.app <-> server.compose;
    # the TYPE_CHECKING and the in-function imports make none.
    assert sorted(import_cycles(planted)) == [
        ["conference.rooms.events", "conference.rooms.room"],
        ["conference.service", "recorder.control"],
        ["server.compose", "web.app"],
    ]


def imports_of_test_modules(root: Path = ROOT) -> list[str]:
    """``path:line -> module`` for every import of a test module (``test_*``, ``conftest``)
    written in ``tests/`` or ``bench/``, in a function or not."""
    found: list[tuple[Path, int, str]] = []
    for folder in ("tests", "bench"):
        for path in sorted((root / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                for name in names:
                    if name.startswith("tests.") and name.rsplit(".", 1)[-1].startswith(
                        ("test_", "conftest")
                    ):
                        found.append((path.relative_to(root), node.lineno, name))
    return [f"{path}:{line} -> {name}" for path, line, name in sorted(found)]


def test_no_test_imports_another_test_module(tmp_path: Path) -> None:
    assert imports_of_test_modules() == []
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text(
        "from tests.support.console import Console\n"
        "def f():\n    from tests.test_console import Console\n"
        "from tests import conftest\n"
    )
    assert imports_of_test_modules(tmp_path) == [
        "tests/test_a.py:3 -> tests.test_console",
        "tests/test_a.py:4 -> tests.conftest",
    ]
