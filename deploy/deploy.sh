#!/usr/bin/env bash
# One-command deploy of rowcache to AWS (see docs/deploy.md).
#
#   deploy/deploy.sh [options] [-- Key=Value ...]
#
#   -s, --stack NAME        stack name (env ROWCACHE_STACK; default rowcache)
#   -r, --region REGION     AWS Region (env AWS_REGION / AWS_DEFAULT_REGION; default us-east-1)
#   -b, --code-bucket NAME  bucket for the Lambda package and the packaged template
#                           (env ROWCACHE_CODE_BUCKET; default rowcache-code-ACCOUNT-REGION,
#                           created if missing, private and encrypted)
#   -z, --zip FILE          Lambda package (env ROWCACHE_ZIP;
#                           default build-lambda/lambda/rowcache-lambda.zip)
#       --cache-mode MODE   CacheMode: single-shard, cluster or serverless (default: keep
#                           the stack's value, or single-shard; see docs/deploy.md)
#       --cache-tls true|false   CacheTransitEncryption (default: keep the stack's value, or
#                           true; false also turns off the cache's AUTH token)
#   -h, --help
#   Anything after "--" is passed on as template parameters, e.g.
#       -- DbInstanceClass=db.t3.medium CacheTtl=600
#
# Steps: check the package, upload it under a content-addressed key (a new
# build is a new key, so CloudFormation updates the function's code), run
# `aws cloudformation deploy`, print the stack's outputs. Needs AWS CLI v2 and
# credentials allowed to create the stack's resources (IAM roles included).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
template=$root/deploy/template.yaml
stack=${ROWCACHE_STACK:-rowcache}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
code_bucket=${ROWCACHE_CODE_BUCKET:-}
zip=${ROWCACHE_ZIP:-$root/build-lambda/lambda/rowcache-lambda.zip}
cache_mode=
cache_tls=
overrides=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    -s | --stack) need_arg "$@"; stack=$2; shift 2 ;;
    -r | --region) need_arg "$@"; region=$2; shift 2 ;;
    -b | --code-bucket) need_arg "$@"; code_bucket=$2; shift 2 ;;
    -z | --zip) need_arg "$@"; zip=$2; shift 2 ;;
    --cache-mode)
      need_arg "$@"
      [[ $2 =~ ^(single-shard|cluster|serverless)$ ]] || die "--cache-mode takes single-shard, cluster or serverless"
      cache_mode=$2; shift 2 ;;
    --cache-tls)
      need_arg "$@"
      [[ $2 == true || $2 == false ]] || die "--cache-tls takes true or false"
      cache_tls=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; overrides+=("$@"); break ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

command -v aws >/dev/null || die "the AWS CLI v2 is not installed (https://docs.aws.amazon.com/cli/)"
[[ -f $template ]] || die "no template at $template"
[[ -f $zip ]] || die "no Lambda package at $zip; build it with:
  cmake -S . -B build-lambda -DROWCACHE_STATIC=ON && cmake --build build-lambda --target lambda-package"

# The custom runtime starts the file "bootstrap" at the root of the zip; it must be executable.
if command -v zipinfo >/dev/null; then
  perms=$({ zipinfo "$zip" bootstrap 2>/dev/null || true; } | awk '$NF == "bootstrap" {print $1}')
  [[ -n $perms ]] || die "$zip has no bootstrap at its root"
  [[ $perms == -??x* ]] || die "bootstrap in $zip is not executable ($perms)"
else
  printf 'deploy.sh: zipinfo not installed; not checking %s for an executable bootstrap\n' "$zip" >&2
fi

export AWS_REGION=$region AWS_DEFAULT_REGION=$region AWS_PAGER=""
account=$(aws sts get-caller-identity --query Account --output text) ||
  die "no usable AWS credentials (aws configure, or AWS_PROFILE / AWS_ACCESS_KEY_ID ...)"
code_bucket=${code_bucket:-rowcache-code-$account-$region}

# ------------------------------------------------------------ code bucket
if ! aws s3api head-bucket --bucket "$code_bucket" >/dev/null 2>&1; then
  printf 'creating code bucket s3://%s\n' "$code_bucket"
  if [[ $region == us-east-1 ]]; then
    aws s3api create-bucket --bucket "$code_bucket" >/dev/null
  else
    aws s3api create-bucket --bucket "$code_bucket" \
      --create-bucket-configuration "LocationConstraint=$region" >/dev/null
  fi
  aws s3api put-public-access-block --bucket "$code_bucket" --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  aws s3api put-bucket-encryption --bucket "$code_bucket" --server-side-encryption-configuration \
    '{"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}'
fi

# ---------------------------------------------------------------- package
if command -v sha256sum >/dev/null; then
  digest=$(sha256sum "$zip" | cut -c1-16)
else
  digest=$(shasum -a 256 "$zip" | cut -c1-16) # macOS
fi
code_key=rowcache/rowcache-lambda-$digest.zip
if aws s3api head-object --bucket "$code_bucket" --key "$code_key" >/dev/null 2>&1; then
  printf 'package already uploaded: s3://%s/%s\n' "$code_bucket" "$code_key"
else
  aws s3 cp --only-show-errors "$zip" "s3://$code_bucket/$code_key"
  printf 'uploaded %s -> s3://%s/%s\n' "$zip" "$code_bucket" "$code_key"
fi

# ------------------------------------------------------------------ stack
params=("CodeBucket=$code_bucket" "CodeKey=$code_key")
[[ -n $cache_mode ]] && params+=("CacheMode=$cache_mode")
[[ -n $cache_tls ]] && params+=("CacheTransitEncryption=$cache_tls")
params+=(${overrides[@]+"${overrides[@]}"})

printf 'deploying stack %s in %s (the first deploy takes about 20 minutes: Aurora and ElastiCache)\n' "$stack" "$region"
aws cloudformation deploy \
  --stack-name "$stack" \
  --template-file "$template" \
  --s3-bucket "$code_bucket" \
  --s3-prefix rowcache/templates \
  --capabilities CAPABILITY_IAM \
  --no-fail-on-empty-changeset \
  --tags project=rowcache \
  --parameter-overrides "${params[@]}"

aws cloudformation describe-stacks --stack-name "$stack" \
  --query 'Stacks[0].Outputs[].[OutputKey, OutputValue]' --output table

api_url=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text)
cat <<EOF

Next: load the data (deploy/load.sh --stack $stack), then
  curl -s -X POST '$api_url' -H 'Content-Type: application/json' \\
       -d '{"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2, 3]}'
EOF
