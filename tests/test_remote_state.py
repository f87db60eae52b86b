"""Team state on S3 + DynamoDB against the real moto server: two roots share one state, lock and history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from envctl.config.model import StateConfig
from envctl.errors import ExitCode, LockedError, StateError
from envctl.state.admin import init_remote
from envctl.state.backends import backend_for
from envctl.state.model import EnvState, LockHolder
from envctl.state.s3 import S3Backend

REPO = Path(__file__).resolve().parent.parent
BUCKET = "acme-envctl-state"
TABLE = "envctl-locks"

pytestmark = pytest.mark.sandbox


def state_config(**overrides: Any) -> Any:
    fields = {"backend": "s3", "bucket": BUCKET, "prefix": "envctl/", "region": "us-east-1",
              "lock_table": TABLE, "lock_ttl": 2.0, **overrides}
    return StateConfig(**fields)


@pytest.fixture
def remote(aws: str, tmp_path: Path) -> S3Backend:
    backend = S3Backend(tmp_path / "a", state_config())
    init_remote(backend, {"project": "intercept"})
    return backend


def second_root(tmp_path: Path) -> S3Backend:
    return S3Backend(tmp_path / "b", state_config())


HOLDER = """
import sys, time
from pathlib import Path
from envctl.config.model import StateConfig
from envctl.state.s3 import S3Backend
from envctl.state.model import LockHolder
cfg = StateConfig(backend="s3", bucket=sys.argv[1], prefix="envctl/", region="us-east-1",
                      lock_table=sys.argv[2], lock_ttl=float(sys.argv[3]))
backend = S3Backend(Path(sys.argv[4]), cfg)
with backend.lock("test", LockHolder.current("up test")) as warnings:
    print("locked", *warnings, flush=True)
    time.sleep(600)
