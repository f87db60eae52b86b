# shellcheck shell=bash
# Names shared by the rds-orders scripts (sourced, not run).
DB_NAME="$ENVCTL_ENV-orders"
DB_MASTER_USER=orders_admin
SECRET_NAME="$ENVCTL_ENV/orders/db-master"
