#!/usr/bin/env bash
# rds-orders: deletes the instance (no final snapshot: this is an ephemeral environment), then what it used:
# the DB subnet group, its security group (found by tags) and the secret holding its credentials.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../../lib/common.sh"
. "$(dirname "${BASH_SOURCE[0]}")/names.sh"

if exists aws rds describe-db-instances --db-instance-identifier "$DB_NAME"; then
  aws rds delete-db-instance --db-instance-identifier "$DB_NAME" --skip-final-snapshot --delete-automated-backups \
    >/dev/null
  aws rds wait db-instance-deleted --db-instance-identifier "$DB_NAME"
  log "deleted DB instance $DB_NAME"
fi

if exists aws rds describe-db-subnet-groups --db-subnet-group-name "$DB_NAME"; then
  aws rds delete-db-subnet-group --db-subnet-group-name "$DB_NAME"
  log "deleted DB subnet group $DB_NAME"
fi

for sg_id in $(aws ec2 describe-security-groups --filters "${OWN_FILTERS[@]}" \
  --query 'SecurityGroups[].GroupId' --output text); do
  aws ec2 delete-security-group --group-id "$sg_id"
  log "deleted security group $sg_id"
done

if exists aws secretsmanager describe-secret --secret-id "$SECRET_NAME"; then
  aws secretsmanager delete-secret --secret-id "$SECRET_NAME" --force-delete-without-recovery >/dev/null
  log "deleted secret $SECRET_NAME"
fi
