#!/usr/bin/env bash
# cluster: deletes the EKS cluster (its nodegroups are gone first: the nodegroup component depends on this one),
# then the control-plane log group, which EKS creates itself, untagged, and leaves behind.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

if exists aws eks describe-cluster --name "$CLUSTER_NAME"; then
  aws eks delete-cluster --name "$CLUSTER_NAME" >/dev/null
  aws eks wait cluster-deleted --name "$CLUSTER_NAME"
  log "deleted cluster $CLUSTER_NAME"
fi

log_group="/aws/eks/$CLUSTER_NAME/cluster"
if [ -n "$(aws logs describe-log-groups --log-group-name-prefix "$log_group" \
  --query "logGroups[?logGroupName=='$log_group'].logGroupName" --output text)" ]; then
  aws logs delete-log-group --log-group-name "$log_group"
  log "deleted log group $log_group"
fi
