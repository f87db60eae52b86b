#!/usr/bin/env bash
# install-__COMPONENT__.sh: creates component '__COMPONENT__' of an envctl environment.
#
# envctl runs this from its component folder with ENVCTL_ENV, ENVCTL_COMPONENT, AWS_REGION, the tags to put on
# every resource (ENVCTL_TAGS_JSON, ENVCTL_TAGS_CLI, ENVCTL_TAGS_KV) and the outputs of the components it
# depends on (<COMPONENT>_<KEY>, e.g. NETWORK_VPC_ID). It must be safe to run again: look up, then create.
# Replace the example resource (a CloudWatch log group) with what this component really needs; keep
# delete-__COMPONENT__.sh in step with it.
set -euo pipefail

name="/envctl/${ENVCTL_ENV}/${ENVCTL_COMPONENT}"

existing="$(aws logs describe-log-groups --log-group-name-prefix "$name" \
  --query "logGroups[?logGroupName=='${name}'].logGroupName" --output text)"
if [[ -z "$existing" || "$existing" == "None" ]]; then
  aws logs create-log-group --log-group-name "$name" --tags "$ENVCTL_TAGS_KV"
  echo "created log group $name"
else
  echo "log group $name already exists"
fi

# Outputs: KEY=VALUE lines, kept by envctl and given to dependents as __PREFIX___<KEY>.
echo "LOG_GROUP=${name}" >> "$ENVCTL_OUTPUT"
