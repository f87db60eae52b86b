#!/usr/bin/env bash
# nodegroup: deletes the managed nodegroup and waits until it is gone (the cluster cannot go before it).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

nodegroup_name="$CLUSTER_NAME-$NODEGROUP"

# Asked of a cluster that does not exist, some endpoints fail with a server error: check the cluster first.
exists aws eks describe-cluster --name "$CLUSTER_NAME" || exit 0
if exists aws eks describe-nodegroup --cluster-name "$CLUSTER_NAME" --nodegroup-name "$nodegroup_name"; then
  aws eks delete-nodegroup --cluster-name "$CLUSTER_NAME" --nodegroup-name "$nodegroup_name" >/dev/null
  aws eks wait nodegroup-deleted --cluster-name "$CLUSTER_NAME" --nodegroup-name "$nodegroup_name"
  log "deleted nodegroup $nodegroup_name"
fi
