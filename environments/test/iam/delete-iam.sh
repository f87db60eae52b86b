#!/usr/bin/env bash
# iam: deletes the three roles and the custom policy. Policies are detached first (AWS refuses to delete a role
# with attached policies), and the policy's older versions go before the policy itself.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iam.sh"

iam_inventory | while IFS=$'\t' read -r kind name extra; do
  case "$kind" in
    role)
      for policy_arn in $extra; do
        aws iam detach-role-policy --role-name "$name" --policy-arn "$policy_arn"
      done
      aws iam delete-role --role-name "$name"
      log "deleted role $name"
      ;;
    policy)
      for version in $extra; do
        aws iam delete-policy-version --policy-arn "$name" --version-id "$version"
      done
      # Deleted last (the rows come roles first): a policy deleted while attached leaves its roles undeletable.
      aws iam delete-policy --policy-arn "$name"
      log "deleted policy $name"
      ;;
  esac
done
