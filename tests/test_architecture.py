"""The aggregator's shape, enforced: sub-contexts that import one way, and controllers that only delegate.

Read from the source with ``ast`` (nothing is imported), so a violation names the file and the line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
AGGREGATOR = SRC / "ogp_federation" / "aggregator"
PREFIX = "ogp_federation.aggregator"
# What each sub-context may use (docs/architecture.md draws the same picture). The composition root
# (app, runtime, setup, asgi, migrations) sits above them all and may use any.
ALLOWED = {
    "common": set(),
    "net": {"common"},
    "registry": {"common", "net"},
    "history": {"common", "registry"},
    "harvest": {"common", "net", "registry", "history"},
    "review": {"common", "registry", "history"},
    "status": {"common", "net", "registry", "harvest"},
    "benchmarks": {"common", "registry", "history"},
    "quality": {"common", "registry", "history"},
    "library": {"common", "registry", "history"},
    "research": {"common", "registry", "history", "benchmarks", "quality"},
    "web": {"common", "registry", "history", "benchmarks", "quality", "library", "status", "research"},
}
ROOT_MODULES = {"app", "runtime", "setup", "asgi", "migrations"}
# Through these a sub-context shows itself to the others (``common`` is the foundation: all of it is public).
PUBLIC_SUBMODULES = {"schemas"}


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name imported from
    file: Path
    line: int

    def where(self) -> str:
        return f"{self.file.relative_to(SRC)}:{self.line} imports {self.module}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, path, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append(Import(module, path, node.lineno))
            # ``from . import controllers``: the names may be modules themselves
            found += [Import(f"{module}.{alias.name}", path, node.lineno) for alias in node.names]
    return found


def _context(module: str) -> str | None:
    """The sub-context a module of the aggregator belongs to (None: the composition root, or outside)."""
    if not module.startswith(PREFIX + "."):
        return None
    first = module[len(PREFIX) + 1 :].split(".", maxsplit=1)[0]
    return first if first in ALLOWED else None


def _context_files() -> list[tuple[str, Path]]:
    return [
        (name, path)
        for name in ALLOWED
        for path in sorted((AGGREGATOR / name).rglob("*.py"))
        if (AGGREGATOR / name / "__init__.py").exists()
    ]


def test_every_sub_context_is_declared() -> None:
    packages = {p.parent.name for p in AGGREGATOR.glob("*/__init__.py")} - ROOT_MODULES
    assert packages == set(ALLOWED), "a new sub-context needs its place in ALLOWED and in docs/architecture.md"


def test_sub_contexts_import_one_way_and_only_each_others_public_surface() -> None:
    problems = []
    for context, path in _context_files():
        for imported in _imports(path):
            module = imported.module
            if module == PREFIX or (module.startswith(PREFIX + ".") and _context(module) is None):
                if module.split(".")[2] in ROOT_MODULES or module == PREFIX:
                    problems.append(f"{imported.where()}: a sub-context never imports the level above it")
                continue
            other = _context(module)
            if other is None or other == context:
                continue
            if other not in ALLOWED[context]:
                problems.append(f"{imported.where()}: {context} may not use {other}")
            rest = module[len(f"{PREFIX}.{other}") :].lstrip(".").split(".")[0]
            if other != "common" and rest and rest not in PUBLIC_SUBMODULES and not _is_name(other, rest):
                problems.append(f"{imported.where()}: use {PREFIX}.{other} (its public surface), not its internals")
    assert problems == []


def _is_name(context: str, name: str) -> bool:
    """Whether ``name`` (from ``from pkg import name``) is a name the package exports, not a submodule."""
    return not (AGGREGATOR / context / f"{name}.py").exists() and not (AGGREGATOR / context / name).is_dir()


def test_the_allowed_graph_has_no_cycle() -> None:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> None:
        assert node not in visiting, f"cycle through {node}"
        if node in done:
            return
        visiting.add(node)
        for dependency in ALLOWED[node]:
            visit(dependency)
        visiting.discard(node)
        done.add(node)

    for node in ALLOWED:
        visit(node)


def _service_classes() -> set[str]:
    names = set()
    for path in AGGREGATOR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {node.name for node in tree.body if isinstance(node, ast.ClassDef) and node.name.endswith("Service")}
    return names


CONTROLLERS = sorted(AGGREGATOR.rglob("controllers.py"))


@pytest.mark.parametrize("path", CONTROLLERS, ids=lambda p: p.parent.name)
def test_controllers_run_no_sql_and_build_no_service(path: Path) -> None:
    imported = {i.module for i in _imports(path)}
    assert not {m for m in imported if m == "sqlalchemy" or m.startswith("sqlalchemy.")}, "SQL belongs in a service"
    assert not imported & {"ogp_federation.core.db", f"{PREFIX}.runtime"}, "controllers are handed their services"
    services = _service_classes()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    built = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in services
    ]
    assert built == [], f"{path.name} builds a service at lines {built}: take it as a dependency"


def test_every_context_that_serves_http_has_the_same_shape() -> None:
    for context in ALLOWED:
        folder = AGGREGATOR / context
        if (folder / "controllers.py").exists():
            assert (folder / "service.py").exists(), f"{context} answers HTTP without service.py"
            assert (folder / "schemas.py").exists(), f"{context} answers HTTP without schemas.py"
