#!/usr/bin/env bash
# Delete a rowcache stack and what it created (see docs/deploy.md, Teardown).
#
#   deploy/teardown.sh [options]
#
#   -s, --stack NAME      stack name (env ROWCACHE_STACK; default rowcache)
#   -r, --region REGION   AWS Region (env AWS_REGION / AWS_DEFAULT_REGION; default us-east-1)
#   -y, --yes             delete without asking. Without it the script shows what it would
#                         delete and, on a terminal, asks for the stack's name; otherwise
#                         it stops there.
#   -h, --help
#
# Steps: find the stack and its data bucket (the stack's DataBucket resource: a
# bucket the stack created, never one named by hand); empty that bucket (every
# object, and every object version and delete marker if versioning was ever
# turned on: CloudFormation cannot delete a bucket that holds anything);
# delete the stack and wait until it is gone (Aurora, ElastiCache and the
# release of the function's network interfaces take 10 to 40 minutes); if the
# bucket is still there then, empty it again and delete it. A stack that does
# not exist is not an error (nothing to do), so the script can be run again
# after a failure.
#
# Kept, and printed at the end: the Aurora cluster's final snapshot (the
# template's DeletionPolicy: Snapshot) and deploy.sh's code bucket, which other
# stacks of the account and Region may share.
set -euo pipefail

stack=${ROWCACHE_STACK:-rowcache}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
yes=0

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { printf 'teardown.sh: %s\n' "$*" >&2; exit 1; }
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    -s | --stack) need_arg "$@"; stack=$2; shift 2 ;;
    -r | --region) need_arg "$@"; region=$2; shift 2 ;;
    -y | --yes) yes=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

command -v aws >/dev/null || die "the AWS CLI v2 is not installed (https://docs.aws.amazon.com/cli/)"
export AWS_REGION=$region AWS_DEFAULT_REGION=$region AWS_PAGER=""

# ------------------------------------------------------------- the stack
if ! status=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query 'Stacks[0].StackStatus' --output text 2>&1); then
  [[ $status == *"does not exist"* ]] || die "cannot read stack $stack: $status"
  printf 'no stack %s in %s: nothing to delete\n' "$stack" "$region"
  exit 0
fi
case $status in
  DELETE_IN_PROGRESS | *_COMPLETE | *_FAILED) ;;
  *) die "stack $stack is $status; run this again when that has finished" ;;
esac

resource() { # LOGICAL-ID: the physical id of one of the stack's resources, or ""
  local id
  id=$(aws cloudformation describe-stack-resource --stack-name "$stack" --logical-resource-id "$1" \
    --query 'StackResourceDetail.PhysicalResourceId' --output text 2>/dev/null) || id=
  [[ $id == None ]] && id=
  printf '%s' "$id"
}
bucket=$(resource DataBucket)
cluster=$(resource DbCluster)
bucket_exists() { [[ -n $bucket ]] && aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1; }

printf 'stack %s in %s (%s) will be deleted, with everything it created:\n' "$stack" "$region" "$status"
if bucket_exists; then
  printf '  - its data bucket s3://%s, emptied first (CloudFormation deletes only empty buckets)\n' "$bucket"
fi
[[ -n $cluster ]] && printf '  - the Aurora cluster %s: a final snapshot of it is kept\n' "$cluster"
printf '  - the Lambda function, API, ElastiCache cache, VPC, secrets and roles\n'

if ((!yes)); then
  [[ -t 0 ]] || die "not deleted: pass --yes to delete without asking"
  read -r -p "Type the stack name ($stack) to delete it: " answer
  [[ $answer == "$stack" ]] || die "not deleted"
fi

# -------------------------------------------------------- the data bucket
empty_bucket() { # every object, object version and delete marker of $bucket
  local versioning batch
  aws s3 rm "s3://$bucket" --recursive --only-show-errors
  versioning=$(aws s3api get-bucket-versioning --bucket "$bucket" --query Status --output text)
  if [[ $versioning == Enabled || $versioning == Suspended ]]; then
    while :; do
      # shellcheck disable=SC2016 # `true` is a JMESPath literal
      batch=$(aws s3api list-object-versions --bucket "$bucket" --max-items 1000 --output json \
        --query '{Objects: [Versions, DeleteMarkers][].{Key: Key, VersionId: VersionId}, Quiet: `true`}')
      [[ $batch == *'"Key"'* ]] || break
      aws s3api delete-objects --bucket "$bucket" --delete "$batch" >/dev/null
    done
  fi
}
if bucket_exists; then
  printf 'emptying s3://%s\n' "$bucket"
  empty_bucket
fi

# ------------------------------------------------------------- deletion
printf 'deleting stack %s (this takes 10 to 40 minutes)\n' "$stack"
aws cloudformation delete-stack --stack-name "$stack"
if ! aws cloudformation wait stack-delete-complete --stack-name "$stack"; then
  aws cloudformation describe-stack-events --stack-name "$stack" --output text \
    --query "StackEvents[?ResourceStatus=='DELETE_FAILED'].[LogicalResourceId, ResourceStatusReason]" >&2 || true
  die "stack $stack was not deleted (reasons above); fix the cause and run this again"
fi
printf 'stack %s deleted\n' "$stack"

# A bucket CloudFormation did not delete (written to after it was emptied, or
# retained): empty it and delete it here.
if bucket_exists; then
  printf 'the data bucket s3://%s is still there: emptying and deleting it\n' "$bucket"
  empty_bucket
  aws s3api delete-bucket --bucket "$bucket"
fi

# --------------------------------------------------------------- kept
if [[ -n $cluster ]]; then
  snapshots=$(aws rds describe-db-cluster-snapshots --db-cluster-identifier "$cluster" --snapshot-type manual \
    --query 'DBClusterSnapshots[].DBClusterSnapshotIdentifier' --output text 2>/dev/null) || snapshots=
  for snap in $snapshots; do
    [[ $snap == None ]] && continue
    printf 'kept: the final snapshot %s; delete it with\n' "$snap"
    printf '  aws rds delete-db-cluster-snapshot --region %s --db-cluster-snapshot-identifier %s\n' "$region" "$snap"
  done
fi
printf "kept: deploy.sh's code bucket (rowcache-code-ACCOUNT-%s, shared by this account's stacks in %s);\n" \
  "$region" "$region"
printf '  delete it with aws s3 rb s3://rowcache-code-ACCOUNT-%s --force once no stack uses it\n' "$region"
