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
#       --rds-ca FILE       the Amazon RDS CA bundle to add to the package as
#                           rds-global-bundle.pem, against which the function verifies
#                           Aurora's certificate (env ROWCACHE_RDS_CA; default: downloaded
#                           now from https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem)
#       --cache-mode MODE   CacheMode: single-shard, cluster or serverless (default: keep
#                           the stack's value, or single-shard; see docs/deploy.md)
#       --cache-tls true|false   CacheTransitEncryption (default: keep the stack's value, or
#                           true; false also turns off the cache's AUTH token)
#       --api-auth AWS_IAM|API_KEY|NONE   ApiAuth: how callers authenticate (default: keep the
#                           stack's value, or AWS_IAM; NONE opens the API to anyone, e.g. a
#                           grader; see docs/deploy.md)
#   -h, --help
#   Anything after "--" is passed on as template parameters, e.g.
#       -- DbInstanceClass=db.t3.medium CacheTtl=600
#
# Steps: check the package, upload it under a content-addressed key (a new
# build is a new key, so CloudFormation updates the function's code), run
# `aws cloudformation deploy`, and on an existing stack deploy the API's prod
# stage again (CloudFormation does not, and a changed ApiAuth or method only
# takes effect with a new deployment), print the stack's outputs and how to
# call the API. Needs AWS CLI v2 and credentials allowed to create the stack's
# resources (IAM roles included).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
template=$root/deploy/template.yaml
stack=${ROWCACHE_STACK:-rowcache}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
code_bucket=${ROWCACHE_CODE_BUCKET:-}
zip=${ROWCACHE_ZIP:-$root/build-lambda/lambda/rowcache-lambda.zip}
rds_ca=${ROWCACHE_RDS_CA:-}
rds_ca_url=https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
cache_mode=
cache_tls=
api_auth=
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
    --rds-ca) need_arg "$@"; rds_ca=$2; shift 2 ;;
    --cache-mode)
      need_arg "$@"
      [[ $2 =~ ^(single-shard|cluster|serverless)$ ]] || die "--cache-mode takes single-shard, cluster or serverless"
      cache_mode=$2; shift 2 ;;
    --cache-tls)
      need_arg "$@"
      [[ $2 == true || $2 == false ]] || die "--cache-tls takes true or false"
      cache_tls=$2; shift 2 ;;
    --api-auth)
      need_arg "$@"
      [[ $2 =~ ^(AWS_IAM|API_KEY|NONE)$ ]] || die "--api-auth takes AWS_IAM, API_KEY or NONE"
      api_auth=$2; shift 2 ;;
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
command -v zip >/dev/null || die "zip is not installed (Debian: apt-get install -y zip): it adds the RDS CA bundle to the package"

# ---------------------------------------------------------- RDS CA bundle
# The function connects to Aurora with ssl-mode=VERIFY_IDENTITY and
# ssl-ca=/var/task/rds-global-bundle.pem (template.yaml): the bundle goes into
# the package, next to bootstrap. Fetched now, at deploy time, unless given.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/pkg"
bundle=$work/pkg/rds-global-bundle.pem
if [[ -n $rds_ca ]]; then
  [[ -f $rds_ca ]] || die "--rds-ca: no file $rds_ca"
  cp "$rds_ca" "$bundle"
else
  command -v curl >/dev/null || die "curl is not installed: it downloads $rds_ca_url (or give --rds-ca FILE)"
  printf 'downloading the Amazon RDS CA bundle %s\n' "$rds_ca_url"
  curl -fsS --proto =https --tlsv1.2 --retry 2 -o "$bundle" "$rds_ca_url" ||
    die "could not download $rds_ca_url (download it yourself and give --rds-ca FILE)"
