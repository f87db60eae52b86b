"""The layout holds: one package per capability, imports one way, no cycles, no module over 400 lines.

The source is read with ``ast``, so an import inside a function counts like one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "envctl"
MAX_LINES = 400
# Top to bottom: a package may import its own modules and those of packages below it, never above or beside.
LAYERS = [
    ["__main__"],  # the entry point: python -m envctl
    ["cli"],
    ["provenance"],
    ["sleep"],
    ["schedule"],
    ["teardown"],
    ["authoring", "timeline"],
    ["inventory", "run"],
    ["safety"],
    ["state"],
    ["aws"],
    ["config"],
    ["errors", "__init__"],
]
RANK = {name: len(LAYERS) - i for i, layer in enumerate(LAYERS) for name in layer}
TOP_LEVEL = {"__init__.py", "__main__.py", "errors.py"}


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str], root: Path = PACKAGE) -> set[str]:
    """Every envctl module ``path`` imports, at the top or inside a function."""
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph(root: Path = PACKAGE) -> nx.DiGraph:
    files = sorted(root.rglob("*.py"))
    modules = {module_name(f, root) for f in files}
    graph = nx.DiGraph()
    for f in files:
        graph.add_node(module_name(f, root))
        for dep in imports_of(f, modules, root):
            graph.add_edge(module_name(f, root), dep)
    return graph


def capability(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_import_cycles() -> None:
    cycles = list(nx.simple_cycles(import_graph()))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles)


def test_imports_go_one_way() -> None:
    unknown = {capability(m) for m in import_graph().nodes} - set(RANK)
    assert not unknown, f"packages missing from the layer list in {__file__}: {sorted(unknown)}"
    upward = [f"{a} -> {b}" for a, b in import_graph().edges
              if capability(a) != capability(b) and RANK[capability(b)] >= RANK[capability(a)]
              and capability(b) != "__init__"]
    assert not upward, "imports against the layering:\n" + "\n".join(sorted(upward))


def test_no_module_over_400_lines() -> None:
    big = {str(p.relative_to(PACKAGE.parent)): n for p in PACKAGE.rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_only_a_handful_of_modules_at_the_top() -> None:
    loose = {p.name for p in PACKAGE.glob("*.py")} - TOP_LEVEL
    assert not loose, f"modules loose at the top of envctl/ (give each a package): {sorted(loose)}"


def test_every_package_says_what_it_owns() -> None:
    silent = [str(p.parent.relative_to(PACKAGE.parent)) for p in PACKAGE.glob("*/__init__.py")
              if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not silent, f"packages without a docstring saying what they own: {silent}"


@pytest.mark.parametrize(("source", "expected"), [
    ({"a.py": "from envctl.pkg import b\n", "b.py": "def f():\n    from envctl.pkg import a\n"}, "cycle"),
    ({"a.py": "from envctl.pkg import b\n", "b.py": "x = 1\n"}, None),
])
def test_the_cycle_check_sees_lazy_imports(tmp_path: Path, source: dict[str, str], expected: str | None) -> None:
    """The check itself: a cycle closed by an import inside a function is found."""
    pkg = tmp_path / "envctl" / "pkg"
    pkg.mkdir(parents=True)
    (tmp_path / "envctl" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    for name, text in source.items():
        (pkg / name).write_text(text)
    cycles = list(nx.simple_cycles(import_graph(tmp_path / "envctl")))
    assert bool(cycles) == (expected == "cycle")
