"""A secret a script masks (``::add-mask::``) and hands on as an output: its dependents receive it, nothing shows
it (status, history, their JSON, the logs), and the state that keeps it is readable by its owner only."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import boto3
import pytest

from tests.conftest import make_env, run_cli, run_cli_process

pytestmark = pytest.mark.sandbox

SECRET = "Zq7-orders-db-pw-5521"
DSN = f"postgres://app:{SECRET}@orders.internal:5432/orders"

ENV_YAML = """
name: test
region: us-east-1
aws: {{target: account, account_id: "123456789012"}}
vars: {{SEEN: {seen}}}
{state}
components:
  database: {{}}
  app:
    depends_on: [database]
"""

DATABASE = f"""
password={SECRET}
echo "::add-mask::$password"
echo "created the database, password $password"
echo "DSN=postgres://app:$password@orders.internal:5432/orders" >> "$ENVCTL_OUTPUT"
echo "HOST=orders.internal" >> "$ENVCTL_OUTPUT"
"""

# the dependent writes what it received to a file (the test reads the real value there) and prints it
APP = """
printf '%s\\n' "$DATABASE_DSN" >> "$SEEN"
echo "app connects with $DATABASE_DSN"
"""


def project(root: Path, seen: Path, state: str = "") -> Path:
    return make_env(root, "test", ENV_YAML.format(seen=seen, state=state), {
        "database": {"install-database.sh": DATABASE, "delete-database.sh": "echo dropped\n"},
        "app": {"install-app.sh": APP, "delete-app.sh": "echo gone\n"},
    })


def assert_hidden(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text


def test_a_masked_output_reaches_dependents_and_no_renderer(tmp_path: Path, aws: str) -> None:
    seen = tmp_path / "seen"
    project(tmp_path, seen)
    up = run_cli("up", "test", root=tmp_path)
    assert up.exit_code == 0, up.output
    assert seen.read_text().splitlines() == [DSN]  # the dependent got the real value

    status = run_cli("status", "test", root=tmp_path)
    assert status.exit_code == 0, status.output
    assert "DSN=***" in status.stdout and "HOST=orders.internal" in status.stdout
    as_json = run_cli("status", "test", "--json", root=tmp_path)
    database = next(c for c in json.loads(as_json.stdout)["components"] if c["name"] == "database")
    assert database["outputs"] == {"DSN": "***", "HOST": "orders.internal"}
    assert database["masked_outputs"] == ["DSN"]
    history = run_cli("history", "test", root=tmp_path)
    history_json = run_cli("history", "test", "--json", root=tmp_path)
    assert history.exit_code == history_json.exit_code == 0
    assert [run["result"] for run in json.loads(history_json.stdout)] == ["ok"]
    assert_hidden(up.output, status.output, as_json.output, history.output, history_json.output)

    # kept for dependents, but only its owner can read it
    base = tmp_path / ".envctl"
    state_file = base / "state" / "test.json"
    assert SECRET in state_file.read_text()
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    for path in (state_file, base / "history" / "test.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    logs = list((base / "runs").glob("*/*.log"))
    assert len(logs) == 2
    assert_hidden(*(log.read_text() for log in logs))


def test_a_later_run_in_a_new_process_hands_it_on_and_masks_it(tmp_path: Path, aws: str) -> None:
    seen = tmp_path / "seen"
    project(tmp_path, seen)
    assert run_cli("up", "test", root=tmp_path).exit_code == 0
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_ENDPOINT_URL": aws,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    # the dependent again, the database not: only the state tells this process what to mask
    assert run_cli_process("down", "test", "--only", "app", "--yes", "--no-verify", root=tmp_path,
                           env=env).returncode == 0
    again = run_cli_process("up", "test", root=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert seen.read_text().splitlines() == [DSN, DSN]
    last = sorted((tmp_path / ".envctl" / "runs").iterdir())[-1]
    assert [p.name for p in last.glob("*.log")] == ["app.install.log"]
    app_log = (last / "app.install.log").read_text()
    assert "app connects with ***" in app_log
    assert_hidden(again.stdout, again.stderr, app_log)

    down = run_cli("down", "test", "--yes", "--no-verify", root=tmp_path)
    assert down.exit_code == 0, down.output
    state = json.loads((tmp_path / ".envctl" / "state" / "test.json").read_text())
    # what verify keeps of a deleted component is its names, never its secrets
    assert state["components"]["database"]["deleted_outputs"] == {"HOST": "orders.internal"}
    assert SECRET not in json.dumps(state)


def test_team_state_is_encrypted_in_s3_and_masked_for_the_other_laptop(tmp_path: Path, aws: str) -> None:
    s3_state = ("state: {backend: s3, bucket: acme-envctl-state, prefix: envctl/, region: us-east-1, "
                "lock_table: envctl-locks}")
    seen = tmp_path / "seen"
    a, b = tmp_path / "a", tmp_path / "b"
    project(a, seen, s3_state)
    project(b, seen, s3_state)
    assert run_cli("state", "init", "test", root=a).exit_code == 0
    assert run_cli("up", "test", root=a).exit_code == 0

    s3 = boto3.client("s3", region_name="us-east-1")
    rules = s3.get_bucket_encryption(Bucket="acme-envctl-state")["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="acme-envctl-state")["Contents"]]
    assert "envctl/test/state.json" in keys and any("/history/" in k for k in keys)
    for key in keys:
        assert s3.head_object(Bucket="acme-envctl-state", Key=key)["ServerSideEncryption"] == "AES256", key

    other = run_cli("status", "test", "--json", root=b)
    assert other.exit_code == 0, other.output
    assert '"DSN": "***"' in other.stdout
    assert_hidden(other.output, run_cli("history", "test", "--json", root=b).output)
