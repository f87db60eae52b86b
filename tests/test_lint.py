"""lint: every rule of the script-pair contract, with a case that fires and one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from envctl.safety.lint_rules import Finding, lint_script, shellcheck
from tests.conftest import make_env, run_cli

HEAD = "#!/usr/bin/env bash\nset -euo pipefail\n"
REAL_KEY = "AKIA" + "1234567890ABCDEF"           # split so that this file itself is not secret-shaped
REAL_SECRET = "Zx9mQ2vLr8Tn4Wp6Yb1Kd3Hf5Gj7Sc0Ae2Uo4Ii6"


def write(tmp_path: Path, body: str, *, name: str = "install-x.sh", head: str = HEAD,
          mode: int = 0o755) -> Path:
    path = tmp_path / name
    path.write_text(head + body)
    path.chmod(mode)
    return path


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


# rule, body that fires, body that does not
CASES = [
    ("pinned-latest", "docker pull nginx:latest\n", "docker pull nginx:1.27.2\n"),
    ("pinned-latest", 'docker run "${IMAGE}:latest"\n', 'docker run "${IMAGE}:${TAG}"\n'),
    ("pinned-latest", "helm upgrade --install x chart --version latest\n",
     "helm upgrade --install x chart --version 1.2.3\n"),
    ("pinned-latest", "eksctl create cluster --kubernetes-version=latest\n",
     "eksctl create cluster --kubernetes-version=1.31\n"),
    ("pinned-latest", "npm install -g cdk@latest\n", "npm install -g cdk@2.150.0\n"),
    ("pinned-latest", "go install example.com/tool@latest\n", "go install example.com/tool@v1.4.0\n"),
    ("pinned-latest", "K8S_VERSION=latest\n", "LATEST_AMI=ami-0123456789abcdef0  # never :latest here\n"),
    ("pinned-latest", "image=repo/app:latest-alpine\n",
     "aws ssm get-parameter --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64\n"),
    ("aws-access-key", f"export AWS_ACCESS_KEY_ID={REAL_KEY}\n",
     "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"),
    ("aws-access-key", f"# old key: {REAL_KEY}\n", "echo AKIA-is-a-prefix ASIA\n"),
    ("aws-secret-key", f"export AWS_SECRET_ACCESS_KEY={REAL_SECRET}\n",
     "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
    ("aws-secret-key", f"aws configure set aws_secret_access_key {REAL_SECRET}\n",
     'aws configure set aws_secret_access_key "$FROM_VAULT"\n'),
    ("aws-secret-key", f'echo \'{{"SecretAccessKey": "{REAL_SECRET}"}}\'\n',
     "COMMIT=3f786850e387550fdab836ed7e6dc881de3fd80f\n"),
    ("swallowed-failure", "aws ec2 delete-vpc --vpc-id x || true\n",
     'aws ec2 delete-vpc --vpc-id x || { echo "delete failed" >&2; exit 1; }\n'),
    ("swallowed-failure", "rm -f x || :\n", "true  # || true in a comment is fine\n"),
    ("untagged-create", "aws ec2 create-vpc --cidr-block 10.0.0.0/16\n",
     "aws ec2 create-vpc --cidr-block 10.0.0.0/16 \\\n"
     "  --tag-specifications \"[{\\\"ResourceType\\\":\\\"vpc\\\",\\\"Tags\\\":$ENVCTL_TAGS_JSON}]\"\n"),
    ("untagged-create", "aws ec2 run-instances --image-id ami-1 \\\n  --instance-type t3.micro\n",
     'TAGSPEC="$(jq -c \'[{ResourceType:"instance",Tags:.}]\' <<<"$ENVCTL_TAGS_JSON")"\n'
     'aws ec2 run-instances --image-id ami-1 \\\n  --instance-type t3.micro \\\n'
     '  --tag-specifications "$TAGSPEC"\n'),
    ("untagged-create", 'VPC=$(aws ec2 create-vpc --tag-specifications "$TS" --output text)\n',
     'aws logs create-log-group --log-group-name x --tags "$ENVCTL_TAGS_KV"\n'),
    ("untagged-create", "aws s3api create-bucket --bucket b\n",
     "aws s3api create-bucket --bucket b\n"
     'aws s3api put-bucket-tagging --bucket b --tagging "{\\"TagSet\\": $ENVCTL_TAGS_JSON}"\n'),
    ("untagged-create", "aws eks create-cluster --name c --role-arn r\n",
     "aws ec2 create-route --route-table-id r --destination-cidr-block 0.0.0.0/0 --gateway-id g\n"),
    ("untagged-create", "aws rds create-db-instance --db-instance-identifier d\n",
     "aws rds create-db-instance --db-instance-identifier d --tags $ENVCTL_TAGS_CLI\n"),
]


@pytest.mark.parametrize("rule, fires, passes", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_rule_fires_and_does_not(tmp_path: Path, rule: str, fires: str, passes: str) -> None:
    hit = lint_script(write(tmp_path, fires, name="fires.sh"))
    assert rule in rules(hit), hit
    miss = lint_script(write(tmp_path, passes, name="passes.sh"))
    assert rule not in rules(miss), miss


def test_finding_renders_file_line_rule_message(tmp_path: Path) -> None:
    path = write(tmp_path, "echo ok\ndocker pull nginx:latest\n")
    [finding] = lint_script(path)
    assert finding.severity == "error"
    assert finding.render() == f"{path}:4: pinned-latest: 'nginx:latest' is pinned to latest; pin a version"
    assert finding.render(tmp_path) == ("install-x.sh:4: pinned-latest: 'nginx:latest' is pinned to latest; "
                                        "pin a version")


@pytest.mark.parametrize("head, fires", [
    ("#!/usr/bin/env bash\n", True),
    ("#!/bin/bash\nset -eu\n", True),
    ("#!/usr/bin/env bash\nset -euo pipefail\n", False),
    ("#!/bin/bash\nset -Eeuo pipefail\n", False),
    ("#!/bin/bash\nset -e -u -o pipefail\n", False),
    ("#!/bin/bash\nset -o errexit -o nounset -o pipefail\n", False),
    ("#!/bin/bash\n# set -euo pipefail\n", True),
    ("#!/usr/bin/env python3\n", False),  # not a shell script
])
def test_strict_mode(tmp_path: Path, head: str, fires: bool) -> None:
    found = rules(lint_script(write(tmp_path, "echo hi\n", head=head)))
    assert ("no-strict-mode" in found) is fires


def test_missing_not_executable_and_no_shebang(tmp_path: Path) -> None:
    assert rules(lint_script(tmp_path / "install-nothing.sh")) == {"missing-script"}
    plain = write(tmp_path, "echo hi\n", head="set -euo pipefail\n", mode=0o644)
    assert rules(lint_script(plain)) == {"not-executable", "no-shebang"}
    assert all(f.severity == "error" for f in lint_script(plain))
    good = write(tmp_path, "echo hi\n", name="good.sh")
    assert lint_script(good) == []


def test_warnings_can_be_disabled_on_their_line_but_errors_cannot(tmp_path: Path) -> None:
    path = write(tmp_path, "aws ec2 delete-vpc --vpc-id x || true  # envctl-lint: disable=swallowed-failure\n"
                           "docker pull nginx:latest  # envctl-lint: disable=pinned-latest\n")
    assert rules(lint_script(path)) == {"pinned-latest"}


@pytest.mark.needs("shellcheck")
def test_shellcheck_findings_are_warnings(tmp_path: Path) -> None:
    fires = write(tmp_path, 'for f in $(ls); do echo $f; done\n', name="fires.sh")
    found = shellcheck([fires])
    assert found and all(f.severity == "warning" and f.rule.startswith("shellcheck/SC") for f in found)
    assert "shellcheck/SC2045" in rules(found)
    passes = write(tmp_path, 'for f in ./*; do echo "$f"; done\n', name="passes.sh")
    assert shellcheck([passes]) == []


# ---------------------------------------------------------------- environments and the command

ENV_YAML = """
name: {name}
region: us-east-1
aws: {{target: sandbox}}
components:
  network: {{}}
  app:
    depends_on: [network]