"""


def start_holder(root: Path, ttl: float = 2.0) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, BUCKET, TABLE, str(ttl), str(root)],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("locked"), line
    return proc


def test_backend_for_picks_s3_for_backend_s3(remote: S3Backend, tmp_path: Path) -> None:
    assert isinstance(backend_for(tmp_path, state_config()), S3Backend)
    from envctl.config.load import load_environment
    from tests.conftest import make_env

    make_env(tmp_path, "test", f"""
        name: test
        region: us-east-1
        aws: {{target: account, account_id: "123456789012"}}
        state: {{backend: s3, bucket: {BUCKET}, lock_table: {TABLE}}}
        components:
          network: {{}}
        """, {"network": {"install-n.sh": "true\n", "delete-n.sh": "true\n"}})
    env = load_environment(tmp_path, "test")
    backend = backend_for(tmp_path, env.state, env=env)  # the environment's own target and region
    backend.save(EnvState(env="test"))
    assert remote.load("test").exists


def test_what_one_root_saves_the_other_loads(remote: S3Backend, tmp_path: Path) -> None:
    state = remote.load("test")
    assert not state.exists
    net = state.component("network")
    net.state, net.outputs, net.scripts = "up", {"VPC_ID": "vpc-123"}, {"install": "ab" * 32}
    remote.save(state)

    seen = second_root(tmp_path).load("test")
    assert seen.exists
    assert seen.components["network"].state == "up"
    assert seen.components["network"].outputs == {"VPC_ID": "vpc-123"}
    assert seen.to_dict() == state.to_dict()
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key="envctl/test/state.json")["Body"].read()
    assert b'"vpc-123"' in body


def test_a_run_whose_lock_was_broken_does_not_overwrite_the_new_holder(remote: S3Backend,
                                                                       tmp_path: Path) -> None:
    with remote.lock("test", LockHolder.current("up test")):
        mine = remote.load("test")
        other = second_root(tmp_path)
        other.break_lock("test")
        with other.lock("test", LockHolder.current("down test")):
            theirs = other.load("test")
            theirs.component("network").state = "delete_failed"
            other.save(theirs)

            mine.component("network").state = "up"
            with pytest.raises(StateError, match="lock of 'test' was broken") as err:
                remote.save(mine)
            assert err.value.exit_code == ExitCode.BAD_INPUT
    assert other.load("test").components["network"].state == "delete_failed"


def test_while_the_lock_is_ours_the_last_write_wins_as_with_local_state(remote: S3Backend,
                                                                        tmp_path: Path) -> None:
    with remote.lock("test", LockHolder.current("up test")):
        mine = remote.load("test")
        helper = S3Backend(tmp_path / "a", state_config())  # e.g. a built-in writing within the same run
        side = helper.load("test")
        side.sleep = {"nodegroups": {"ng": 2}}
        helper.save(side)
        mine.component("network").state = "up"
        remote.save(mine)
        mine.component("cluster").state = "up"
        remote.save(mine)
    seen = second_root(tmp_path).load("test")
    assert sorted(seen.components) == ["cluster", "network"]


def test_the_renewal_notices_a_broken_lock(remote: S3Backend, tmp_path: Path) -> None:
    fast = S3Backend(tmp_path / "a", state_config(lock_ttl=0.6))  # renews every 0.2s
    with fast.lock("test", LockHolder.current("up test")) as warnings:
        state = fast.load("test")
        second_root(tmp_path).break_lock("test")
        deadline = time.monotonic() + 5
        while not warnings and time.monotonic() < deadline:
            time.sleep(0.05)
        assert warnings and "the lock on 'test' was removed while this run held it" in warnings[0]
        with pytest.raises(StateError, match="was broken"):
            fast.save(state)


def test_history_is_shared_and_a_rewritten_run_appears_once(remote: S3Backend, tmp_path: Path) -> None:
    run = {"run_id": "20261121T091500Z-ab12", "command": "up", "env": "test", "user": "ana", "host": "h",
           "started": "2026-11-21T09:15:00.000001+00:00", "ended": None, "result": "running", "steps": []}
    remote.append_run(run)
    remote.append_run({**run, "ended": "2026-11-21T09:16:00.000001+00:00", "result": "ok"})
    later = {**run, "run_id": "20261121T101500Z-cd34", "started": "2026-11-21T10:15:00.000001+00:00",
             "result": "failed"}
    prod = {**run, "run_id": "20261121T093000Z-ef56", "env": "prod",
            "started": "2026-11-21T09:30:00.000001+00:00"}
    other = second_root(tmp_path)
    other.append_run(later)
    other.append_run(prod)

    runs = remote.runs("test")
    assert [r["run_id"] for r in runs] == ["20261121T091500Z-ab12", "20261121T101500Z-cd34"]
    assert runs[0]["result"] == "ok"
    assert [r["run_id"] for r in other.runs()] == ["20261121T091500Z-ab12", "20261121T093000Z-ef56",
                                                    "20261121T101500Z-cd34"]
    assert other.runs("prod")[0]["env"] == "prod"
    assert remote.runs("nothing") == []


def test_a_live_holder_locks_out_another_root_and_keeps_its_lock_past_the_ttl(
        remote: S3Backend, tmp_path: Path) -> None:
    holder = start_holder(tmp_path / "a")
    try:
        other = second_root(tmp_path)
        with pytest.raises(LockedError) as err, other.lock("test", LockHolder.current("up test")):
            pass
        assert err.value.exit_code == ExitCode.LOCKED
        assert f"pid {holder.pid} on " in str(err.value)
        assert "running 'up test'" in str(err.value)
        seen = other.read_lock("test")
        assert seen is not None and seen.pid == holder.pid

        time.sleep(3.5)  # well past lock_ttl (2s): only the holder's renewals keep it
        with pytest.raises(LockedError, match=f"pid {holder.pid} "):
            other.lock("test", LockHolder.current("x")).__enter__()
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_holder_is_taken_over_after_the_ttl(remote: S3Backend,
                                                                     tmp_path: Path) -> None:
    holder = start_holder(tmp_path / "a")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    other = second_root(tmp_path)
    with pytest.raises(LockedError), other.lock("test", LockHolder.current("up test")):
        pass  # not yet: the lock was renewed moments ago

    deadline = time.monotonic() + 10
    while True:
        try:
            with other.lock("test", LockHolder.current("down test")) as warnings:
                assert other.read_lock("test") == other.read_lock("test")
                me = other.read_lock("test")
                assert me is not None and me.pid == os.getpid() and me.command == "down test"
            break
        except LockedError:
            assert time.monotonic() < deadline, "the killed holder's lock never expired"
            time.sleep(0.3)
    assert len(warnings) == 1
    assert "expired lock" in warnings[0] and f"pid {holder.pid} " in warnings[0]
    # released on exit: nobody holds it now, and the next run takes it without a warning
    assert other.read_lock("test") is None
    with remote.lock("test", LockHolder.current("up test")) as quiet:
        assert quiet == []


def test_break_lock_frees_a_live_lock(remote: S3Backend, tmp_path: Path) -> None:
    holder = start_holder(tmp_path / "a", ttl=60)
    try:
        other = second_root(tmp_path)
        assert other.read_lock("test") is not None
        other.break_lock("test")
        assert other.read_lock("test") is None
        with other.lock("test", LockHolder.current("up test")) as warnings:
            assert warnings == []
    finally:
        holder.kill()
        holder.wait()


WRITER = """
import sys
from pathlib import Path
from envctl.config.model import StateConfig
from envctl.state.s3 import S3Backend
cfg = StateConfig(backend="s3", bucket=sys.argv[1], prefix="envctl/", region="us-east-1",
                      lock_table=sys.argv[2], lock_ttl=2.0)
backend = S3Backend(Path("."), cfg)
n = 0
while True:
    state = backend.load("test")
    for i in range(400):
        comp = state.component(f"c{i}")
        comp.state = "up"
        comp.outputs = {"N": str(n), "PAD": "x" * 2000}
    backend.save(state)
    n += 1
    print(n, flush=True)
