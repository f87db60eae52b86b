"""The dependency graph of an environment: the only module that imports networkx.

An edge goes from a dependency to its dependent (``network -> cluster``). Functions take and return plain
names and dicts, never networkx objects.

Orders, subsets and the acyclicity check are plain walks over the ``depends_on`` dict (Kahn's algorithm,
ready nodes in env.yaml's order): every command that loads an environment needs them, and importing networkx
alone costs a command about 85 ms. networkx is imported only to name a cycle once one is known to exist.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from envctl.errors import ConfigError, UsageError

DependsOn = Mapping[str, Sequence[str]]


def _ordered(nodes: Sequence[str], waits_for: DependsOn) -> list[str]:
    """``nodes`` so that each comes after everything it waits for (entries outside ``nodes`` are ignored);
    among the nodes ready at once, the earliest in ``nodes`` first. Shorter than ``nodes`` if there is a cycle."""
    members = set(nodes)
    children: dict[str, list[str]] = {n: [] for n in nodes}
    pending = dict.fromkeys(nodes, 0)
    for node in nodes:
        for dep in set(waits_for.get(node, ())):
            if dep in members:
                children[dep].append(node)
                pending[node] += 1
    rank = {n: i for i, n in enumerate(nodes)}
    ready = [rank[n] for n in nodes if pending[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node = nodes[heapq.heappop(ready)]
        order.append(node)
        for child in children[node]:
            pending[child] -= 1
            if pending[child] == 0:
                heapq.heappush(ready, rank[child])
    return order


def check_acyclic(file: Path | str, depends_on: DependsOn) -> None:
    """Raise a ConfigError naming the cycle (``a -> b -> a``) if there is one."""
    if len(_ordered(list(depends_on), depends_on)) == len(depends_on):
        return
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(depends_on)
    for node, deps in depends_on.items():
        graph.add_edges_from((dep, node) for dep in deps)
    cycle = nx.find_cycle(graph)
    # find_cycle gives dependency -> dependent edges; say it the way env.yaml reads: X depends on Y
    path = [dependent for _dep, dependent in reversed(cycle)]
    path.append(path[0])
    raise ConfigError(file, f"dependency cycle: {' -> '.join(path)} (each depends on the next)",
                      key=f"components.{path[0]}.depends_on", hint="remove one of these depends_on entries")


def up_order(depends_on: DependsOn, only: Iterable[str] = ()) -> list[str]:
    """A valid bring-up order: dependencies first; with ``only``, those components and all they depend on."""
    nodes = subset_up(depends_on, only)
    return _ordered([n for n in depends_on if n in nodes], depends_on)


def down_order(depends_on: DependsOn, only: Iterable[str] = ()) -> list[str]:
    """A valid teardown order: dependents first; with ``only``, those and everything that depends on them."""
    nodes = subset_down(depends_on, only)
    return _ordered([n for n in reversed(list(depends_on)) if n in nodes], reverse(depends_on))


def _check_known(depends_on: DependsOn, only: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(only))
    unknown = [n for n in names if n not in depends_on]
    if unknown:
        raise UsageError(f"--only: no component named {', '.join(repr(u) for u in unknown)}",
                         hint=f"components: {', '.join(depends_on)}")
    return names


def _reachable(start: Iterable[str], edges: DependsOn) -> set[str]:
    seen = set(start)
    stack = list(seen)
    while stack:
        for nxt in edges.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def subset_up(depends_on: DependsOn, only: Iterable[str]) -> set[str]:
    """``only`` plus everything it depends on, directly or not (all components when ``only`` is empty)."""
    names = _check_known(depends_on, only)
    return _reachable(names, depends_on) if names else set(depends_on)


def subset_down(depends_on: DependsOn, only: Iterable[str]) -> set[str]:
    """``only`` plus everything that depends on it, directly or not (all components when ``only`` is empty)."""
    names = _check_known(depends_on, only)
    return _reachable(names, reverse(depends_on)) if names else set(depends_on)


def reverse(depends_on: DependsOn) -> dict[str, list[str]]:
    """The graph turned around: for teardown, a component waits for everything that depends on it."""
    out: dict[str, list[str]] = {name: [] for name in depends_on}
    for node, deps in depends_on.items():
        for dep in deps:
            out.setdefault(dep, []).append(node)
    return out


def all_dependencies(depends_on: DependsOn) -> dict[str, set[str]]:
    """For every component, everything it depends on, directly or not (one graph walk for all)."""
    out: dict[str, set[str]] = {}
    for node in _ordered(list(depends_on), depends_on):
        out[node] = set().union(*({p} | out[p] for p in depends_on[node] if p in out))
    return out


def critical_path_length(depends_on: DependsOn, weights: Mapping[str, float]) -> float:
    """The longest chain of ``weights`` through the graph: the lower bound of any schedule's wall time."""
    finish: dict[str, float] = {}
    for node in _ordered(list(depends_on), depends_on):
        start = max((finish[p] for p in depends_on[node] if p in finish), default=0.0)
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