"""

CLEAN_PAIR = {"install-{c}.sh": "echo install {c}\n", "delete-{c}.sh": "echo delete {c}\n"}


def pair(component: str, **overrides: str) -> dict[str, str]:
    scripts = {k.format(c=component): v.format(c=component) for k, v in CLEAN_PAIR.items()}
    scripts.update(overrides)
    return scripts


def clean_env(root: Path, name: str = "test") -> Path:
    return make_env(root, name, ENV_YAML.format(name=name), {"network": pair("network"), "app": pair("app")})


def test_lint_clean_environment_exits_0(tmp_path: Path) -> None:
    clean_env(tmp_path)
    result = run_cli("lint", "test", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert "no problems in environment 'test'" in result.stdout


def test_lint_warnings_alone_exit_0(tmp_path: Path) -> None:
    make_env(tmp_path, "test", ENV_YAML.format(name="test"), {
        "network": pair("network", **{"delete-network.sh": "aws ec2 delete-vpc --vpc-id x || true\n"}),
        "app": pair("app")})
    result = run_cli("lint", "test", "--no-shellcheck", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert ("environments/test/network/delete-network.sh:3: swallowed-failure: '|| true' swallows the failure"
            in result.stdout)
    assert "0 error(s), 1 warning(s)" in result.stdout


def test_lint_errors_exit_2_and_name_file_line_rule(tmp_path: Path) -> None:
    clean_env(tmp_path, "good")
    make_env(tmp_path, "bad", ENV_YAML.format(name="bad"), {
        "network": pair("network", **{"install-network.sh": "echo hi\ndocker pull nginx:latest\n"}),
        "app": pair("app")})
    result = run_cli("lint", root=tmp_path)  # every environment
    assert result.exit_code == 2, result.output
    assert "environments/bad/network/install-network.sh:4: pinned-latest: 'nginx:latest'" in result.stdout
    assert "1 error(s), 0 warning(s) in 2 environment(s)" in result.stdout
    assert run_cli("lint", "good", root=tmp_path).exit_code == 0


def test_lint_scans_env_yaml_and_files_beside_the_scripts(tmp_path: Path) -> None:
    env_dir = clean_env(tmp_path)
    env_file = env_dir / "env.yaml"
    env_file.write_text(env_file.read_text() + "vars:\n  IMAGE: nginx:latest\n")
    (env_dir / "app" / "deployment.yaml").write_text(f"env:\n  - name: KEY\n    value: {REAL_KEY}\n")
    result = run_cli("lint", "test", root=tmp_path)
    assert result.exit_code == 2
    assert "environments/test/env.yaml:9: pinned-latest:" in result.stdout
    assert "environments/test/app/deployment.yaml:3: aws-access-key:" in result.stdout


def test_lint_reports_an_incomplete_pair_even_when_env_yaml_is_refused(tmp_path: Path) -> None:
    make_env(tmp_path, "test", ENV_YAML.format(name="test"), {
        "network": {"install-network.sh": "echo hi\n"}, "app": pair("app")})
    (tmp_path / "environments/test/app/install-app.sh").chmod(0o644)
    result = run_cli("lint", "test", root=tmp_path)
    assert result.exit_code == 2, result.output
    assert "environments/test/network:0: incomplete-pair: no delete script (delete-*.sh)" in result.stdout
    assert "environments/test/app/install-app.sh:1: not-executable:" in result.stdout
    assert "environments/test/env.yaml:5: config: components.network: " in result.stdout


def test_lint_of_an_unknown_environment_exits_2(tmp_path: Path) -> None:
    clean_env(tmp_path)
    result = run_cli("lint", "nope", root=tmp_path)
    assert result.exit_code == 2
    assert "nope" in result.stderr


def test_lint_says_when_shellcheck_is_missing(tmp_path: Path) -> None:
    clean_env(tmp_path)
    result = run_cli("lint", "test", root=tmp_path, env={"PATH": str(tmp_path / "empty-bin")})
    assert result.exit_code == 0
    assert "info: shellcheck is not installed; its checks were skipped" in result.stdout


@pytest.mark.needs("shellcheck")
def test_lint_adds_shellcheck_warnings(tmp_path: Path) -> None:
    make_env(tmp_path, "test", ENV_YAML.format(name="test"), {
        "network": pair("network", **{"install-network.sh": "echo $1\n"}), "app": pair("app")})
    result = run_cli("lint", "test", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert "environments/test/network/install-network.sh:3: shellcheck/SC2086:" in result.stdout


def test_up_refuses_on_a_lint_error_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    make_env(tmp_path, "test", ENV_YAML.format(name="test"), {
        "network": pair("network", **{"install-network.sh": f"touch {marker}\n"}),
        "app": pair("app", **{"install-app.sh": f"touch {marker}\nnpm install -g cdk@latest\n"})})
    result = run_cli("up", "test", root=tmp_path)
    assert result.exit_code == 2, result.output
    assert "lint error" in result.stderr
    assert "environments/test/app/install-app.sh:4: pinned-latest:" in result.stderr
    assert not marker.exists()
    assert not (tmp_path / ".envctl" / "runs").exists()


def test_tag_functions_from_a_sourced_library_count_as_tags(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "common.sh").write_text(
        "# sourced, not run\n"
        "tags_json() {\n"
        '  local inner="${ENVCTL_TAGS_JSON#[}"\n'
        "  printf '[%s]' \"${inner%]}\"\n"
        "}\n"
        "ec2_tags() { printf '[{\"ResourceType\":\"%s\",\"Tags\":%s}]' \"$1\" \"$(tags_json)\"; }\n"
        "name_of() { printf 'x-%s' \"$1\"; }\n")
    comp = tmp_path / "network"
    comp.mkdir()
    body = ('. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"\n'
            'vpc=$(aws ec2 create-vpc --cidr-block 10.0.0.0/16 \\\n'
            '  --tag-specifications "$(ec2_tags vpc)" --query Vpc.VpcId --output text)\n'
            'aws ecr create-repository --repository-name r --tags "$(tags_json)"\n'
            'aws ec2 create-subnet --vpc-id "$vpc" --tag-specifications "$(name_of subnet)"\n')
    findings = lint_script(write(comp, body))
    assert [(f.line, f.rule) for f in findings] == [(7, "untagged-create")]


def test_down_is_not_held_back_by_an_error_in_a_script_it_does_not_run(tmp_path, aws):
    from tests.conftest import make_env, run_cli

    make_env(tmp_path, "demo", "name: demo\nregion: us-east-1\ncomponents:\n  app: {}\n",
             {"app": {"install-app.sh": 'echo "image: nginx:latest"\n', "delete-app.sh": 'echo deleted\n'}})
    up = run_cli("up", "demo", root=tmp_path)
    assert up.exit_code == 2 and "pinned-latest" in up.stderr
    down = run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path)
    assert down.exit_code == 0, down.output
    assert "pinned-latest" in down.output and "not in a script this teardown runs" in down.output


def test_down_checks_the_delete_scripts_it_runs_and_what_they_source(tmp_path, aws):
    from tests.conftest import make_env, run_cli

    env_dir = make_env(tmp_path, "demo", "name: demo\nregion: us-east-1\nvars: {IMAGE: 'nginx:latest'}\n"
                       "components:\n  app: {}\n  db: {}\n",
                       {"app": {"install-app.sh": "echo up\n", "delete-app.sh": '. "$(dirname "$0")/lib.sh"\n'},
                        "db": {"install-db.sh": "echo up\n", "delete-db.sh": "echo deleted\n"}})
    (env_dir / "app" / "lib.sh").write_text("helm uninstall app --version latest\n")
    # env.yaml's :latest (only an install would use it) does not hold the teardown back; the library the
    # delete of app sources does, and only for a teardown that runs that delete
    refused = run_cli("down", "demo", "--yes", "--no-verify", root=tmp_path)
    assert refused.exit_code == 2, refused.output
    assert "lib.sh" in refused.stderr and "env.yaml" not in refused.stderr
    only_db = run_cli("down", "demo", "--only", "db", "--yes", "--no-verify", root=tmp_path)
    assert only_db.exit_code == 0, only_db.output
