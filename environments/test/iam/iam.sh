# shellcheck shell=bash
# Names and documents shared by the iam component's scripts (sourced, not run).

ACCOUNT_ID=$(aws sts get-caller-identity --query Account --output text)
CLUSTER_ROLE_NAME="$CLUSTER_NAME-eks-cluster"
NODE_ROLE_NAME="$CLUSTER_NAME-eks-node"
ORDERS_ROLE_NAME="$ENVCTL_ENV-orders"
ORDERS_POLICY_NAME="$ENVCTL_ENV-orders-read-db-secret"
ORDERS_POLICY_ARN="arn:aws:iam::$ACCOUNT_ID:policy/$ORDERS_POLICY_NAME"

# iam_inventory: one call for what exists of ours, one row each, tab-separated:
#   role <name> <attached policy ARNs, space-separated>
#   policy <arn> <non-default version ids, space-separated>
iam_inventory() {
  aws iam get-account-authorization-details --filter Role LocalManagedPolicy --output text --query "[
    RoleDetailList[?contains(['$CLUSTER_ROLE_NAME', '$NODE_ROLE_NAME', '$ORDERS_ROLE_NAME'], RoleName)]
      .['role', RoleName, join(' ', AttachedManagedPolicies[].PolicyArn)],
    Policies[?Arn == '$ORDERS_POLICY_ARN']
      .['policy', Arn, join(' ', PolicyVersionList[?!IsDefaultVersion].VersionId)]][]"
}

# trust_policy SERVICE: who may assume the role. EKS Pod Identity also needs sts:TagSession.
trust_policy() {
  local actions='"sts:AssumeRole"'
  [ "$1" != pods.eks.amazonaws.com ] || actions='"sts:AssumeRole","sts:TagSession"'
  printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"%s"},"Action":[%s]}]}' \
    "$1" "$actions"
}

# orders_policy: read the orders database secret (rds-orders stores it under <env>/orders/), nothing more.
orders_policy() {
  printf '{"Version":"2012-10-17","Statement":[{"Sid":"ReadOrdersDbSecret","Effect":"Allow",'
  printf '"Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],'
  printf '"Resource":"arn:aws:secretsmanager:%s:%s:secret:%s/orders/*"}]}' "$AWS_REGION" "$ACCOUNT_ID" "$ENVCTL_ENV"
}
