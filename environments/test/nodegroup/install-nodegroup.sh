#!/usr/bin/env bash
# nodegroup: the cluster's managed nodegroup in the private subnets. Instance type, Kubernetes version and AMI
# release are pinned in env.yaml; the scaling config is what envctl sleep scales to zero and wake restores.
# Idempotent: an existing nodegroup is left as it is (its size may be asleep on purpose).
# Outputs: NAME.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

nodegroup_name="$CLUSTER_NAME-$NODEGROUP"

if ! exists aws eks describe-nodegroup --cluster-name "$CLUSTER_NAME" --nodegroup-name "$nodegroup_name"; then
  # shellcheck disable=SC2046 # the subnet list, one word each
  aws eks create-nodegroup --cluster-name "$CLUSTER_NAME" --nodegroup-name "$nodegroup_name" \
    --node-role "$IAM_NODE_ROLE_ARN" --subnets $(printf '%s' "$NETWORK_PRIVATE_SUBNET_IDS" | tr ',' ' ') \
    --kubernetes-version "$KUBERNETES_VERSION" --release-version "$NODE_AMI_RELEASE" \
    --ami-type AL2023_x86_64_STANDARD --capacity-type ON_DEMAND --instance-types "$INSTANCE_TYPE" --disk-size 50 \
    --scaling-config "minSize=$NODES_MIN,desiredSize=$NODES_DESIRED,maxSize=$NODES_MAX" \
    --labels "workload=general" --tags "$ENVCTL_TAGS_KV" >/dev/null
  log "creating nodegroup $nodegroup_name ($INSTANCE_TYPE, $NODES_MIN/$NODES_DESIRED/$NODES_MAX)"
  aws eks wait nodegroup-active --cluster-name "$CLUSTER_NAME" --nodegroup-name "$nodegroup_name"
fi

output NAME "$nodegroup_name"
