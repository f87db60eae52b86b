#!/usr/bin/env bash
# cluster: the EKS control plane, on the Kubernetes version pinned in env.yaml, in the private and public
# subnets of the network component, with API and audit logs on.
# Idempotent: an existing cluster is left as it is (a version upgrade is a deliberate, separate change).
# Outputs: ARN, ENDPOINT, VERSION (dependents get CLUSTER_ARN, CLUSTER_ENDPOINT, CLUSTER_VERSION).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

: "${KUBERNETES_VERSION:?KUBERNETES_VERSION is pinned in env.yaml}"

describe=(aws eks describe-cluster --name "$CLUSTER_NAME" --query 'cluster.[arn, endpoint, version, status]'
  --output text)

cluster=""
if lookup cluster "${describe[@]}"; then
  read -r arn endpoint version status <<<"$cluster"
  if [ "$version" != "$KUBERNETES_VERSION" ]; then
    log "cluster $CLUSTER_NAME runs Kubernetes $version, env.yaml pins $KUBERNETES_VERSION: upgrade it deliberately"
  fi
else
  aws eks create-cluster --name "$CLUSTER_NAME" --kubernetes-version "$KUBERNETES_VERSION" \
    --role-arn "$IAM_CLUSTER_ROLE_ARN" \
    --resources-vpc-config "subnetIds=$NETWORK_PRIVATE_SUBNET_IDS,$NETWORK_PUBLIC_SUBNET_IDS,endpointPublicAccess=true,endpointPrivateAccess=true" \
    --logging '{"clusterLogging":[{"types":["api","audit","authenticator"],"enabled":true}]}' \
    --tags "$ENVCTL_TAGS_KV" >/dev/null
  log "creating cluster $CLUSTER_NAME (Kubernetes $KUBERNETES_VERSION)"
  status=CREATING
fi
if [ "$status" != ACTIVE ]; then
  aws eks wait cluster-active --name "$CLUSTER_NAME"
  read -r arn endpoint version status <<<"$("${describe[@]}")"
fi

output ARN "$arn"
output ENDPOINT "$endpoint"
output VERSION "$version"
log "cluster $CLUSTER_NAME is $status"
