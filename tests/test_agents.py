"""Agents run only what a person approved: inside an AI coding agent's session, mutating commands run approved
scripts only and ``approve`` refuses; looks always run. Real envctl processes, each with an explicit environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from envctl.safety import agents
from tests.conftest import REPO, make_env, run_cli, run_cli_process

ENV_YAML = """
name: demo
region: us-east-1
aws:
  target: account
  account_id: "123456789012"
{agents}
components:
  network: {{}}
  app:
    depends_on: [network]
"""

AGENT = {"CLAUDECODE": "1"}


def demo_env(root: Path, agents_line: str = "") -> tuple[Path, Path]:
    """An environment whose installs and deletes leave marker files in ``root/ran``."""
    ran = root / "ran"
    ran.mkdir()
    env_dir = make_env(root, "demo", ENV_YAML.format(agents=agents_line), {
        "network": {"install-network.sh": f"touch {ran}/network\n", "delete-network.sh": f"touch {ran}/-network\n"},
        "app": {"install-app.sh": f"touch {ran}/app\n", "delete-app.sh": f"touch {ran}/-app\n"},
    })
    return env_dir, ran


def envctl(root: Path, *args: str, agent: bool) -> tuple[int, str, str]:
    proc = run_cli_process(*args, root=root, env=AGENT if agent else None)
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------- detection

@pytest.mark.parametrize(("environ", "found"), [
    ({}, None),
    ({"CLAUDECODE": "1"}, "CLAUDECODE set by Claude Code"),
    ({"GEMINI_CLI": "1"}, "GEMINI_CLI set by Gemini CLI"),
    ({"CODEX_THREAD_ID": "019a-thread"}, "CODEX_THREAD_ID set by OpenAI Codex CLI"),
    ({"CURSOR_AGENT": "1"}, "CURSOR_AGENT set by Cursor agent"),
    ({"COPILOT_AGENT": "1"}, "COPILOT_AGENT set by GitHub Copilot agent in VS Code"),
    ({"AWS_EXECUTION_ENV": "AmazonQ-For-CLI-Version-1.12.0"}, "AWS_EXECUTION_ENV=AmazonQ... set by Amazon Q"),
    ({"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}, None),   # Lambda sets it too: not an agent
    ({"ENVCTL_AGENT": "1"}, "ENVCTL_AGENT"),
    ({"ENVCTL_AGENT": "0"}, None),
    ({"CLAUDECODE": ""}, None),
])
def test_markers(environ: dict[str, str], found: str | None) -> None:
    session = agents.detect(environ)
    if found is None:
        assert session is None
    else:
        assert session is not None and found in session.describe()


def test_no_variable_says_not_an_agent() -> None:
    """ENVCTL_AGENT=0 does not hide another marker: nothing an agent sets makes it a person."""
    session = agents.detect({"CLAUDECODE": "1", "ENVCTL_AGENT": "0", "AGENT": "false"})
    assert session is not None and session.markers == ("CLAUDECODE set by Claude Code",)


def test_the_suite_runs_without_markers() -> None:
    """The autouse fixture cleans every marker, whatever shell the tests were started from."""
    assert agents.detect(os.environ) is None


# ---------------------------------------------------------------- env.yaml

@pytest.mark.parametrize("value", ["sometimes", "yes", "[approved]"])
def test_a_bad_agents_value_names_file_and_key(tmp_path: Path, value: str) -> None:
    demo_env(tmp_path, f"agents: {value}")
    result = run_cli("plan", "demo", root=tmp_path)
    assert result.exit_code == 2, result.output
    assert "environments/demo/env.yaml: agents:" in result.stderr
    assert "approved" in result.stderr and "never" in result.stderr and "any" in result.stderr
    assert "Traceback" not in result.output


# ---------------------------------------------------------------- the gate, end to end

@pytest.mark.sandbox
def test_up_waits_for_a_person_to_approve(tmp_path: Path, aws: str) -> None:
    env_dir, ran = demo_env(tmp_path)
    code, _, err = envctl(tmp_path, "up", "demo", agent=True)
    assert code == 2, err
    assert "AI coding agent" in err and "CLAUDECODE" in err
    assert "not approved" in err and "environments/demo/network/install-network.sh" in err
    assert "envctl approve demo" in err and "outside the agent session" in err
    assert not any(ran.iterdir()), "nothing may run"

    code, _, err = envctl(tmp_path, "approve", "demo", agent=True)
    assert code == 2
    assert "a person approves" in err
    assert not (env_dir / "envctl.lock").exists()

    code, out, err = envctl(tmp_path, "approve", "demo", "--dry-run", agent=True)
    assert code == 0, err   # looking at what is pending is fine

    code, out, err = envctl(tmp_path, "approve", "demo", agent=False)
    assert code == 0, err
    code, out, err = envctl(tmp_path, "up", "demo", agent=True)
    assert code == 0, out + err
    assert sorted(p.name for p in ran.iterdir()) == ["app", "network"]


@pytest.mark.sandbox
def test_a_change_after_approval_is_refused_again(tmp_path: Path, aws: str) -> None:
    env_dir, ran = demo_env(tmp_path)
    assert envctl(tmp_path, "approve", "demo", agent=False)[0] == 0
    script = env_dir / "app" / "install-app.sh"
    script.write_text(script.read_text() + "echo 'written by the agent'\n")
    code, _, err = envctl(tmp_path, "up", "demo", agent=True)
    assert code == 2
    assert "changed: environments/demo/app/install-app.sh" in err
    assert "+echo 'written by the agent'" in err
    assert not any(ran.iterdir())


@pytest.mark.sandbox
def test_down_needs_only_its_delete_scripts_approved(tmp_path: Path, aws: str) -> None:
    env_dir, ran = demo_env(tmp_path)
    assert envctl(tmp_path, "approve", "demo", agent=False)[0] == 0
    assert envctl(tmp_path, "up", "demo", agent=True)[0] == 0
    install = env_dir / "app" / "install-app.sh"
    install.write_text(install.read_text() + "echo 'next version'\n")
    code, out, err = envctl(tmp_path, "down", "demo", "--yes", "--no-verify", agent=True)
    assert code == 0, out + err
    assert {"-app", "-network"} <= {p.name for p in ran.iterdir()}


@pytest.mark.sandbox
def test_agents_never_refuses_even_approved_scripts(tmp_path: Path, aws: str) -> None:
    _, ran = demo_env(tmp_path, "agents: never")
    assert envctl(tmp_path, "approve", "demo", agent=False)[0] == 0
    code, _, err = envctl(tmp_path, "up", "demo", agent=True)
    assert code == 2
    assert "agents: never" in err and "envctl up demo" in err
    assert not any(ran.iterdir())
    code, out, err = envctl(tmp_path, "up", "demo", agent=False)
    assert code == 0, out + err


@pytest.mark.sandbox
def test_agents_any_checks_nothing(tmp_path: Path, aws: str) -> None:
    _, ran = demo_env(tmp_path, "agents: any")
    code, out, err = envctl(tmp_path, "up", "demo", agent=True)
    assert code == 0, out + err
    assert sorted(p.name for p in ran.iterdir()) == ["app", "network"]
    assert envctl(tmp_path, "approve", "demo", agent=True)[0] == 0


@pytest.mark.sandbox
def test_sleep_and_wake_are_gated_too(tmp_path: Path, aws: str) -> None:
    demo_env(tmp_path)
    for command in ("sleep", "wake", "update"):
        code, _, err = envctl(tmp_path, command, "demo", agent=True)
        assert code == 2, (command, err)
        assert "envctl approve demo" in err


@pytest.mark.sandbox
def test_looks_always_run_in_an_agent_session(tmp_path: Path, aws: str) -> None:
    demo_env(tmp_path, "agents: never")
    for args in (("status", "demo"), ("plan", "demo"), ("graph", "demo"), ("history", "demo"),
                 ("lint", "demo"), ("verify", "demo")):
        code, out, err = envctl(tmp_path, *args, agent=True)
        assert code == 0, (args, out, err)


def test_an_agent_does_not_install_a_schedule(tmp_path: Path) -> None:
    """Cron runs its entries later, outside any agent session: installing them is a person's call."""
    table = tmp_path / "crontab.txt"
    fake = tmp_path / "bin" / "fake-crontab"
    fake.parent.mkdir()
    fake.write_text(f"#!/usr/bin/env bash\ncase \"$1\" in\n  -l) if [ -f {table} ]; then cat {table}; "
                    f"else echo 'no crontab for this user' >&2; exit 1; fi ;;\n  -) cat > {table} ;;\nesac\n")
    fake.chmod(0o755)
    demo_env(tmp_path, 'schedule: {sleep: "0 19 * * 1-5", wake: "0 8 * * 1-5"}')
    proc = run_cli_process("schedule", "demo", "--install", root=tmp_path,
                           env={**AGENT, "ENVCTL_CRONTAB": str(fake)})
    assert proc.returncode == 2, proc.stderr
    assert "a person installs a schedule" in proc.stderr
    assert not table.exists()
    proc = run_cli_process("schedule", "demo", "--install", root=tmp_path, env={"ENVCTL_CRONTAB": str(fake)})
    assert proc.returncode == 0, proc.stderr
    assert "envctl" in table.read_text()


