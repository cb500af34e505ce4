"""Which package may import which (docs/architecture.md, "Dependencies"), read from the code with `ast`.

Every import of a platehub module counts, wherever it stands: at the top of a module, inside a function
(a lazy import only defers the dependency) or under `if TYPE_CHECKING:` (a type is a dependency too).
`from platehub.x import y` depends on the module `platehub.x.y` when there is one, else on `platehub.x`.
The parent packages Python runs first (`platehub/x/__init__.py`) are not counted: they are not what
the importer asked for, and each package's `__init__` is checked as a module of its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from helpers import REPO

SRC = REPO / "src"

# group → the groups its modules may import (besides their own). A module's group is its package under
# platehub/ (engine, core, ...), or the one named in MODULES for the modules at the top of platehub/.
ALLOWED: dict[str, set[str]] = {
    "platehub": set(),  # platehub/__init__.py: the version
    "config": set(),
    "engine": set(),
    "training": {"engine"},
    "core": {"config", "engine"},
    "video": {"engine", "core"},
    "protocols": {"platehub", "config", "engine", "core", "video"},
    "app": {"platehub", "config", "engine", "core", "protocols", "video"},
    "simulator": {"config", "engine", "protocols"},
    "bench": {"engine", "core", "simulator"},
    "cli": {"platehub", "config", "engine", "core", "protocols", "app", "simulator", "bench", "training", "video"},
}
MODULES = {"platehub": "platehub", "platehub.config": "config", "platehub.bench": "bench",
           "platehub.app": "app", "platehub.middleware": "app", "platehub.apidocs": "app",
           "platehub.accesslog": "app", "platehub.__main__": "cli", "platehub.services": "protocols"}
PACKAGES = {"engine": "engine", "training": "training", "core": "core", "protocols": "protocols",
            "simulator": "simulator", "cli": "cli", "console": "app", "video": "video"}


def modules() -> dict[str, Path]:
    """Dotted name → file of every module of the platehub package."""
    found = {}
    for path in sorted((SRC / "platehub").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported platehub module, line) for every import statement in the module, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "platehub"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package upwards
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] != "platehub":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((sub if sub in known else base, node.lineno))
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {target for target, _ in imports(name, path, known) if target != name}
            for name, path in known.items()}


def group(module: str) -> str | None:
    parts = module.split(".")
    return MODULES.get(module) if len(parts) == 1 or module in MODULES else PACKAGES.get(parts[1])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in edges), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_belongs_to_a_group():
    assert [m for m in modules() if group(m) not in ALLOWED] == []


def test_each_package_imports_only_the_packages_below_it():
    known = modules()
    wrong = []
    for name, path in known.items():
        mine = group(name)
        for target, line in imports(name, path, known):
            theirs = group(target)
            if theirs != mine and theirs not in ALLOWED.get(mine, ()):
                wrong.append(f"{path.relative_to(REPO)}:{line}: {mine} imports {target} ({theirs})")
    assert wrong == []


def test_no_import_cycle_between_modules():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c"]]


def test_the_architecture_document_shows_this_graph():
    """docs/architecture.md has one table row per group: `| group | what it may import |`."""
    doc = (REPO / "docs/architecture.md").read_text()
    for mine, allowed in ALLOWED.items():
        row = f"| `{mine}` | {', '.join(f'`{g}`' for g in sorted(allowed)) or '—'} |"
        assert row in doc, row


def test_the_store_and_the_records_load_no_inference_runtime():
    """core/read.py uses the engine's Box: that must not start numpy, OpenCV and ONNX Runtime for a
    `platehub user add` or a migration."""
    code = ("import sys, platehub.core.store, platehub.core.read, platehub.core.access\n"
            "print(sorted(m for m in ('numpy', 'cv2', 'onnxruntime') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
