#!/usr/bin/env bash
# iam: publishes the orders policy document from iam.sh as the policy's new default version, when it differs.
# IAM keeps at most five versions: the oldest non-default one is deleted first when needed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iam.sh"

read -r default_version <<<"$(aws iam get-policy --policy-arn "$ORDERS_POLICY_ARN" \
  --query Policy.DefaultVersionId --output text)"
current=$(aws iam get-policy-version --policy-arn "$ORDERS_POLICY_ARN" --version-id "$default_version" \
  --query PolicyVersion.Document --output json)
wanted=$(orders_policy)
# Compare without whitespace: IAM hands the document back re-serialised.
if [ "$(printf '%s' "$current" | tr -d ' \n\t')" = "$(printf '%s' "$wanted" | tr -d ' \n\t')" ]; then
  log "policy $ORDERS_POLICY_NAME is up to date ($default_version)"
  exit 0
fi
old_versions=$(aws iam list-policy-versions --policy-arn "$ORDERS_POLICY_ARN" \
  --query 'Versions[?!IsDefaultVersion].VersionId' --output text)
if [ "$(printf '%s' "$old_versions" | wc -w)" -ge 4 ]; then
  oldest=$(printf '%s' "$old_versions" | tr -s '[:blank:]' '\n' | sort -t v -k 2 -n | head -n 1)
  aws iam delete-policy-version --policy-arn "$ORDERS_POLICY_ARN" --version-id "$oldest"
fi
aws iam create-policy-version --policy-arn "$ORDERS_POLICY_ARN" --policy-document "$wanted" --set-as-default \
  >/dev/null
log "published a new version of $ORDERS_POLICY_NAME"
