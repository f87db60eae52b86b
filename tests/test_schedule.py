"""envctl schedule: crontab entries on a stand-in crontab, and the GitHub Actions workflow."""

from __future__ import annotations

import datetime as _dt
import subprocess
from pathlib import Path

import pytest
import yaml

from envctl import DISTRIBUTION
from envctl.schedule import cron as cronexpr
from envctl.schedule.github_checks import LOCK
from tests.conftest import make_env, run_cli, write_script

SCHEDULE = """
schedule:
  timezone: Europe/Amsterdam
  sleep: "0 19 * * 1-5"
  wake: "0 8 * * 1-5"
  down_after: 12h
"""

UNRELATED = ["MAILTO=ops@example.com", "# my own backup", "30 2 * * * /usr/local/bin/backup --all", ""]


S3_STATE = "state: {backend: s3, bucket: acme-envctl-state, lock_table: envctl-locks}\n"


def project(tmp_path: Path, *, schedule: str = SCHEDULE, name: str = "test", target: str = "sandbox",
            state: str = "", scripts: dict[str, str] | None = None) -> Path:
    aws = "{target: sandbox}" if target == "sandbox" else '{target: account, account_id: "123456789012"}'
    scripts = scripts or {"install-network.sh": "echo up\n", "delete-network.sh": "echo down\n"}
    make_env(tmp_path, name, f"name: {name}\nregion: eu-west-1\naws: {aws}\n{state}components:\n  network: {{}}\n"
             + schedule, {"network": scripts})
    return tmp_path