@pytest.mark.sandbox
def test_reap_in_an_agent_session_runs_approved_deletes_only(tmp_path: Path, aws: str) -> None:
    import time

    _, ran = demo_env(tmp_path, "schedule: {down_after: 1s}")
    code, out, err = envctl(tmp_path, "up", "demo", agent=False)
    assert code == 0, out + err
    time.sleep(1.2)  # past its down_after
    code, out, err = envctl(tmp_path, "reap", "--yes", agent=True)
    assert code == 2, out + err
    assert "envctl approve demo" in out + err
    assert not {"-app", "-network"} & {p.name for p in ran.iterdir()}
    assert envctl(tmp_path, "approve", "demo", agent=False)[0] == 0
    code, out, err = envctl(tmp_path, "reap", "--yes", agent=True)
    assert code == 0, out + err
    assert {"-app", "-network"} <= {p.name for p in ran.iterdir()}


def test_diff_shows_a_different_agents_setting(tmp_path: Path) -> None:
    import json

    scripts = {"c": {"install-c.sh": "true\n", "delete-c.sh": "true\n"}}
    make_env(tmp_path, "test", "name: test\nregion: us-east-1\ncomponents:\n  c: {}\n", scripts)
    make_env(tmp_path, "prod", "name: prod\nregion: us-east-1\nagents: never\ncomponents:\n  c: {}\n", scripts)
    result = run_cli("diff", "test", "prod", "--json", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["settings"]["agents"] == {"a": "approved", "b": "never"}


def test_the_shipped_example_is_approved_as_it_is() -> None:
    """environments/test/envctl.lock is committed with the scripts, so an agent's session can bring the example up
    as shipped, and is stopped the moment a script differs. A change to the example needs a new approval: a person
    runs `envctl approve test` and commits the lock with the change."""
    result = run_cli("approve", "test", "--dry-run", root=REPO)
    assert result.exit_code == 0, result.output
    stale = [line for line in result.stdout.splitlines()[:-1] if not line.startswith("unchanged")]
    assert not stale, "the example changed since it was approved:\n" + "\n".join(stale)


def test_agents_never_change_the_shipped_prod() -> None:
    proc = run_cli_process("up", "prod", root=REPO, env=AGENT)
    assert proc.returncode == 2
    assert "says agents: never" in proc.stderr and "envctl up prod" in proc.stderr


def test_the_readme_lists_every_marker() -> None:
    readme = (REPO / "README.md").read_text()
    missing = [name for name in agents.MARKER_VARIABLES if f"`{name}`" not in readme]
    assert not missing, f"agent markers missing from README.md: {missing}"


def test_an_agent_does_not_break_a_lock_or_move_the_state(tmp_path: Path) -> None:
    """unlock and state init/migrate run no script, but change what every run relies on: a person's call."""
    demo_env(tmp_path)
    locks = tmp_path / ".envctl" / "locks"
    locks.mkdir(parents=True)
    held = '{"pid": 1, "host": "laptop", "user": "dev", "command": "envctl up demo", "since": "2026-11-30T09:00:00Z"}'
    (locks / "demo.lock").write_text(held)
    code, _, err = envctl(tmp_path, "unlock", "demo", "--yes", agent=True)
    assert code == 2 and "'envctl unlock' changes the lock or the state" in err and "a person runs" in err
    assert (locks / "demo.lock").read_text() == held
    env_yaml = tmp_path / "environments" / "demo" / "env.yaml"
    env_yaml.write_text(env_yaml.read_text() + "state: {backend: s3, bucket: team-state, lock_table: locks}\n")
    for command in (("state", "init"), ("state", "migrate")):
        code, _, err = envctl(tmp_path, *command, "demo", agent=True)
        assert code == 2 and f"'envctl {' '.join(command)}' changes the lock or the state" in err, err
