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
PYTHON_VERSION=3.12            # envctl.schedule.github.PYTHON
PLATFORM=x86_64-manylinux_2_39 # ubuntu-24.04, envctl.schedule.github.RUNNER

top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python -m venv "$work/uv"
"$work/uv/bin/python" -m pip install --quiet "uv==$UV_VERSION"
python -m pip freeze --exclude-editable >"$work/tested.txt"
printf 'setuptools>=68\nwheel\n' >"$work/build.in" # pyproject.toml's [build-system] requires
cp "$top/pyproject.toml" "$work/pyproject.toml"     # relative names keep the file's comments free of temp paths
cd "$work"
"$work/uv/bin/uv" pip compile pyproject.toml build.in --constraint tested.txt --generate-hashes \
  --python-version "$PYTHON_VERSION" --python-platform "$PLATFORM" \
  --custom-compile-command "scripts/lock-runner.sh" --output-file "$top/requirements-runner.txt"
