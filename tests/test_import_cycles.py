"""No import loops between the parts of the code: each package (and each module of the API
service) may use another only if that one does not use it back, so every part can be read,
tested and moved after the parts below it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _part(module: str) -> str:
    """The unit checked: `services.api.<module or package>`, `services.<package>`, or
    `shared.<module>`."""
    depth = 3 if module.startswith("services.api.") else 2
    return ".".join(module.split(".")[:depth])


def _imports(path: Path) -> set[str]:
    """Modules imported at module level (function-level imports are deliberate late binds)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.startswith(("services.", "shared."))}


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")]:
        part = _part(_module(path))
        uses = graph.setdefault(part, set())
        uses |= {_part(n) for n in _imports(path)} - {part}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every loop, as one path through it (depth-first search, loops found once each)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for used in sorted(graph.get(node, ())):
            if used in path:
                loop = path[path.index(used) :]
                if not any(set(loop) == set(f) for f in found):
                    found.append(loop)
            elif used not in done:
                visit(used, [*path, used])
        done.add(node)

    for node in sorted(graph):
        if node not in done:
            visit(node, [node])
    return found


def test_the_check_sees_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_loops_between_packages() -> None:
    graph = part_graph()
    assert {"services.api.auth", "services.api.webhooks", "shared.settings"} <= set(graph)
    assert cycles(graph) == []
