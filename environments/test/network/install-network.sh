#!/usr/bin/env bash
# network: the VPC the environment lives in. Two AZs, each with a public and a private subnet; an internet
# gateway for the public subnets; one NAT gateway (with its Elastic IP) for the private ones, shared by both
# AZs to keep a test environment cheap.
# Idempotent: every piece is looked up by its tags first, so a second run creates nothing.
# Outputs: VPC_ID, VPC_CIDR, PUBLIC_SUBNET_IDS, PRIVATE_SUBNET_IDS, NAT_GATEWAY_ID.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"

: "${VPC_CIDR:?VPC_CIDR is set in env.yaml}"
IFS=, read -r PUBLIC_A_CIDR PUBLIC_B_CIDR <<<"${PUBLIC_SUBNET_CIDRS:?PUBLIC_SUBNET_CIDRS is set in env.yaml}"
IFS=, read -r PRIVATE_A_CIDR PRIVATE_B_CIDR <<<"${PRIVATE_SUBNET_CIDRS:?PRIVATE_SUBNET_CIDRS is set in env.yaml}"

vpc_id=$(aws ec2 describe-vpcs --filters "${OWN_FILTERS[@]}" --query 'Vpcs[0].VpcId' --output text)
new_vpc=""
if [ "$vpc_id" = None ]; then
  vpc_id=$(aws ec2 create-vpc --cidr-block "$VPC_CIDR" --tag-specifications "$(ec2_tags vpc "Name=$ENVCTL_ENV")" \
    --query Vpc.VpcId --output text)
  # EKS nodes register by their private DNS names.
  aws ec2 modify-vpc-attribute --vpc-id "$vpc_id" --enable-dns-hostnames '{"Value":true}'
  log "created VPC $vpc_id ($VPC_CIDR)"
  new_vpc=yes
fi

# The VPC is made first and deleted last: when it is new, nothing else of this component exists, so the
# lookups are skipped (each aws call costs about half a second).
existing_subnets=""
[ -n "$new_vpc" ] || existing_subnets=$(aws ec2 describe-subnets \
  --filters "Name=vpc-id,Values=$vpc_id" "${OWN_FILTERS[@]}" \
  --query "Subnets[].[Tags[?Key=='Name']|[0].Value, SubnetId]" --output text)

# subnet NAME AZ_SUFFIX CIDR ROLE_TAG: the subnet's id, created if missing.
subnet() {
  local id
  id=$(printf '%s\n' "$existing_subnets" | awk -v name="$1" '$1 == name { print $2 }')
  if [ -z "$id" ]; then
    id=$(aws ec2 create-subnet --vpc-id "$vpc_id" --availability-zone "$AWS_REGION$2" --cidr-block "$3" \
      --tag-specifications "$(ec2_tags subnet "Name=$1" "$4")" --query Subnet.SubnetId --output text)
    log "created subnet $1 $id ($3)"
  fi
  printf '%s' "$id"
}
# The kubernetes.io/role tags tell the AWS load balancer controller where to put public and internal ELBs.
public_a=$(subnet "$ENVCTL_ENV-public-a" a "$PUBLIC_A_CIDR" kubernetes.io/role/elb=1)
public_b=$(subnet "$ENVCTL_ENV-public-b" b "$PUBLIC_B_CIDR" kubernetes.io/role/elb=1)
private_a=$(subnet "$ENVCTL_ENV-private-a" a "$PRIVATE_A_CIDR" kubernetes.io/role/internal-elb=1)
private_b=$(subnet "$ENVCTL_ENV-private-b" b "$PRIVATE_B_CIDR" kubernetes.io/role/internal-elb=1)

igw_id=None igw_vpc=None
[ -n "$new_vpc" ] || read -r igw_id igw_vpc _ <<<"$(aws ec2 describe-internet-gateways \
  --filters "${OWN_FILTERS[@]}" --query 'InternetGateways[0].[InternetGatewayId, Attachments[0].VpcId]' \
  --output text) None"
