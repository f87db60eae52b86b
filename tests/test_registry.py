"""Bad input: one clear message naming the file and the key or line, exit 2, no traceback, nothing run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import make_env, run_cli, write_script

GOOD = """\
name: demo
region: us-east-1
components:
  network: {}
  cluster:
    depends_on: [network]
"""

PAIR = {"install-x.sh": 'touch "$ENVCTL_ROOT/ran"', "delete-x.sh": 'touch "$ENVCTL_ROOT/ran"'}


def project(tmp_path: Path, env_yaml: str, comps=("network", "cluster"), name: str = "demo") -> Path:
    make_env(tmp_path, name, env_yaml, {c: dict(PAIR) for c in comps})
    return tmp_path


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new)


# (id, env.yaml text, what the message must contain, extra setup)
CASES = [
    ("malformed-yaml", "name: demo\nregion: [us-east-1\ncomponents: {}\n", ["env.yaml:", "malformed YAML"], None),
    ("tab-indent", "name: demo\nregion: us-east-1\ncomponents:\n\tnetwork: {}\n", ["env.yaml:", "malformed YAML"],
     None),
    ("not-a-mapping", "- a\n- b\n", ["env.yaml", "mapping"], None),
    ("empty-file", "", ["env.yaml", "empty"], None),
    ("unknown-top-key", GOOD + "regoin: eu-west-1\n", ["env.yaml: regoin", "unknown key"], None),
    ("unknown-component-key", _replace(GOOD, "depends_on:", "depend_on:"),
     ["components.cluster.depend_on", "unknown key"], None),
    ("wrong-type-region", _replace(GOOD, "region: us-east-1", "region: {a: 1}"), ["region", "string"], None),
    ("bad-region", _replace(GOOD, "region: us-east-1", "region: useast1"), ["region", "AWS region"], None),
    ("wrong-type-depends", _replace(GOOD, "[network]", "{a: 1}"), ["components.cluster.depends_on", "list"], None),
    ("wrong-type-components", "name: demo\nregion: us-east-1\ncomponents: [network]\n", ["components", "mapping"],
     None),
    ("missing-region", "name: demo\ncomponents:\n  network: {}\n", ["region", "required"], None),
    ("empty-components", "name: demo\nregion: us-east-1\ncomponents: {}\n", ["components", "empty"], None),
    ("no-components", "name: demo\nregion: us-east-1\n", ["components", "missing"], None),
    ("unknown-dependency", _replace(GOOD, "[network]", "[netwrok]"),
     ["components.cluster.depends_on", "'netwrok'"], None),
    ("cycle", "name: demo\nregion: us-east-1\ncomponents:\n  network: {depends_on: [cluster]}\n"
     "  cluster: {depends_on: [network]}\n", ["cycle", "network -> cluster -> network"], None),
    ("self-dependency", "name: demo\nregion: us-east-1\ncomponents:\n  network: {depends_on: [network]}\n"
     "  cluster: {}\n", ["components.network.depends_on", "itself"], None),
    ("name-mismatch", _replace(GOOD, "name: demo", "name: prod"), ["name", "does not match its folder"], None),
    ("component-name-dotdot", _replace(GOOD, "  cluster:", "  ../x:"), ["components.../x", "not a valid"], None),
    ("component-name-space", _replace(GOOD, "  cluster:", "  'my comp':"), ["not a valid component name"],
     None),
    ("dir-escapes-root", _replace(GOOD, "  network: {}", "  network: {dir: ../../../..}"),
     ["components.network.dir", "outside the project root"], None),
    ("dir-missing", _replace(GOOD, "  network: {}", "  network: {dir: nowhere}"),
     ["components.network.dir", "does not exist"], None),
    ("bad-duration", _replace(GOOD, "[network]", "[network]\n    timeout: soon"),
     ["components.cluster.timeout", "not a duration"], None),
    ("negative-duration", _replace(GOOD, "[network]", "[network]\n    timeout: 0s"),
     ["components.cluster.timeout", "positive"], None),
    ("bad-var-name", _replace(GOOD, "components:", "vars: {BAD-NAME: 1}\ncomponents:"), ["vars.BAD-NAME"], None),
    ("var-not-scalar", _replace(GOOD, "components:", "vars: {A: [1]}\ncomponents:"), ["vars.A", "string"], None),
    ("bad-target", _replace(GOOD, "components:", "aws: {target: prod}\ncomponents:"), ["aws.target"], None),
    ("account-without-id", _replace(GOOD, "components:", "aws: {target: account}\ncomponents:"),
     ["aws.account_id", "required"], None),
    ("account-id-not-12-digits", _replace(GOOD, "components:", "aws: {target: account, account_id: 12345}\n"
                                          "components:"), ["aws.account_id", "12-digit"], None),
    ("reserved-tag", _replace(GOOD, "components:", "tags: {'envctl:env': x}\ncomponents:"),
     ["tags.envctl:env", "reserved"], None),
    ("sleep-not-bool", _replace(GOOD, "components:", "sleep: {rds: sometimes}\ncomponents:"),
     ["sleep.rds", "true or false"], None),
    ("sleep-unknown", _replace(GOOD, "components:", "sleep: {lambdas: true}\ncomponents:"),
     ["sleep.lambdas", "unknown key"], None),
    ("s3-state-without-bucket", _replace(GOOD, "components:", "state: {backend: s3, lock_table: t}\ncomponents:"),
     ["state.bucket", "required"], None),
    ("bad-timezone", _replace(GOOD, "components:", "schedule: {timezone: Mars/Olympus}\ncomponents:"),
     ["schedule.timezone"], None),
    ("bad-cron", _replace(GOOD, "components:", "schedule: {sleep: '0 19 * *'}\ncomponents:"),
     ["schedule.sleep", "cron"], None),
    ("bad-review", _replace(GOOD, "components:", "review: maybe\ncomponents:"), ["review"], None),
    ("missing-delete", GOOD, ["components.network", "no delete script", "delete-*.sh"],
     lambda env: (env / "network/delete-x.sh").unlink()),
    ("missing-install", GOOD, ["components.network", "no install script"],
     lambda env: (env / "network/install-x.sh").unlink()),
    ("two-install-scripts", GOOD, ["components.network", "2 install scripts", "create-y.sh, install-x.sh"],
     lambda env: write_script(env / "network/create-y.sh", "true")),
    ("not-executable", GOOD, ["components.cluster.delete", "not executable", "chmod +x"],
     lambda env: (env / "cluster/delete-x.sh").chmod(0o644)),
    ("explicit-script-missing", _replace(GOOD, "  network: {}", "  network: {install: nope.sh}"),
     ["components.network.install", "does not exist"], None),
    ("explicit-script-escapes", _replace(GOOD, "  network: {}", "  network: {delete: ../../../../../etc/passwd}"),
     ["components.network.delete", "outside the project root"], None),
    ("component-folder-missing", GOOD, ["components.cluster", "does not exist", "envctl new"],
     lambda env: [p.unlink() for p in (env / "cluster").iterdir()] and (env / "cluster").rmdir()),
]


@pytest.mark.parametrize(("text", "expected", "setup"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("command", [("plan", "demo"), ("up", "demo")])
def test_bad_input_is_one_clear_message_exit_2_and_nothing_runs(tmp_path, text, expected, setup, command):
    root = project(tmp_path, text)
    if setup:
        setup(root / "environments/demo")
    res = run_cli(*command, root=root)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    message = res.stderr
    assert message.startswith("envctl: "), message
    for part in expected:
        assert part in message, (part, message)
    if "malformed" not in expected[-1] and setup is None and "env.yaml" not in expected[0]:
        assert "env.yaml" in message
    assert not (root / "ran").exists()


def test_unknown_environment_names_the_ones_there(tmp_path):
    project(tmp_path, GOOD)
    res = run_cli("plan", "nope", root=tmp_path)
    assert res.exit_code == 2 and "no environment 'nope'" in res.stderr and "demo" in res.stderr


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "x y"])
def test_environment_names_that_are_not_identifiers_are_refused(tmp_path, name):
    project(tmp_path, GOOD)
    res = run_cli("plan", name, root=tmp_path)
    assert res.exit_code == 2 and "not an environment name" in res.stderr


def test_root_not_found_is_a_clear_message(tmp_path):
    res = run_cli("list", root=tmp_path)
    assert res.exit_code == 2 and "environments/" in res.stderr


def test_root_is_found_from_a_subfolder_and_by_envctl_root(tmp_path, monkeypatch):
    project(tmp_path, GOOD)
    monkeypatch.chdir(tmp_path / "environments/demo/network")
    res = run_cli("list", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout) == [{"name": "demo", "state": "down"}]
    monkeypatch.chdir("/")
    res = run_cli("list", "--json", env={"ENVCTL_ROOT": str(tmp_path)})
    assert json.loads(res.stdout) == [{"name": "demo", "state": "down"}]


def test_full_env_yaml_of_the_contract_loads(tmp_path):
    from envctl.config.load import load_environment

    text = """\
