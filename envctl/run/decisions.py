"""Whether a component's step runs in this run, and if not, why: per command, from the recorded state."""

from __future__ import annotations

from collections.abc import Callable

from envctl.config.model import Environment
from envctl.run.scriptenv import script_hashes
from envctl.state.model import EnvState

Decide = Callable[[Environment, EnvState, str, bool], tuple[bool, str]]


def decide_up(env: Environment, st: EnvState, name: str, force: bool) -> tuple[bool, str]:
    comp = st.components.get(name)
    if force or comp is None or comp.state in ("down", "install_failed", "delete_failed"):
        return True, ""
    if comp.state == "asleep":
        return False, f"asleep (run envctl wake {env.name})"
    if comp.scripts and comp.scripts != script_hashes(env.components[name]):
        return False, (f"up, but its scripts changed since they last ran: run envctl update {env.name} "
                       f"--only {name}, or envctl up {env.name} --only {name} --force")
    return False, "already up"


def decide_down(env: Environment, st: EnvState, name: str, force: bool) -> tuple[bool, str]:
    if force:
        return True, ""
    comp = st.components.get(name)
    if comp is None or (comp.state == "down" and comp.last_action in (None, "delete")
                        and comp.last_result in (None, "ok")):
        return False, "already deleted" if comp is not None and comp.last_action == "delete" else "never installed"
    return True, ""


def decide_script(action: str) -> Decide:
    def decide(env: Environment, st: EnvState, name: str, force: bool) -> tuple[bool, str]:
        if env.components[name].scripts.for_action(action) is None:
            return False, f"has no {action} script"
        comp = st.components.get(name)
        wanted = {"update": ("up",), "sleep": ("up", "asleep"), "wake": ("up", "asleep")}[action]
        if comp is None or comp.state not in wanted:
            return False, f"is {comp.state if comp else 'down'}"
        return True, ""
    return decide
