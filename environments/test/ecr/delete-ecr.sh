#!/usr/bin/env bash
# ecr: deletes the repository with the images in it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

repository="$ENVCTL_ENV/orders"
if exists aws ecr describe-repositories --repository-names "$repository"; then
  aws ecr delete-repository --repository-name "$repository" --force >/dev/null
  log "deleted repository $repository"
fi
