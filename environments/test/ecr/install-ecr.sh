#!/usr/bin/env bash
# ecr: the orders service's image repository. Tags are immutable (a tag names one image forever), images are
# scanned on push, and untagged images expire after 14 days.
# Idempotent: an existing repository is left as it is.
# Outputs: REPOSITORY_NAME, REPOSITORY_URI.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

repository="$ENVCTL_ENV/orders"
lifecycle='{"rules":[{"rulePriority":1,"description":"expire untagged images after 14 days",
  "selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},
  "action":{"type":"expire"}}]}'

if ! lookup uri aws ecr describe-repositories --repository-names "$repository" \
  --query 'repositories[0].repositoryUri' --output text; then
  uri=$(aws ecr create-repository --repository-name "$repository" --image-tag-mutability IMMUTABLE \
    --image-scanning-configuration scanOnPush=true --encryption-configuration encryptionType=AES256 \
    --tags "$(tags_json)" --query repository.repositoryUri --output text)
  aws ecr put-lifecycle-policy --repository-name "$repository" --lifecycle-policy-text "$lifecycle" >/dev/null
  log "created repository $uri"
fi

output REPOSITORY_NAME "$repository"
output REPOSITORY_URI "$uri"