def github_project(tmp_path: Path, **kw: str) -> Path:
    """An environment a runner can schedule (an account, team state) in a checkout of envctl's own source."""
    root = project(tmp_path, target="account", state=S3_STATE, **kw)
    (root / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\nversion = "0.1.0"\n')
    (root / LOCK).write_text("typer==0.28.0 --hash=sha256:" + "0" * 64 + "\n")
    (root / ".git").mkdir()
    return root


@pytest.fixture
def crontab(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A stand-in for crontab(1) that keeps the table in a file: no test touches a real crontab."""
    table = tmp_path / "crontab.txt"
    program = write_script(tmp_path / "bin" / "fake-crontab", f"""
        case "$1" in
          -l) if [ -f {table} ]; then cat {table}; else echo "no crontab for this user" >&2; exit 1; fi ;;
          -) cat > {table} ;;
          *) echo "usage: crontab -l | -" >&2; exit 2 ;;
        esac
    """)
    return table, {"ENVCTL_CRONTAB": str(program)}


def test_print_uses_cron_tz_and_wait_lock(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = run_cli("schedule", "test", "--print", root=root)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "# >>> envctl test >>>"
    assert lines[-1] == "# <<< envctl test <<<"
    assert "CRON_TZ=Europe/Amsterdam" in lines
    sleep = next(line for line in lines if line.startswith("0 19 * * 1-5 "))
    assert f"--root {root} sleep test --wait-lock 30m" in sleep
    assert f">> {root}/.envctl/schedule/test.log 2>&1" in sleep
    wake = next(line for line in lines if line.startswith("0 8 * * 1-5 "))
    assert "wake test --wait-lock 30m" in wake
    reap = next(line for line in lines if line.startswith("*/15 * * * * "))
    assert "reap test --yes" in reap
    # cron turns a bare % into a newline: none may reach the table unescaped
    assert all("%" not in line.replace("\\%", "") for line in lines)


def test_install_twice_then_remove_leaves_other_lines(tmp_path: Path, crontab: tuple[Path, dict[str, str]]) -> None:
    table, env = crontab
    root = project(tmp_path)
    table.write_text("\n".join(UNRELATED) + "\n")
    first = run_cli("schedule", "test", "--install", root=root, env=env)
    assert first.exit_code == 0, first.output
    assert "installed in the crontab" in first.stdout
    installed = table.read_text()
    assert installed.startswith("\n".join(UNRELATED) + "\n# >>> envctl test >>>\n")
    assert "CRON_TZ=Europe/Amsterdam\n" in installed
    assert (root / ".envctl" / "schedule").is_dir()
    mtime = table.stat().st_mtime_ns

    second = run_cli("schedule", "test", "--install", root=root, env=env)
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.stdout
    assert table.read_text() == installed
    assert table.stat().st_mtime_ns == mtime  # not even rewritten

    removed = run_cli("schedule", "test", "--remove", root=root, env=env)
    assert removed.exit_code == 0, removed.output
    assert table.read_text() == "\n".join(UNRELATED) + "\n"
    again = run_cli("schedule", "test", "--remove", root=root, env=env)
    assert again.exit_code == 0 and "nothing changed" in again.stdout


def test_install_replaces_its_own_block_in_place(tmp_path: Path, crontab: tuple[Path, dict[str, str]]) -> None:
    table, env = crontab
    root = project(tmp_path)
    project(tmp_path, name="other")
    assert run_cli("schedule", "test", "--install", root=root, env=env).exit_code == 0
    assert run_cli("schedule", "other", "--install", root=root, env=env).exit_code == 0
    (root / "environments" / "test" / "env.yaml").write_text(
        (root / "environments" / "test" / "env.yaml").read_text().replace('"0 19 * * 1-5"', '"30 20 * * 1-5"'))
    assert run_cli("schedule", "test", "--install", root=root, env=env).exit_code == 0
    lines = table.read_text().splitlines()
    assert lines.index("# >>> envctl test >>>") < lines.index("# >>> envctl other >>>")
    assert any(line.startswith("30 20 * * 1-5 ") for line in lines)
    assert not any(line.startswith("0 19 * * 1-5 ") and " sleep test " in line for line in lines)
    assert run_cli("schedule", "test", "--remove", root=root, env=env).exit_code == 0
    assert "# >>> envctl other >>>" in table.read_text()
    assert "envctl test" not in table.read_text()


def test_an_empty_crontab_is_created(tmp_path: Path, crontab: tuple[Path, dict[str, str]]) -> None:
    table, env = crontab
    root = project(tmp_path)
    assert not table.exists()
    assert run_cli("schedule", "test", "--install", root=root, env=env).exit_code == 0
    assert table.read_text().splitlines()[0] == "# >>> envctl test >>>"


def test_the_installed_line_runs_under_sh(tmp_path: Path) -> None:
    """The sleep line, run by /bin/sh as cron would, calls envctl with the arguments and logs to the file."""
    root = project(tmp_path)
    fake = write_script(tmp_path / "fake-envctl", f'echo "args: $*" > {tmp_path / "called"}\necho "did it"\n')
    from envctl.config.load import load_environment
    from envctl.schedule.crontab import crontab_lines

    lines = crontab_lines(load_environment(root, "test"), root, [str(fake)], path="/usr/bin:/bin")
    sleep = next(line for line in lines if line.startswith("0 19 * * 1-5 "))
    (root / ".envctl" / "schedule").mkdir(parents=True)
    subprocess.run(["/bin/sh", "-c", sleep.split(" ", 5)[5].replace("\\%", "%")], check=True)
    assert (tmp_path / "called").read_text() == f"args: --root {root} sleep test --wait-lock 30m\n"
    log = (root / ".envctl" / "schedule" / "test.log").read_text()
    assert log.startswith("=== envctl sleep test: ")
    assert log.endswith("did it\n")


def test_no_schedule_block_is_exit_2_naming_the_file_and_key(tmp_path: Path) -> None:
    root = project(tmp_path, schedule="")
    for flag in ("--print", "--install", "--github"):
        result = run_cli("schedule", "test", flag, root=root, env={"ENVCTL_CRONTAB": "/nonexistent"})
        assert result.exit_code == 2, result.output
        assert "env.yaml" in result.stderr and "schedule" in result.stderr
        assert "Traceback" not in result.output


def test_flags_are_exclusive(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = run_cli("schedule", "test", "--install", "--github", root=root)
    assert result.exit_code == 2
    assert "choose one" in result.stderr


def test_github_workflow_parses_and_is_pinned(tmp_path: Path) -> None:
    root = github_project(tmp_path)
    out = tmp_path / ".github" / "workflows" / "envctl-test.yml"
    result = run_cli("schedule", "test", "--github", "--out", str(out), root=root)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    data = yaml.safe_load(text)
    on = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    crons = [entry["cron"] for entry in on["schedule"]]
    # Amsterdam is UTC+1 in winter and UTC+2 in summer: each local time once per offset
    # (and reap every 15 minutes: the state is the team's, so the runner knows since when it is up)
    assert sorted(crons) == sorted(["0 18 * * 1-5", "0 17 * * 1-5", "0 7 * * 1-5", "0 6 * * 1-5", "*/15 * * * *"])
    assert "workflow_dispatch" in on
    assert "# GitHub Actions runs schedule crons in UTC." in text
    assert data["permissions"] == {"id-token": "write", "contents": "read"}
    assert data["concurrency"]["group"] == "envctl-test"
    job = data["jobs"]["envctl"]
    assert job["runs-on"] == "ubuntu-24.04"
    uses = [step["uses"] for step in job["steps"] if "uses" in step]
    assert "aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502" in uses
    assert all("@" in u and len(u.split("@")[1]) == 40 for u in uses)
    creds = next(s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/"))
    assert creds["with"]["role-to-assume"] == "arn:aws:iam::123456789012:role/envctl-schedule"
    assert creds["with"]["aws-region"] == "eu-west-1"
    assert "aws-access-key-id" not in creds["with"]
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'envctl "$ACTION" test --wait-lock 30m' in runs
    assert 'envctl verify test --markdown >> "$GITHUB_STEP_SUMMARY"' in runs
    assert "latest" not in text


@pytest.mark.parametrize(("month", "offset"), [(1, "+0100"), (7, "+0200")])
def test_github_guard_lets_through_only_the_cron_for_todays_offset(tmp_path: Path, month: int, offset: str) -> None:
    """Run the decide step's shell with each cron, on a winter and a summer day (faked through `date`)."""
    root = github_project(tmp_path)
    data = yaml.safe_load(run_cli("schedule", "test", "--github", root=root).stdout)
    step = data["jobs"]["envctl"]["steps"][0]
    fake_bin = tmp_path / "bin"
    write_script(fake_bin / "date", f'echo "{offset}"\n')
    output = tmp_path / "gh-output"
    on = data.get("on", data.get(True))
    let_through = {}
    for entry in on["schedule"]:
        output.write_text("")
        env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "SCHEDULE": entry["cron"], "DISPATCHED": "",
               "GITHUB_OUTPUT": str(output)}
        subprocess.run(["bash", "-e", "-c", step["run"]], env=env, check=True, capture_output=True)
        action = output.read_text().strip().removeprefix("action=")
        if action:
            let_through[entry["cron"]] = action
    reap = {"*/15 * * * *": "reap"}  # the same all year
    if offset == "+0100":
        assert let_through == {"0 18 * * 1-5": "sleep", "0 7 * * 1-5": "wake", **reap}
    else:
        assert let_through == {"0 17 * * 1-5": "sleep", "0 6 * * 1-5": "wake", **reap}
    # and 18:00 UTC in winter is 19:00 in Amsterdam, as written in env.yaml
    winter = _dt.datetime(2026, month, 15, 18 if offset == "+0100" else 17, tzinfo=_dt.timezone.utc)
    from zoneinfo import ZoneInfo

    assert winter.astimezone(ZoneInfo("Europe/Amsterdam")).hour == 19


