"""Secret redaction: what a script prints never reaches a log, the display or history unmasked."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from envctl.run.redact import MASK, Redactor, redact, secret_env_values
from tests.conftest import make_env, run_cli

SECRET_KEY = "Zx9mQ2vLr8Tn4Wp6Yb1Kd3Hf5Gj7Sc0Ae2Uo4Ii6"  # 40 characters, not an example key
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc=="


@pytest.mark.parametrize("line, secret", [
    ("key AKIA1234567890ABCDEF in a line\n", "AKIA1234567890ABCDEF"),
    ("ASIAZZZZYYYYXXXXWWWW", "ASIAZZZZYYYYXXXXWWWW"),
    (f"aws_secret_access_key = {SECRET_KEY}\n", SECRET_KEY),
    (f"export AWS_SECRET_ACCESS_KEY={SECRET_KEY}", SECRET_KEY),
    (f'{{"SecretAccessKey": "{SECRET_KEY}", "Expiration": "x"}}', SECRET_KEY),
    (f"aws_session_token={SESSION_TOKEN}", SESSION_TOKEN),
    (f'"SessionToken": "{SESSION_TOKEN}"', SESSION_TOKEN),
    ("--master-user-password hunter2hunter2 --engine postgres", "hunter2hunter2"),
    ("DB_PASSWORD=correct-horse", "correct-horse"),
])
def test_secret_shapes_are_masked(line: str, secret: str) -> None:
    out = Redactor().feed(line)
    assert secret not in out
    assert MASK in out
    assert out.endswith("\n") == line.endswith("\n")


@pytest.mark.parametrize("line", [
    "created vpc-0abc123 in us-east-1\n",
    "commit 3f786850e387550fdab836ed7e6dc881de3fd80f",   # 40 hex, but no secret-key name
    "AKIA is how access key ids start",
    "secret_key_name=db/orders",
    "LATEST_AMI=ami-0123456789abcdef0",
])
def test_ordinary_lines_are_left_alone(line: str) -> None:
    assert Redactor().feed(line) == line


def test_add_mask_registers_the_value_and_hides_the_declaration() -> None:
    redactor = Redactor()
    assert redactor.feed("::add-mask::s3cr3tv4lue\n") == "::add-mask::***\n"
    assert redactor.feed("the password is s3cr3tv4lue!\n") == "the password is ***!\n"
    # also when the declaration is echoed by `set -x`
    assert redactor.feed("+ echo ::add-mask::other-value") == "+ echo ::add-mask::***"
    assert redactor.feed("other-value and s3cr3tv4lue") == "*** and ***"


def test_longest_secret_wins() -> None:
    redactor = Redactor(["abcdefgh", "abcdefgh-extended"])
    assert redactor.feed("x abcdefgh-extended y") == "x *** y"


def test_known_secrets_from_the_environment() -> None:
    environ = {"DB_PASSWORD": "pa55w0rd-long", "GITHUB_TOKEN": "ghp_abcdefghij", "HOME": "/home/someone",
               "AWS_SECRET_ACCESS_KEY": "testing"}
    values = secret_env_values(environ)
    assert sorted(values) == ["ghp_abcdefghij", "pa55w0rd-long"]  # short dummy values are not masked
    redactor = Redactor(values)
    assert redactor.feed("token ghp_abcdefghij at /home/someone") == "token *** at /home/someone"


def test_redact_whole_text() -> None:
    text = "one\n::add-mask::topsecret\ntwo topsecret\nkey AKIA1234567890ABCDEF\n"
    assert redact(text) == "one\n::add-mask::***\ntwo ***\nkey ***\n"


def test_one_redactor_serves_many_threads() -> None:
    redactor = Redactor()
    outputs: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(100):
            redactor.add_secret(f"secret-{n}-{i:04d}")
            out = redactor.feed(f"line secret-{n}-{i:04d} end")
            with lock:
                outputs.append(out)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outputs) == 400
    assert all(out == "line *** end" for out in outputs)
    assert redactor.secrets_count == 400


# ---------------------------------------------------------------- through a real run

ENV_YAML = """
name: test
region: us-east-1
aws:
  target: account
  account_id: "123456789012"
components:
  network: {}
  app:
    depends_on: [network]
"""


@pytest.mark.sandbox
def test_a_secret_printed_by_a_script_reaches_neither_its_log_nor_history(tmp_path: Path, aws: str) -> None:
    make_env(tmp_path, "test", ENV_YAML, {
        "network": {
            "install-network.sh": """
                echo "::add-mask::s3cr3tv4lue"
                echo "the database password is s3cr3tv4lue"
                prefix=AKIA
                echo "and a key: ${prefix}1234567890ABCDEF"
            """,
            "delete-network.sh": "echo bye\n"},
        # a later step of the same run: the value stays masked there too
        "app": {"install-app.sh": 'echo "app sees s3cr3tv4lue"\n', "delete-app.sh": "echo bye\n"},
    })
    result = run_cli("up", "test", root=tmp_path)
    assert result.exit_code == 0, result.output
    logs = sorted((tmp_path / ".envctl" / "runs").glob("*/*.log"))
    assert [p.name for p in logs] == ["app.install.log", "network.install.log"]
    network = logs[1].read_text()
    assert "the database password is ***" in network
    assert "and a key: ***" in network
    assert "::add-mask::***" in network
    assert "app sees ***" in logs[0].read_text()
    history = run_cli("history", "test", "--json", root=tmp_path)
    assert history.exit_code == 0
    everything = "".join(p.read_text() for p in (tmp_path / ".envctl").rglob("*") if p.is_file())
    for secret in ("s3cr3tv4lue", "AKIA1234567890ABCDEF"):
        assert secret not in everything
        assert secret not in history.output
        assert secret not in result.output


def test_outputs_are_masked_by_the_rules_of_the_log() -> None:
    from envctl.run.redact import Redactor, mask_outputs

    redactor = Redactor()
    redactor.feed("::add-mask::hunter2-orders\n")
    outputs = {"DSN": "postgres://app:hunter2-orders@db/orders", "DB_PASSWORD": "plain-but-named",
               "KEY_ID": "AKIA1234567890ABCDEF", "VPC_ID": "vpc-0abc"}
    masked = redactor.masked_keys(outputs)
    assert masked == ["DB_PASSWORD", "DSN", "KEY_ID"]
    assert mask_outputs(outputs, masked) == {"DSN": "***", "DB_PASSWORD": "***", "KEY_ID": "***",
                                             "VPC_ID": "vpc-0abc"}