fi
grep -q -- '-----BEGIN CERTIFICATE-----' "$bundle" || die "the RDS CA bundle holds no PEM certificate"
printf 'RDS CA bundle: %s certificates\n' "$(grep -c -- '-----BEGIN CERTIFICATE-----' "$bundle")"
# The package: the build's zip plus the bundle, with a fixed timestamp and no
# extra fields, so the same build and bundle give the same bytes (and key).
chmod 644 "$bundle"
TZ=UTC touch -t 198001010000 "$bundle"
cp "$zip" "$work/rowcache-lambda.zip"
(cd "$work/pkg" && TZ=UTC zip -q -X "$work/rowcache-lambda.zip" rds-global-bundle.pem) ||
  die "could not add the RDS CA bundle to the package"
package=$work/rowcache-lambda.zip

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
  digest=$(sha256sum "$package" | cut -c1-16)
else
  digest=$(shasum -a 256 "$package" | cut -c1-16) # macOS
fi
code_key=rowcache/rowcache-lambda-$digest.zip
if aws s3api head-object --bucket "$code_bucket" --key "$code_key" >/dev/null 2>&1; then
  printf 'package already uploaded: s3://%s/%s\n' "$code_bucket" "$code_key"
else
  aws s3 cp --only-show-errors "$package" "s3://$code_bucket/$code_key"
  printf 'uploaded %s + rds-global-bundle.pem -> s3://%s/%s\n' "$zip" "$code_bucket" "$code_key"
fi

# ------------------------------------------------------------------ stack
params=("CodeBucket=$code_bucket" "CodeKey=$code_key")
[[ -n $cache_mode ]] && params+=("CacheMode=$cache_mode")
[[ -n $cache_tls ]] && params+=("CacheTransitEncryption=$cache_tls")
[[ -n $api_auth ]] && params+=("ApiAuth=$api_auth")
params+=(${overrides[@]+"${overrides[@]}"})

existed=0
aws cloudformation describe-stacks --stack-name "$stack" >/dev/null 2>&1 && existed=1
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

output() { # KEY: one of the stack's outputs ("" if it has none)
  local v
  v=$(aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text)
  [[ $v == None ]] && v=
  printf '%s' "$v"
}
rest_api_id=$(output RestApiId)
if ((existed)) && [[ -n $rest_api_id ]]; then
  # The stage serves the deployment it was given; after an update of the method
  # (ApiAuth, templates) only a new deployment serves the new one.
  aws apigateway create-deployment --rest-api-id "$rest_api_id" --stage-name prod \
    --description "deploy/deploy.sh" >/dev/null
  printf 'deployed the API %s to its prod stage again\n' "$rest_api_id"
fi

aws cloudformation describe-stacks --stack-name "$stack" \
  --query 'Stacks[0].Outputs[].[OutputKey, OutputValue]' --output table

api_url=$(output ApiUrl)
body='{"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1, 2, 3]}'
case $(output ApiAuth) in
  NONE)
    call="curl -s -X POST '$api_url' -H 'Content-Type: application/json' -d '$body'" ;;
  API_KEY)
    call="KEY=\$(aws apigateway get-api-key --api-key $(output ApiKeyId) --include-value --query value --output text)
  curl -s -X POST '$api_url' -H \"x-api-key: \$KEY\" -H 'Content-Type: application/json' -d '$body'" ;;
  *)
    call="eval \"\$(aws configure export-credentials --format env)\"   # credentials allowed execute-api:Invoke
  curl -s -X POST '$api_url' --aws-sigv4 'aws:amz:$region:execute-api' \\
       --user \"\$AWS_ACCESS_KEY_ID:\$AWS_SECRET_ACCESS_KEY\" -H \"x-amz-security-token: \${AWS_SESSION_TOKEN:-}\" \\
       -H 'Content-Type: application/json' -d '$body'
  (or: awscurl --service execute-api --region $region -X POST -d '$body' '$api_url')" ;;
esac
cat <<EOF

Next: create the function's database user and load the data (deploy/load.sh --stack $stack;
see docs/deploy.md), then
  $call
EOF
