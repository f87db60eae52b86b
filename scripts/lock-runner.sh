#!/usr/bin/env bash
# Write requirements-runner.txt: every package a scheduled GitHub job (envctl schedule --github) installs,
# envctl's dependencies and what builds envctl, each pinned to one version with the hashes of its files. The
# job installs with --require-hashes, so it gets exactly these files or fails: never a release published
# since, by whoever can publish it, running with the environment's AWS role.
#
# The versions are the ones installed in the virtualenv this runs in (where the tests ran), resolved for the
# job's Python and runner. Run it there after a change to the dependencies in pyproject.toml, then review the
# diff like any script.
# Usage: scripts/lock-runner.sh   (in the project's virtualenv)
set -euo pipefail

UV_VERSION=0.9.5               # the resolver, pinned like everything else
PLATFORM=x86_64-manylinux_2_39 # the job's runner, envctl.schedule.github.RUNNER (ubuntu-24.04)

top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$top"
python_version=$(python -c 'from envctl.schedule.github import PYTHON; print(PYTHON)') # the job's Python
python -m venv "$work/uv"
"$work/uv/bin/python" -m pip install --quiet "uv==$UV_VERSION"
python -m pip freeze --exclude-editable >"$work/tested.txt"
python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
  >"$work/build.in"
cp pyproject.toml "$work/pyproject.toml" # relative names keep the file's comments free of temp paths
cd "$work"
"$work/uv/bin/uv" pip compile pyproject.toml build.in --constraint tested.txt --generate-hashes \
  --python-version "$python_version" --python-platform "$PLATFORM" \
  --custom-compile-command "scripts/lock-runner.sh" --output-file "$top/requirements-runner.txt"
