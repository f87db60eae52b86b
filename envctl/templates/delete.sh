#!/usr/bin/env bash
# delete-__COMPONENT__.sh: deletes everything install-__COMPONENT__.sh creates.
#
# It must be safe to run on nothing (envctl runs every delete when it has no state) and safe to run twice:
# look each resource up and delete only what exists. Anything left behind is named by `envctl down`.
set -euo pipefail

name="/envctl/${ENVCTL_ENV}/${ENVCTL_COMPONENT}"

existing="$(aws logs describe-log-groups --log-group-name-prefix "$name" \
  --query "logGroups[?logGroupName=='${name}'].logGroupName" --output text)"
if [[ -n "$existing" && "$existing" != "None" ]]; then
  aws logs delete-log-group --log-group-name "$name"
  echo "deleted log group $name"
else
  echo "log group $name does not exist; nothing to delete"
fi
