"""The package's layers: each imports only those below it, and no import cycle.

core < mechanisms < io < engine < experiments < mesa < cli. Mechanisms import only core (never
one another: they meet through ``sim.mech`` at run time), io imports only core, and ``sim.core``
imports nothing else from the package. Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sim

ROOT = Path(sim.__file__).resolve().parent

ALLOWED = {
    "core": {"core"},
    "mechanisms": {"core"},
    "io": {"core", "io"},
    "engine": {"core", "mechanisms", "io", "engine"},
    "experiments": {"core", "mechanisms", "io", "engine", "experiments", "top"},
    "mesa": {"core", "mechanisms", "io", "engine", "experiments", "mesa", "top"},
    "cli": {"core", "mechanisms", "io", "engine", "experiments", "mesa", "cli", "top"},
    "top": {"core", "engine", "io"},
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "top"
    if parts[1] == "cli":
        return "cli"
    return parts[1] if parts[1] in ALLOWED else "top"


def _runtime_nodes(tree: ast.AST):
    """Every node, except those under ``if TYPE_CHECKING:`` (annotations only)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imports(path: Path) -> set[str]:
    out = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "sim"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sim":
                out |= {f"sim.{a.name}" for a in node.names}
            elif node.module.startswith("sim."):
                out.add(node.module)
    return out


def _same_mechanism(a: str, b: str) -> bool:
    """Modules of one mechanism package (``sim.mechanisms.decisions`` and its kernels)."""
    pa, pb = a.split("."), b.split(".")
    return len(pa) > 2 and len(pb) > 2 and pa[1] == pb[1] == "mechanisms" and pa[2] == pb[2]


def _graph() -> dict[str, set[str]]:
    return {_module_name(f): _imports(f) for f in ROOT.rglob("*.py")}


def test_every_layer_imports_only_those_below():
    bad = []
    for mod, deps in _graph().items():
        layer = _layer(mod)
        for dep in deps:
            if _layer(dep) not in ALLOWED[layer] and not _same_mechanism(mod, dep):
                bad.append(f"{mod} ({layer}) imports {dep} ({_layer(dep)})")
    assert bad == [], "\n".join(sorted(bad))


def test_mechanisms_do_not_import_one_another():
    bad = [
        f"{mod} imports {dep}"
        for mod, deps in _graph().items()
        if _layer(mod) == "mechanisms"
        for dep in deps
        if _layer(dep) == "mechanisms" and dep.split(".")[2] != mod.split(".")[2]
    ]
    assert bad == []


def test_parameter_types_import_nothing_from_the_package():
    assert _imports(ROOT / "core" / "params.py") == set()


def test_no_import_cycles():
    graph = _graph()
    names = set(graph)

    def resolve(dep: str) -> str | None:
        while dep and dep not in names:
            dep = dep.rpartition(".")[0]
        return dep or None

    edges = {m: {d for d in map(resolve, deps) if d and d != m} for m, deps in graph.items()}
    # a package importing its own submodules is not a cycle through them
    edges = {m: {d for d in ds if not d.startswith(m + ".")} for m, ds in edges.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in edges[m]:
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d] if d in path else [m, d])
            elif d not in state:
                visit(d, path + [d])
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_no_module_over_about_500_lines():
    long = {
        _module_name(f): n
        for f in ROOT.rglob("*.py")
        if (n := len(f.read_text(encoding="utf-8").splitlines())) > 550
    }
    assert long == {}


def test_architecture_step_order_table_is_generated_from_the_registry():
    """docs/architecture.md carries the table the registry generates (regenerate with
    ``python -m sim.engine.describe --write docs/architecture.md``)."""
    from sim.engine.describe import END, START, step_order_table

    text = (ROOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert block == step_order_table()
