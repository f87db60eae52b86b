# shellcheck shell=bash
# Shared by the component scripts of every environment: source it, do not run it.
#   . "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"
# Needs the variables envctl gives every script (ENVCTL_ENV, ENVCTL_COMPONENT, ENVCTL_TAGS_JSON, AWS_REGION).

# log MESSAGE...: one line on stderr (kept in the run's log; stdout may be a captured value).
log() { printf '[%s] %s\n' "$ENVCTL_COMPONENT" "$*" >&2; }

# output KEY VALUE: pass a value on to dependents (they get it as <COMPONENT>_<KEY>).
output() { printf '%s=%s\n' "$1" "$2" >>"$ENVCTL_OUTPUT"; }

# tags_json [KEY=VALUE...]: the environment's tags as a JSON list, plus extra ones (Name, kubernetes.io/...).
tags_json() {
  local inner="${ENVCTL_TAGS_JSON#[}" extra="" kv
  inner="${inner%]}"
  for kv in "$@"; do extra+="{\"Key\":\"${kv%%=*}\",\"Value\":\"${kv#*=}\"},"; done
  printf '[%s%s]' "$extra" "$inner"
}

# ec2_tags TYPE [KEY=VALUE...]: a --tag-specifications value for one EC2 resource type.
ec2_tags() {
  local type="$1"
  shift
  printf '[{"ResourceType":"%s","Tags":%s}]' "$type" "$(tags_json "$@")"
}

# The EC2 filters that select this component's resources in this environment: --filters "${OWN_FILTERS[@]}".
# shellcheck disable=SC2034 # used by the scripts that source this file
OWN_FILTERS=("Name=tag:envctl:env,Values=$ENVCTL_ENV" "Name=tag:envctl:component,Values=$ENVCTL_COMPONENT")

# lookup VAR COMMAND...: runs a describe/get call and puts its output in VAR: true if the resource exists,
# false if AWS says it does not. Any other error (throttling, access denied, a typo) stops the script instead
# of being taken for "missing".
lookup() {
  local _var="$1" _out _err _errfile
  shift
  _errfile=$(mktemp)
  if _out=$("$@" 2>"$_errfile"); then
    rm -f "$_errfile"
    printf -v "$_var" '%s' "$_out"
    return 0
  fi
  _err=$(cat "$_errfile")
  rm -f "$_errfile"
  case "$_err" in
    *NoSuchEntity* | *NotFound* | *"not found"* | *"does not exist"*) return 1 ;;
  esac
  printf '%s\n' "$_err" >&2
  exit 1
}

# exists COMMAND...: lookup, for when only the answer matters.
exists() {
  local _ignored
  lookup _ignored "$@"
}
