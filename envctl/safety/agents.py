"""Is envctl running inside an AI coding agent's session? The markers such agents set in the shells they run.

Coding agents export a variable into every command they run (``CLAUDECODE=1`` for Claude Code, ...), so a tool
they call can tell. envctl uses that to keep an agent from mutating an environment with scripts nobody
approved (``agents:`` in env.yaml, checked by the review gate), and from approving them itself.

This is a guard against accidents, not a security boundary: any variable an agent can see it can also unset.
The boundary is IAM (``envctl policy ENV --reader`` for the agent's own credentials, ``--agent-guardrail``
beside a person's). For the same reason there is no variable that says "not an agent": a marker found counts.

:data:`MARKERS` is the one list: the test suite's clean environment comes from it, and a test keeps the README's
table in step with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from envctl.errors import RefusedError

if TYPE_CHECKING:
    from envctl.config.model import Environment

OVERRIDE = "ENVCTL_AGENT"
"""Set it (to anything but 0/false) in an agent's configuration when the agent sets no marker of its own."""

_FALSE = frozenset({"", "0", "false", "no", "off"})


@dataclass(frozen=True)
class Marker:
    """One environment variable an agent sets; ``prefix``: only a value starting with it counts."""

    variable: str
    agent: str
    source: str  # where the marker is documented or seen, for the README and for whoever maintains this list
    prefix: str = ""

    def found_in(self, environ: Mapping[str, str]) -> bool:
        value = environ.get(self.variable)
        if value is None or value.strip().lower() in _FALSE:
            return False
        return value.startswith(self.prefix)

    def describe(self) -> str:
        shown = f"{self.variable}={self.prefix}..." if self.prefix else self.variable
        return f"{shown} set by {self.agent}"


MARKERS: tuple[Marker, ...] = (
    Marker(OVERRIDE, "hand (envctl's own marker)", "envctl"),
    Marker("CLAUDECODE", "Claude Code", "set in its shell tool since 0.2.47 (anthropics/claude-code#531)"),
    Marker("CURSOR_AGENT", "Cursor agent", "set in the commands of Cursor's agent and cursor-agent CLI"),
    Marker("CODEX_THREAD_ID", "OpenAI Codex CLI", "injected into every shell command (codex-rs)"),
    Marker("CODEX_SANDBOX", "OpenAI Codex CLI", "set on sandboxed commands (codex-rs)"),
    Marker("CODEX_SANDBOX_NETWORK_DISABLED", "OpenAI Codex CLI", "set when a command has no network (codex-rs)"),
    Marker("CODEX_CI", "OpenAI Codex CLI", "set in commands Codex runs"),
    Marker("GEMINI_CLI", "Gemini CLI", "set to 1 on every shell command it spawns (gemini-cli core)"),
    Marker("QWEN_CODE", "Qwen Code", "set to 1 on every shell command (gemini-cli fork)"),
    Marker("COPILOT_AGENT", "GitHub Copilot agent in VS Code", "set in agent terminals (microsoft/vscode#316267)"),
    Marker("COPILOT_CLI", "GitHub Copilot CLI and coding agent", "exported to every subprocess of @github/copilot"),
    Marker("AWS_EXECUTION_ENV", "Amazon Q Developer CLI / Kiro CLI", "its commands carry exec-env AmazonQ-For-CLI",
           prefix="AmazonQ"),
    Marker("KIRO_SESSION_ID", "Kiro CLI", "set in interactive and --no-interactive sessions"),
    Marker("OPENCODE", "OpenCode", "set to 1 at start, inherited by its commands"),
    Marker("AMP_CURRENT_THREAD_ID", "Amp", "injected into every shell tool execution"),
    Marker("AUGMENT_AGENT", "Augment Auggie CLI", "set to 1 in its shell tool"),
    Marker("ANTIGRAVITY_AGENT", "Google Antigravity", "set in its agent's commands"),
    Marker("AI_AGENT", "any agent following the AI_AGENT convention", "proposed by Vercel's detect-agent"),
    Marker("AGENT", "any agent following the AGENT convention", "set by OpenCode, Amp and Crush"),
)

MARKER_VARIABLES: tuple[str, ...] = tuple(dict.fromkeys(m.variable for m in MARKERS))
"""Every variable envctl reads as an agent marker."""

NO_MARKER = ("Aider", "Cline", "Windsurf", "OpenHands")
"""Agents that set no marker of their own (as far as is known): give them ENVCTL_AGENT=1 in their configuration."""


@dataclass(frozen=True)
class AgentSession:
    markers: tuple[str, ...]  # each marker found, described: "CLAUDECODE set by Claude Code"

    def describe(self) -> str:
        return ", ".join(self.markers)


def detect(environ: Mapping[str, str]) -> AgentSession | None:
    """The agent session ``environ`` belongs to, or None when no marker is set."""
    found = tuple(m.describe() for m in MARKERS if m.found_in(environ))
    return AgentSession(found) if found else None


def scrubbed(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` without any marker variable: what a person's shell looks like (for tests and examples)."""
    return {k: v for k, v in environ.items() if k not in MARKER_VARIABLES}


def refuse_approval(env: Environment, session: AgentSession | None) -> None:
    """``envctl approve`` inside an agent's session: refused (RefusedError, exit 2) unless env.yaml says
    ``agents: any``. Approving is what a person does after reading the scripts the agent wrote."""
    _person_only(env, session, "a person approves, not an agent; nothing was approved",
                 f"a person reads the changes (envctl approve {env.name} --dry-run shows them) and runs, outside "
                 f"the agent session: envctl approve {env.name}")


def refuse_schedule_install(env: Environment, session: AgentSession | None) -> None:
    """``envctl schedule --install`` inside an agent's session: its entries would run sleep, wake and reap later,
    outside any agent session, so installing them is a person's decision (unless ``agents: any``)."""
    _person_only(env, session, "a person installs a schedule (its entries run envctl later, outside any agent "
                 "session); nothing was installed",
                 f"a person runs, outside the agent session: envctl schedule {env.name} --install")


def refuse_state_change(env: Environment, session: AgentSession | None, command: str) -> None:
    """``envctl unlock``, ``state init`` and ``state migrate`` inside an agent's session: they change what every
    run of the environment relies on (its lock, where its state lives) and run no script a person approved, so
    they are a person's call (unless ``agents: any``)."""
    _person_only(env, session, f"'envctl {command}' changes the lock or the state every run of '{env.name}' "
                 "relies on, which a person does; nothing was changed",
                 f"a person runs, outside the agent session: envctl {command} {env.name}")


def _person_only(env: Environment, session: AgentSession | None, message: str, hint: str) -> None:
    if session is None or env.agents == "any":
        return
    raise RefusedError(f"this is an AI coding agent's session ({session.describe()}): {message}", hint=hint)
