"""The account guard: never act in an account the environment is not pinned to; a sandbox stays local."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.aws.guard import check_account
from envctl.config.load import load_environment
from envctl.errors import AccountMismatchError, ExitCode, RefusedError
from tests.conftest import make_env, run_cli

ACCOUNT_ENV = """
name: {name}
region: us-east-1
aws:
  target: account
  account_id: "{account}"
{extra}components:
  network: {{}}
"""


def account_env(root: Path, account: str, *, name: str = "test", extra: str = "") -> Path:
    marker = root / f"{name}-ran"
    return make_env(root, name, ACCOUNT_ENV.format(name=name, account=account, extra=extra), {
        "network": {"install-network.sh": f"touch {marker}\n", "delete-network.sh": "echo bye\n"}})


@pytest.mark.sandbox
def test_a_mismatched_account_is_refused_and_nothing_runs(tmp_path: Path, aws: str) -> None:
    account_env(tmp_path, "111122223333")
    with pytest.raises(AccountMismatchError) as err:
        check_account(load_environment(tmp_path, "test"))
    assert "111122223333" in str(err.value) and "123456789012" in str(err.value)

    result = run_cli("up", "test", root=tmp_path)
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "pinned to AWS account 111122223333" in result.stderr
    assert "belong to account 123456789012" in result.stderr
    assert "the current credentials (no profile)" in result.stderr
    assert not (tmp_path / "test-ran").exists()


@pytest.mark.sandbox
def test_the_right_account_passes(tmp_path: Path, aws: str) -> None:
    account_env(tmp_path, "123456789012")
    check_account(load_environment(tmp_path, "test"))
    result = run_cli("up", "test", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "test-ran").exists()


@pytest.mark.sandbox
def test_the_profile_is_named_in_the_message(tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[profile infra-test]\nregion = us-east-1\n")
    credentials = tmp_path / "aws-credentials"
    credentials.write_text("[infra-test]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    account_env(tmp_path, "111122223333", extra="  profile: infra-test\n")
    with pytest.raises(AccountMismatchError, match="profile 'infra-test'"):
        check_account(load_environment(tmp_path, "test"))


def test_credentials_sts_cannot_check_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    account_env(tmp_path, "111122223333", extra="  profile: no-such-profile\n")
    with pytest.raises(RefusedError, match="cannot tell which AWS account"):
        check_account(load_environment(tmp_path, "test"))


SANDBOX_ENV = """
name: test
region: us-east-1
aws: {target: sandbox}
components:
  network: {}
"""


@pytest.mark.parametrize("endpoint, allowed", [
    ("http://127.0.0.1:5000", True),
    ("http://localhost:4566", True),
    ("http://[::1]:5000", True),
    ("https://ec2.us-east-1.amazonaws.com", False),
    ("https://sts.amazonaws.com", False),
    ("https://ec2.cn-north-1.amazonaws.com.cn", False),
    ("http://10.0.0.12:4566", False),
    (None, False),
])
def test_a_sandbox_environment_only_talks_to_a_local_endpoint(tmp_path: Path, endpoint: str | None,
                                                              allowed: bool) -> None:
    make_env(tmp_path, "test", SANDBOX_ENV, {"network": {"install-n.sh": "", "delete-n.sh": ""}})
    env = load_environment(tmp_path, "test")
    if allowed:
        check_account(env, sandbox_endpoint=endpoint)
    else:
        with pytest.raises(RefusedError, match="refusing to act on environment 'test'"):
            check_account(env, sandbox_endpoint=endpoint)


def test_a_service_specific_endpoint_cannot_lead_a_sandbox_script_to_aws(tmp_path: Path) -> None:
    from envctl.aws.guard import check_sandbox_script_env

    make_env(tmp_path, "test", SANDBOX_ENV, {"network": {"install-n.sh": "", "delete-n.sh": ""}})
    env = load_environment(tmp_path, "test")
    local = {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}
    check_sandbox_script_env(env, local)
    with pytest.raises(RefusedError, match=r"https://s3\.amazonaws\.com is real AWS"):
        check_sandbox_script_env(env, {**local, "AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com"})