@pytest.mark.parametrize(("cron", "offset", "expected"), [
    ("0 19 * * 1-5", 60, ["0 18 * * 1-5"]),
    ("0 1 * * 1-5", 120, ["0 23 * * 0-4"]),         # crosses midnight: the days move back with it
    ("0 22 * * 5", -300, ["0 3 * * 6"]),            # New York Friday night is Saturday in UTC
    ("30 9 * * *", 330, ["0 4 * * *"]),             # India: half-hour offset
    ("*/15 * * * *", 60, ["*/15 * * * *"]),
    ("0 8 * * MON-FRI", 60, ["0 7 * * MON-FRI"]),
    ("0,30 8-10 * * 1-5", 90, ["30 6 * * 1-5", "0,30 7-8 * * 1-5", "0 9 * * 1-5"]),
])
def test_cron_to_utc(cron: str, offset: int, expected: list[str]) -> None:
    assert cronexpr.to_utc(cron, offset) == expected


def test_cron_that_moves_a_day_of_month_is_refused(tmp_path: Path) -> None:
    with pytest.raises(cronexpr.CronError, match="day of the month"):
        cronexpr.to_utc("0 0 1 * *", 60)
    root = project(tmp_path, schedule='schedule: {timezone: Europe/Amsterdam, sleep: "0 0 1 * *"}\n')
    result = run_cli("schedule", "test", "--github", root=root)
    assert result.exit_code == 2
    assert "schedule.sleep" in result.stderr


def test_offsets_of_a_zone() -> None:
    assert cronexpr.utc_offsets("Europe/Amsterdam") == [60, 120]
    assert cronexpr.utc_offsets("UTC") == [0]
    assert cronexpr.format_offset(-300) == "-0500"


def test_a_missing_crontab_program_is_a_clear_error(tmp_path: Path) -> None:
    root = project(tmp_path)
    result = run_cli("schedule", "test", "--install", root=root,
                     env={"ENVCTL_CRONTAB": str(tmp_path / "no-such-crontab")})
    assert result.exit_code == 2
    assert "ENVCTL_CRONTAB" in result.stderr
    assert "Traceback" not in result.output


SLEEPY = {"install-network.sh": "echo up\n", "delete-network.sh": "echo down\n",
          "sleep-network.sh": "echo zzz\n", "wake-network.sh": "echo up again\n"}


def test_github_refuses_local_state_and_says_what_to_change(tmp_path: Path) -> None:
    root = project(tmp_path, target="account", scripts=SLEEPY)
    out = tmp_path / "envctl-test.yml"
    result = run_cli("schedule", "test", "--github", "--out", str(out), root=root)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())  # the message wraps at the terminal's width
    assert "no workflow written for 'test'" in message
    assert "the sleep/wake scripts of network would be skipped" in message
    assert "down_after could never reap" in message
    assert "set state: backend: s3 (with bucket and lock_table)" in message
    assert "envctl state init test and envctl state migrate test" in message
    assert "envctl schedule test --install" in message
    assert "Traceback" not in result.output
    assert not out.exists()


