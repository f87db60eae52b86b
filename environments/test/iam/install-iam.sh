#!/usr/bin/env bash
# iam: the roles the cluster and its nodes run as, and the orders service's own role (EKS Pod Identity) with
# a least-privilege policy: read its database secret, nothing else.
# Idempotent: roles and the policy are looked up by name; missing attachments are added, nothing is replaced.
# A change to the policy document goes out with update-iam.sh.
# Outputs: CLUSTER_ROLE_ARN, NODE_ROLE_ARN, ORDERS_ROLE_ARN, ORDERS_POLICY_ARN.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/iam.sh"

inventory=$(iam_inventory)

# role NAME TRUSTED_SERVICE POLICY_ARN...: the role, assumable by the service, with these policies attached.
role() {
  local name="$1" service="$2" row attached policy_arn
  shift 2
  row=$(printf '%s\n' "$inventory" | awk -F'\t' -v name="$name" '$1 == "role" && $2 == name')
  if [ -z "$row" ]; then
    aws iam create-role --role-name "$name" --assume-role-policy-document "$(trust_policy "$service")" \
      --description "$ENVCTL_ENV: assumed by $service" --tags "$(tags_json)" >/dev/null
    log "created role $name"
  fi
  attached=" $(printf '%s' "$row" | cut -f3) "
  for policy_arn in "$@"; do
    case "$attached" in
      *" $policy_arn "*) ;;
      *) aws iam attach-role-policy --role-name "$name" --policy-arn "$policy_arn" ;;
    esac
  done
}

if ! printf '%s\n' "$inventory" | grep -q '^policy'; then
  aws iam create-policy --policy-name "$ORDERS_POLICY_NAME" --policy-document "$(orders_policy)" \
    --description "$ENVCTL_ENV: the orders service reads its database secret" --tags "$(tags_json)" >/dev/null
  log "created policy $ORDERS_POLICY_NAME"
fi

role "$CLUSTER_ROLE_NAME" eks.amazonaws.com arn:aws:iam::aws:policy/AmazonEKSClusterPolicy
role "$NODE_ROLE_NAME" ec2.amazonaws.com \
  arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy \
  arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy \
  arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly
role "$ORDERS_ROLE_NAME" pods.eks.amazonaws.com "$ORDERS_POLICY_ARN"

output CLUSTER_ROLE_ARN "arn:aws:iam::$ACCOUNT_ID:role/$CLUSTER_ROLE_NAME"
output NODE_ROLE_ARN "arn:aws:iam::$ACCOUNT_ID:role/$NODE_ROLE_NAME"
output ORDERS_ROLE_ARN "arn:aws:iam::$ACCOUNT_ID:role/$ORDERS_ROLE_NAME"
output ORDERS_POLICY_ARN "$ORDERS_POLICY_ARN"