"""


def test_kill_9_in_the_middle_of_writes_leaves_readable_state(remote: S3Backend, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, BUCKET, TABLE],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for _ in range(3):
        proc.stdout.readline()  # three whole writes done, the fourth (about 1 MB) under way
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    state = second_root(tmp_path).load("test")
    assert state.exists
    assert len(state.components) == 400
    counts = {c.outputs["N"] for c in state.components.values()}
    assert len(counts) == 1  # one whole write, never a mix of two
    assert int(counts.pop()) >= 2


def test_missing_bucket_is_a_state_error_pointing_to_state_init(aws: str, tmp_path: Path) -> None:
    backend = S3Backend(tmp_path, state_config(bucket="no-such-bucket"))
    with pytest.raises(StateError, match="no-such-bucket") as err:
        backend.save(EnvState(env="test"))
    assert "envctl state init" in str(err.value)
    assert err.value.exit_code == ExitCode.BAD_INPUT


def test_missing_lock_table_is_a_state_error_pointing_to_state_init(remote: S3Backend,
                                                                     tmp_path: Path) -> None:
    backend = S3Backend(tmp_path, state_config(lock_table="no-such-table"))
    with pytest.raises(StateError, match="no-such-table") as err:
        backend.lock("test", LockHolder.current("x")).__enter__()
    assert "envctl state init" in str(err.value)


# ---------------------------------------------------------------- state init and migrate (the core)


def test_init_creates_a_private_versioned_encrypted_bucket_and_lock_table(aws: str, tmp_path: Path) -> None:
    backend = S3Backend(tmp_path, state_config())
    first = init_remote(backend, {"project": "intercept", "envctl:env": "test"})
    assert first.bucket_created and first.table_created
    s3, ddb = boto3.client("s3"), boto3.client("dynamodb")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    # shared by every environment naming it: never counted as one environment's leftover
    assert tags == {"project": "intercept", "envctl:purpose": "state"}
    table = ddb.describe_table(TableName=TABLE)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    table_tags = ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert {"Key": "envctl:purpose", "Value": "state"} in table_tags

    again = init_remote(S3Backend(tmp_path, state_config()), {"project": "intercept"})
    assert not again.bucket_created and not again.table_created


def test_init_refuses_a_table_with_another_key(aws: str, tmp_path: Path) -> None:
    boto3.client("dynamodb").create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    with pytest.raises(StateError, match="not a 'LockID' hash key"):
        init_remote(S3Backend(tmp_path, state_config()), {})


def make_local_history(root: Path) -> EnvState:
    from envctl.state.local import LocalBackend

    local = LocalBackend(root)
    state = local.load("test")
    comp = state.component("network")
    comp.state, comp.outputs, comp.since = "up", {"VPC_ID": "vpc-1"}, "2026-11-21T09:15:30.000001+00:00"
    state.up_since = comp.since
    local.save(state)
    run = {"run_id": "20261121T091500Z-ab12", "command": "up", "env": "test", "user": "ana", "host": "h",
           "started": "2026-11-21T09:15:00.000001+00:00", "ended": None, "result": "running",
           "steps": [{"component": "network", "action": "install", "exit_code": 0}]}
    local.append_run(run)
    local.append_run({**run, "ended": "2026-11-21T09:16:00.000001+00:00", "result": "ok"})
    local.append_run({**run, "run_id": "20261121T101500Z-cd34", "started": "2026-11-21T10:15:00.000001+00:00",
                      "command": "sleep", "result": "ok"})
    return local.load("test")


def test_migrate_moves_local_state_and_history_into_s3(remote: S3Backend, tmp_path: Path) -> None:
    from envctl.state.admin import migrate_to_remote
    from envctl.state.local import LocalBackend

    root = tmp_path / "a"
    before = make_local_history(root)
    local_runs = LocalBackend(root).runs("test")

    result = migrate_to_remote(root, "test", remote)
    assert result.state_copied and result.runs_copied == 2
    assert sorted(p.name for p in result.renamed) == ["test.json.migrated", "test.jsonl.migrated"]

    elsewhere = second_root(tmp_path)  # another laptop sees exactly what was local
    assert elsewhere.load("test").to_dict() == before.to_dict()
    assert elsewhere.runs("test") == local_runs
    assert not LocalBackend(root).load("test").exists
    assert LocalBackend(root).runs("test") == []
    assert (root / ".envctl" / "state" / "test.json.migrated").exists()


def test_migrate_refuses_to_replace_remote_state_unless_forced(remote: S3Backend, tmp_path: Path) -> None:
    from envctl.errors import RefusedError, UsageError
    from envctl.state.admin import migrate_to_remote

    theirs = second_root(tmp_path)
    existing = theirs.load("test")
    existing.component("network").state = "asleep"
    theirs.save(existing)
    root = tmp_path / "a"
    make_local_history(root)

    with pytest.raises(RefusedError, match="already holds state") as err:
        migrate_to_remote(root, "test", remote)
    assert "--force" in str(err.value)
    assert theirs.load("test").components["network"].state == "asleep"
    assert (root / ".envctl" / "state" / "test.json").exists()

    migrate_to_remote(root, "test", remote, force=True)
    assert theirs.load("test").components["network"].state == "up"
    with pytest.raises(UsageError, match="nothing to migrate"):
        migrate_to_remote(root, "test", remote)