def test_github_refuses_the_sandbox_which_no_runner_reaches(tmp_path: Path) -> None:
    root = project(tmp_path, target="sandbox", state=S3_STATE)
    result = run_cli("schedule", "test", "--github", root=root)
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert "aws: target: sandbox is the embedded AWS on this machine" in message
    assert "set aws: target: account (with account_id)" in message
    assert "local files" not in message  # its state is in S3: only the target is named


def test_github_workflow_installs_envctl_from_the_commit_it_checked_out(tmp_path: Path) -> None:
    root = github_project(tmp_path, scripts=SLEEPY)
    result = run_cli("schedule", "test", "--github", root=root)
    assert result.exit_code == 0, result.output
    steps = yaml.safe_load(result.stdout)["jobs"]["envctl"]["steps"]
    names = [step["name"] for step in steps]
    checkout = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("actions/checkout@"))
    install = next(i for i, s in enumerate(steps) if "pip install" in s.get("run", ""))
    assert checkout < install, names
    assert steps[install]["run"].splitlines() == [
        'python -m pip install --require-hashes -r "${GITHUB_WORKSPACE}/requirements-runner.txt"',
        'python -m pip install --no-index --no-build-isolation "${GITHUB_WORKSPACE}"']
    assert steps[checkout]["with"]["persist-credentials"] == "false"
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "envctl==" not in runs and "pip install envctl" not in runs
    assert all(len(s["uses"].split("@")[1]) == 40 for s in steps if "uses" in s)
    assert "envctl reap test --yes" in runs  # team state: the runner can reap


def test_github_needs_envctl_source_in_the_repository(tmp_path: Path) -> None:
    root = github_project(tmp_path)
    (root / "pyproject.toml").unlink()  # a repository of environments only
    refused = run_cli("schedule", "test", "--github", root=root)
    assert refused.exit_code == 2, refused.output
    assert "--envctl-path" in refused.stderr and "package index" in refused.stderr
    vendored = root / "vendor" / "envctl"
    vendored.mkdir(parents=True)
    (vendored / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\n')
    unlocked = run_cli("schedule", "test", "--github", "--envctl-path", str(vendored), root=root)
    assert unlocked.exit_code == 2, unlocked.output  # a copy without the pinned dependencies
    assert f"{vendored} has none" in unlocked.stderr and "scripts/lock-runner.sh" in unlocked.stderr
    (vendored / LOCK).write_text((root / LOCK).read_text())
    result = run_cli("schedule", "test", "--github", "--envctl-path", str(vendored), root=root)
    assert result.exit_code == 0, result.output
    assert '-r "${GITHUB_WORKSPACE}/vendor/envctl/requirements-runner.txt"' in result.stdout
    assert 'pip install --no-index --no-build-isolation "${GITHUB_WORKSPACE}/vendor/envctl"' in result.stdout
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\n')
    outside = run_cli("schedule", "test", "--github", "--envctl-path", str(elsewhere), root=root)
    assert outside.exit_code == 2 and "not a folder of this repository" in outside.stderr


def test_the_distribution_is_not_named_envctl() -> None:
    """`pip install envctl` is another project on the public index; ours has a name of its own."""
    from envctl.schedule.github_checks import project_name
    from tests.conftest import REPO

    assert project_name(REPO) == DISTRIBUTION != "envctl"


def test_the_runner_lock_pins_every_dependency_by_hash() -> None:
    """What a scheduled job installs: each of pyproject.toml's dependencies and build requirements at one
    version that its range allows, every package with at least one hash (pip's --require-hashes)."""
    import tomllib
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    from tests.conftest import REPO

    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    wanted = [Requirement(r) for r in [*project["project"]["dependencies"], *project["build-system"]["requires"]]]
    pinned: dict[str, tuple[str, int]] = {}
    # one requirement per entry: "name==version \", its hash lines, then "# via" comments
    for entry in (REPO / LOCK).read_text().replace("\\\n", " ").splitlines():
        words = entry.split()
        if not words or words[0].startswith("#"):
            continue
        name, _, version = words[0].partition("==")
        assert version, f"{entry!r}: not pinned to one version"
        pinned[canonicalize_name(name)] = (version, sum(w.startswith("--hash=sha256:") for w in words))
    assert all(hashes >= 1 for _, hashes in pinned.values()), pinned
    for req in wanted:
        assert canonicalize_name(req.name) in pinned, f"{req.name} is not in {LOCK}: run scripts/lock-runner.sh"
        version, _ = pinned[canonicalize_name(req.name)]
        assert req.specifier.contains(version), f"{LOCK} pins {req.name} {version}, outside {req.specifier}"
