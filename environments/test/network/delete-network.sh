#!/usr/bin/env bash
# network: deletes everything install-network.sh made, found by this component's tags (not by the outputs,
# so it also cleans up after a run that failed half way, and does nothing on an empty account).
# Order matters on AWS: the NAT gateway before its subnet and its Elastic IP, subnets before route tables,
# the internet gateway detached before the VPC.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

vpc_ids=$(aws ec2 describe-vpcs --filters "${OWN_FILTERS[@]}" --query 'Vpcs[].VpcId' --output text)

for vpc_id in $vpc_ids; do
  nat_ids=$(aws ec2 describe-nat-gateways --filter "Name=vpc-id,Values=$vpc_id" Name=state,Values=pending,available \
    --query 'NatGateways[].NatGatewayId' --output text)
  for nat_id in $nat_ids; do
    aws ec2 delete-nat-gateway --nat-gateway-id "$nat_id" >/dev/null
    log "deleting NAT gateway $nat_id"
  done
  # shellcheck disable=SC2086 # a list of ids
  [ -z "$nat_ids" ] || aws ec2 wait nat-gateway-deleted --nat-gateway-ids $nat_ids

  # Every route table but the VPC's main one (that goes with the VPC), its subnet associations first.
  aws ec2 describe-route-tables --filters "Name=vpc-id,Values=$vpc_id" --output text \
    --query "RouteTables[?length(Associations[?Main]) == \`0\`].[RouteTableId, join(' ', Associations[].RouteTableAssociationId)]" |
    while read -r table_id association_ids; do
      [ -n "$table_id" ] || continue
      for association_id in $association_ids; do
        aws ec2 disassociate-route-table --association-id "$association_id"
      done
      aws ec2 delete-route-table --route-table-id "$table_id"
      log "deleted route table $table_id"
    done
  for subnet_id in $(aws ec2 describe-subnets --filters "Name=vpc-id,Values=$vpc_id" \
    --query 'Subnets[].SubnetId' --output text); do
    aws ec2 delete-subnet --subnet-id "$subnet_id"
    log "deleted subnet $subnet_id"
  done
done

# Internet gateways by tag, attached or not (a run may have failed between create and attach).
aws ec2 describe-internet-gateways --filters "${OWN_FILTERS[@]}" \
  --query 'InternetGateways[].[InternetGatewayId, Attachments[0].VpcId]' --output text |
  while read -r igw_id attached_vpc; do
    [ -n "$igw_id" ] || continue
    if [ "$attached_vpc" != None ]; then
      aws ec2 detach-internet-gateway --internet-gateway-id "$igw_id" --vpc-id "$attached_vpc"
    fi
    aws ec2 delete-internet-gateway --internet-gateway-id "$igw_id"
    log "deleted internet gateway $igw_id"
  done

for vpc_id in $vpc_ids; do
  aws ec2 delete-vpc --vpc-id "$vpc_id"
  log "deleted VPC $vpc_id"
done

for allocation_id in $(aws ec2 describe-addresses --filters "${OWN_FILTERS[@]}" \
  --query 'Addresses[].AllocationId' --output text); do
  aws ec2 release-address --allocation-id "$allocation_id"
  log "released Elastic IP $allocation_id"
done
