"""The dependency graph of an environment: the only module that imports networkx.

An edge goes from a dependency to its dependent (``network -> cluster``). Functions take and return plain
names and dicts, never networkx objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import networkx as nx

from envctl.errors import ConfigError, UsageError

DependsOn = Mapping[str, Sequence[str]]


def _build(depends_on: DependsOn) -> nx.DiGraph:
    graph = nx.DiGraph()
    graph.add_nodes_from(depends_on)
    for node, deps in depends_on.items():
        graph.add_edges_from((dep, node) for dep in deps)
    return graph


def check_acyclic(file: Path | str, depends_on: DependsOn) -> None:
    """Raise a ConfigError naming the cycle (``a -> b -> a``) if there is one."""
    graph = _build(depends_on)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    # find_cycle gives dependency -> dependent edges; say it the way env.yaml reads: X depends on Y
    path = [dependent for _dep, dependent in reversed(cycle)]
    path.append(path[0])
    raise ConfigError(file, f"dependency cycle: {' -> '.join(path)} (each depends on the next)",
                      key=f"components.{path[0]}.depends_on", hint="remove one of these depends_on entries")


def _stable_topo(graph: nx.DiGraph, order_hint: Sequence[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(order_hint)}
    return list(nx.lexicographical_topological_sort(graph, key=lambda n: rank.get(n, len(rank))))


def up_order(depends_on: DependsOn, only: Iterable[str] = ()) -> list[str]:
    """A valid bring-up order: dependencies first; with ``only``, those components and all they depend on."""
    graph = _build(depends_on)
    nodes = subset_up(depends_on, only)
    return _stable_topo(graph.subgraph(nodes), list(depends_on))


def down_order(depends_on: DependsOn, only: Iterable[str] = ()) -> list[str]:
    """A valid teardown order: dependents first; with ``only``, those and everything that depends on them."""
    graph = _build(depends_on)
    nodes = subset_down(depends_on, only)
    return _stable_topo(graph.subgraph(nodes).reverse(copy=True), list(reversed(list(depends_on))))


def _check_known(depends_on: DependsOn, only: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(only))
    unknown = [n for n in names if n not in depends_on]
    if unknown:
        raise UsageError(f"--only: no component named {', '.join(repr(u) for u in unknown)}",
                         hint=f"components: {', '.join(depends_on)}")
    return names


def subset_up(depends_on: DependsOn, only: Iterable[str]) -> set[str]:
    """``only`` plus everything it depends on, directly or not (all components when ``only`` is empty)."""
    names = _check_known(depends_on, only)
    if not names:
        return set(depends_on)
    graph = _build(depends_on)
    return set(names).union(*(nx.ancestors(graph, n) for n in names))


def subset_down(depends_on: DependsOn, only: Iterable[str]) -> set[str]:
    """``only`` plus everything that depends on it, directly or not (all components when ``only`` is empty)."""
    names = _check_known(depends_on, only)
    if not names:
        return set(depends_on)
    graph = _build(depends_on)
    return set(names).union(*(nx.descendants(graph, n) for n in names))


def reverse(depends_on: DependsOn) -> dict[str, list[str]]:
    """The graph turned around: for teardown, a component waits for everything that depends on it."""
    out: dict[str, list[str]] = {name: [] for name in depends_on}
    for node, deps in depends_on.items():
        for dep in deps:
            out[dep].append(node)
    return out


def all_dependencies(depends_on: DependsOn) -> dict[str, set[str]]:
    """For every component, everything it depends on, directly or not (one graph walk for all)."""
    graph = _build(depends_on)
    out: dict[str, set[str]] = {}
    for node in nx.topological_sort(graph):
        out[node] = set().union(*({p} | out[p] for p in graph.predecessors(node)))
    return out


def critical_path_length(depends_on: DependsOn, weights: Mapping[str, float]) -> float:
    """The longest chain of ``weights`` through the graph: the lower bound of any schedule's wall time."""
    graph = _build(depends_on)
    finish: dict[str, float] = {}
    for node in nx.topological_sort(graph):
        start = max((finish[p] for p in graph.predecessors(node)), default=0.0)
        finish[node] = start + weights.get(node, 0.0)
    return max(finish.values(), default=0.0)


# ---------------------------------------------------------------- pictures


def to_mermaid(depends_on: DependsOn) -> str:
    lines = ["graph TD"]
    ids = {name: f"n{i}" for i, name in enumerate(depends_on)}
    for name in depends_on:
        lines.append(f'  {ids[name]}["{name}"]')
    for name, deps in depends_on.items():
        for dep in deps:
            lines.append(f"  {ids[dep]} --> {ids[name]}")
    return "\n".join(lines) + "\n"


def to_dot(depends_on: DependsOn, title: str = "envctl") -> str:
    lines = [f'digraph "{title}" {{', "  rankdir=LR;", "  node [shape=box];"]
    for name in depends_on:
        lines.append(f'  "{name}";')
    for name, deps in depends_on.items():
        for dep in deps:
            lines.append(f'  "{dep}" -> "{name}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_text(depends_on: DependsOn) -> str:
    """One line per component in bring-up order, with what it depends on."""
    order = up_order(depends_on)
    width = max((len(n) for n in order), default=0)
    return "\n".join(f"{n.ljust(width)}  <- {', '.join(depends_on[n])}" if depends_on[n] else n
                     for n in order) + "\n"