name: test
region: us-east-1
aws: {target: account, account_id: "123456789012", profile: infra-test, endpoint_url: "http://localhost:4566"}
tags: {project: intercept}
vars: {CLUSTER_NAME: test, ENABLED: true, SIZE: 3}
components:
  network: {}
  cluster: {depends_on: [network], timeout: 45m}
  rds-orders:
    dir: rds/orders
    depends_on: network
    vars: {DB_CLASS: db.t4g.micro}
sleep: {nodegroups: true, autoscaling: false, rds: true, ec2: true}
state: {backend: s3, bucket: acme, prefix: envctl/, region: us-east-1, lock_table: locks, lock_ttl: 2m}
schedule: {timezone: Europe/Amsterdam, sleep: "0 19 * * 1-5", wake: "0 8 * * 1-5", down_after: 12h}
"""
    make_env(tmp_path, "test", text, {"network": PAIR, "cluster": PAIR, "rds/orders": PAIR})
    env = load_environment(tmp_path, "test")
    assert env.components["cluster"].timeout == 45 * 60
    assert env.components["rds-orders"].dir == (tmp_path / "environments/test/rds/orders").resolve()
    assert env.components["rds-orders"].depends_on == ("network",)
    assert env.vars == {"CLUSTER_NAME": "test", "ENABLED": "true", "SIZE": "3"}
    assert env.sleep.autoscaling is False and env.state.lock_ttl == 120 and env.schedule is not None
    assert env.schedule.down_after == 12 * 3600 and env.aws.profile == "infra-test"
    assert env.tags_for("network") == {"envctl:env": "test", "envctl:component": "network", "project": "intercept"}
    with pytest.raises(AttributeError):
        env.components["cluster"].timeout = 1  # type: ignore[misc]


def test_explicit_script_keys_win_over_discovery(tmp_path):
    from envctl.config.load import load_environment

    text = _replace(GOOD, "  network: {}", "  network: {install: setup.sh, delete: teardown.sh}")
    project(tmp_path, text)
    env_dir = tmp_path / "environments/demo/network"
    write_script(env_dir / "setup.sh", "true")
    write_script(env_dir / "teardown.sh", "true")
    write_script(env_dir / "create-other.sh", "true")  # a second install by name: the explicit key decides
    env = load_environment(tmp_path, "demo")
    assert env.components["network"].scripts.install.name == "setup.sh"
    assert env.components["network"].scripts.delete.name == "teardown.sh"


@pytest.mark.parametrize(("text", "seconds"), [("45s", 45), ("30m", 1800), ("12h", 43200), ("2d", 172800),
                                               (90, 90), ("1.5m", 90)])
def test_durations(text, seconds):
    from envctl.config.durations import parse_duration

    assert parse_duration(text) == seconds


def test_a_component_folder_linked_from_elsewhere_in_the_project_loads_as_its_target(tmp_path):
    from envctl.config.load import load_environment

    root = project(tmp_path, GOOD)
    env_dir = root / "environments/demo"
    shared = root / "shared/cluster"
    shared.parent.mkdir()
    (env_dir / "cluster").rename(shared)
    (env_dir / "cluster").symlink_to(shared)
    env = load_environment(root, "demo")
    assert env.components["cluster"].dir == shared.resolve()
    assert env.components["cluster"].scripts.install == shared.resolve() / "install-x.sh"
    assert env.components["network"].dir == (env_dir / "network").resolve()


def test_a_component_folder_linked_to_outside_the_project_is_refused(tmp_path):
    root = project(tmp_path / "project", GOOD)
    outside = tmp_path / "elsewhere"
    (root / "environments/demo/cluster").rename(outside)
    (root / "environments/demo/cluster").symlink_to(outside)
    res = run_cli("up", "demo", root=root)
    assert res.exit_code == 2, res.output
    assert "components.cluster" in res.stderr and "'cluster' points outside the project root" in res.stderr
    assert not (root / "ran").exists() and not (outside / "ran").exists()
