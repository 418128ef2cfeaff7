"""The package tree mirrors the flow: no import cycles, one docstring per module, and docs/development.md's
layout table names exactly the modules that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "monitor"


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def import_graph() -> dict[str, set[str]]:
    """module → the project modules it imports, at any depth of the code (function-level imports too)."""
    modules = module_names()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # `from monitor.x import y` imports module x.y when y is one, else a name of module x
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                           for a in node.names]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_daemon_depends_on_no_command_line_module():
    # the daemon's exit codes come from monitor.errors, which the CLI shares: `run` wraps the daemon, not the reverse
    graph = import_graph()
    assert not [t for t in graph["monitor.scheduler"] if t.startswith("monitor.cli")]


def test_every_module_says_its_one_job_in_a_docstring():
    missing = [name for name, path in module_names().items()
               if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert missing == []


def test_no_two_modules_share_a_name():
    leaves = [name.rsplit(".", 1)[-1] for name in module_names() if not module_names()[name].name == "__init__.py"]
    assert sorted({n for n in leaves if leaves.count(n) > 1}) == []


def test_the_documented_layout_table_matches_the_tree():
    doc = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    section = doc.split("## Layout", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(monitor/[\w/]+\.py)`", section))
    actual = {str(path.relative_to(ROOT)) for path in module_names().values() if path.name != "__init__.py"}
    assert listed == actual, {"not in the README": sorted(actual - listed), "not in the tree": sorted(listed - actual)}