if [ "$igw_id" = None ]; then
  igw_id=$(aws ec2 create-internet-gateway --tag-specifications "$(ec2_tags internet-gateway "Name=$ENVCTL_ENV")" \
    --query InternetGateway.InternetGatewayId --output text)
  log "created internet gateway $igw_id"
fi
if [ "$igw_vpc" != "$vpc_id" ]; then
  aws ec2 attach-internet-gateway --internet-gateway-id "$igw_id" --vpc-id "$vpc_id"
fi

eip_id=None
[ -n "$new_vpc" ] || eip_id=$(aws ec2 describe-addresses --filters "${OWN_FILTERS[@]}" \
  --query 'Addresses[0].AllocationId' --output text)
if [ "$eip_id" = None ]; then
  eip_id=$(aws ec2 allocate-address --domain vpc \
    --tag-specifications "$(ec2_tags elastic-ip "Name=$ENVCTL_ENV-nat")" --query AllocationId --output text)
  log "allocated Elastic IP $eip_id for the NAT gateway"
fi

nat_id=None
[ -n "$new_vpc" ] || nat_id=$(aws ec2 describe-nat-gateways \
  --filter "Name=vpc-id,Values=$vpc_id" Name=state,Values=pending,available "${OWN_FILTERS[@]}" \
  --query 'NatGateways[0].NatGatewayId' --output text)
if [ "$nat_id" = None ]; then
  nat_id=$(aws ec2 create-nat-gateway --subnet-id "$public_a" --allocation-id "$eip_id" \
    --tag-specifications "$(ec2_tags natgateway "Name=$ENVCTL_ENV")" --query NatGateway.NatGatewayId --output text)
  aws ec2 wait nat-gateway-available --nat-gateway-ids "$nat_id"
  log "created NAT gateway $nat_id"
fi

existing_tables=""
[ -n "$new_vpc" ] || existing_tables=$(aws ec2 describe-route-tables \
  --filters "Name=vpc-id,Values=$vpc_id" "${OWN_FILTERS[@]}" \
  --query "RouteTables[].[Tags[?Key=='Name']|[0].Value, RouteTableId,
           length(Routes[?DestinationCidrBlock=='0.0.0.0/0']), join(',', Associations[].SubnetId)]" --output text)

# route_table NAME TARGET_OPTION TARGET_ID SUBNET...: a route table with its default route and associations.
route_table() {
  local name="$1" target_option="$2" target_id="$3" id="" default_routes=0 associated="" subnet_id
  shift 3
  IFS=$'\t' read -r _ id default_routes associated <<<"$(printf '%s\n' "$existing_tables" \
    | awk -F'\t' -v name="$name" '$1 == name')"
  if [ -z "$id" ]; then
    id=$(aws ec2 create-route-table --vpc-id "$vpc_id" --tag-specifications "$(ec2_tags route-table "Name=$name")" \
      --query RouteTable.RouteTableId --output text)
    default_routes=0
    log "created route table $name $id"
  fi
  if [ "${default_routes:-0}" = 0 ]; then
    aws ec2 create-route --route-table-id "$id" --destination-cidr-block 0.0.0.0/0 "$target_option" "$target_id" \
      >/dev/null
  fi
  for subnet_id in "$@"; do
    case ",$associated," in
      *",$subnet_id,"*) ;;
      *) aws ec2 associate-route-table --route-table-id "$id" --subnet-id "$subnet_id" >/dev/null ;;
    esac
  done
}
route_table "$ENVCTL_ENV-public" --gateway-id "$igw_id" "$public_a" "$public_b"
route_table "$ENVCTL_ENV-private" --nat-gateway-id "$nat_id" "$private_a" "$private_b"

output VPC_ID "$vpc_id"
output VPC_CIDR "$VPC_CIDR"
output PUBLIC_SUBNET_IDS "$public_a,$public_b"
output PRIVATE_SUBNET_IDS "$private_a,$private_b"
output NAT_GATEWAY_ID "$nat_id"
log "network ready: $vpc_id"
