"""envctl diff: the promotion review, on environments made of tiny real scripts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import make_env, run_cli, write_script

NET_INSTALL = 'aws ec2 create-vpc --cidr-block 10.0.0.0/16\necho "VPC_ID=vpc-1" >> "$ENVCTL_OUTPUT"\n'
CLUSTER_INSTALL = 'aws eks create-cluster --name "$CLUSTER_NAME" --version 1.30\n'


def two_envs(root: Path) -> None:
    shared = root / "shared" / "dns"
    write_script(shared / "install-dns.sh", "echo dns\n")
    write_script(shared / "delete-dns.sh", "echo no dns\n")
    make_env(root, "test", """
        name: test
        region: us-east-1
        aws: {target: sandbox}
        tags: {project: intercept, stage: test}
        vars: {CLUSTER_NAME: test, DEBUG: "1"}
        components:
          network: {}
          dns: {dir: ../../shared/dns, depends_on: [network]}
          cluster: {depends_on: [network], timeout: 30m, vars: {NODES: "2"}}
          debug-tools: {depends_on: [cluster]}
        """, {
        "network": {"install-network.sh": NET_INSTALL, "delete-network.sh": "aws ec2 delete-vpc\n"},
        "cluster": {"install-cluster.sh": CLUSTER_INSTALL, "delete-cluster.sh": "echo bye\n"},
        "debug-tools": {"install-debug-tools.sh": "echo hi\n", "delete-debug-tools.sh": "echo bye\n"},
    })
    make_env(root, "prod", """
        name: prod
        region: eu-west-1
        aws: {target: account, account_id: "123456789012"}
        tags: {project: intercept, stage: prod, owner: platform}
        vars: {CLUSTER_NAME: prod}
        sleep: {nodegroups: false}
        state: {backend: s3, bucket: intercept-envctl-state, lock_table: envctl-locks}
        components:
          network: {}
          dns: {dir: ../../shared/dns, depends_on: [network]}
          waf: {depends_on: [network]}
          cluster: {depends_on: [network, waf], timeout: 1h, vars: {NODES: "6"}}
        """, {
        # the same network script under another name: same by content
        "network": {"create-network.sh": NET_INSTALL, "delete-network.sh": "aws ec2 delete-vpc\n"},
        "cluster": {"install-cluster.sh": CLUSTER_INSTALL.replace("1.30", "1.29"),
                    "delete-cluster.sh": "echo bye\n", "update-cluster.sh": "echo up\n"},
        "waf": {"install-waf.sh": "echo waf\n", "delete-waf.sh": "echo no waf\n"},
    })


def test_diff_json_names_every_difference(tmp_path: Path) -> None:
    two_envs(tmp_path)
    result = run_cli("diff", "test", "prod", "--json", root=tmp_path)
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert (d["a"], d["b"], d["same"]) == ("test", "prod", False)
    assert d["settings"]["region"] == {"a": "us-east-1", "b": "eu-west-1"}
    assert d["settings"]["aws.target"] == {"a": "sandbox", "b": "account"}
    assert d["settings"]["sleep.nodegroups"] == {"a": True, "b": False}
    assert d["settings"]["state.backend"] == {"a": "local", "b": "s3"}
    assert "sleep.rds" not in d["settings"] and "state.prefix" not in d["settings"]
    assert d["components"] == {"only_a": ["debug-tools"], "only_b": ["waf"],
                               "both": ["network", "dns", "cluster"]}
    assert d["only_depends_on"] == {"debug-tools": ["cluster"], "waf": ["network"]}
    assert d["vars"]["changed"] == {"CLUSTER_NAME": {"a": "test", "b": "prod"}}
    assert d["vars"]["only_a"] == {"DEBUG": "1"}
    assert d["tags"] == {"only_a": {}, "only_b": {"owner": "platform"},
                         "changed": {"stage": {"a": "test", "b": "prod"}}, "same": ["project"]}

    comps = {c["name"]: c for c in d["component_diffs"]}
    assert comps["network"]["same"] and not comps["network"]["same_dir"]
    assert comps["dns"]["same"] and comps["dns"]["same_dir"]
    assert comps["dns"]["dir"] == {"a": "shared/dns", "b": "shared/dns"}
    cluster = comps["cluster"]
    assert not cluster["same"]
    assert cluster["depends_on"] == {"a": ["network"], "b": ["network", "waf"], "same": False}
    assert cluster["timeout"] == {"a": 1800.0, "b": 3600.0}
    assert cluster["vars"]["changed"] == {"NODES": {"a": "2", "b": "6"}}
    scripts = {s["action"]: s for s in cluster["scripts"]}
    assert scripts["delete"]["status"] == "same"
    assert scripts["update"]["status"] == "only_b"
    install = scripts["install"]
    assert install["status"] == "different"
    body = (tmp_path / "environments/test/cluster/install-cluster.sh").read_bytes()
    assert install["a_sha256"] == hashlib.sha256(body).hexdigest()
    assert "-aws eks create-cluster --name \"$CLUSTER_NAME\" --version 1.30" in install["unified"]
    assert "+aws eks create-cluster --name \"$CLUSTER_NAME\" --version 1.29" in install["unified"]
    assert "--- test: environments/test/cluster/install-cluster.sh" in install["unified"]


def test_diff_text_shows_the_review(tmp_path: Path) -> None:
    two_envs(tmp_path)
    result = run_cli("diff", "test", "prod", root=tmp_path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "test → prod" in out
    assert "region             us-east-1 → eu-west-1" in out
    assert "sleep.nodegroups   true → false" in out
    assert "component dns" not in out  # same everywhere: listed as same, not detailed
    assert "only in test       debug-tools (depends on cluster)" in out
    assert "only in prod       waf (depends on network)" in out
    assert "different          cluster" in out
    assert "same               network, dns" in out
    assert "CLUSTER_NAME       test → prod" in out
    assert "owner              platform (only in prod)" in out
    assert "depends_on         [network] → [network, waf]" in out
    assert "update           only in prod" in out
    assert "+aws eks create-cluster --name \"$CLUSTER_NAME\" --version 1.29" in out
    assert "\x1b[" not in out  # no colour codes when not on a terminal


def test_diff_of_an_environment_with_itself_says_same_and_exits_0(tmp_path: Path) -> None:
    two_envs(tmp_path)
    result = run_cli("diff", "prod", "prod", root=tmp_path)
    assert result.exit_code == 0
    assert "prod and prod are the same" in result.stdout
    assert json.loads(run_cli("diff", "prod", "prod", "--json", root=tmp_path).stdout)["same"] is True


def test_diff_of_an_unknown_environment_is_exit_2(tmp_path: Path) -> None:
    two_envs(tmp_path)
    result = run_cli("diff", "test", "staging", root=tmp_path)
    assert result.exit_code == 2
    assert "staging" in result.stderr
    assert "Traceback" not in result.output


EXAMPLES = Path(__file__).resolve().parent.parent


def test_diff_test_prod_on_the_example_environments() -> None:
    """The promotion review of the repository's own examples: prod runs test's scripts at other sizes."""
    result = run_cli("diff", "test", "prod", "--json", root=EXAMPLES)
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["same"] is False
    assert d["settings"]["aws.target"] == {"a": "sandbox", "b": "account"}
    assert d["settings"]["region"]["a"] != d["settings"]["region"]["b"]
    assert d["components"]["only_a"] == [] and d["components"]["only_b"] == []
    for comp in d["component_diffs"]:
        assert comp["same_dir"], comp["name"]  # prod reuses test's reviewed script folders
        assert {s["status"] for s in comp["scripts"]} == {"same"}
    nodegroup = next(c for c in d["component_diffs"] if c["name"] == "nodegroup")
    assert "INSTANCE_TYPE" in nodegroup["vars"]["changed"]

    text = run_cli("diff", "test", "prod", root=EXAMPLES)
    assert text.exit_code == 0
    assert "test → prod" in text.stdout and "component nodegroup" in text.stdout
