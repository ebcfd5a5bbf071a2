#!/usr/bin/env bash
# Load the heroes CSV into the stack's Aurora cluster (see docs/deploy.md).
#
#   deploy/load.sh [options]
#
#   -s, --stack NAME      stack name (env ROWCACHE_STACK; default rowcache)
#   -r, --region REGION   AWS Region (env AWS_REGION / AWS_DEFAULT_REGION; default us-east-1)
#   -f, --csv FILE        CSV of id,hero,power,name,xp,color (default data/mp6input.csv)
#       --key KEY         object key in the data bucket (default: the CSV's file name)
#       --via HOW         print     upload the CSV to the data bucket, then print the statements
#                                   and the command to run on a host that reaches the cluster
#                                   (default)
#                         sql       upload, then with the mysql/mariadb client: the table, the
#                                   function's database user (below), LOAD DATA FROM S3
#                         grants    no upload, no load: only the table and the function's
#                                   database user, with the mysql/mariadb client
#                         rowcache  upload, then `rowcache load` (streams the object through
#                                   the binary; with --aurora-native the cluster reads S3
#                                   itself), then the function's database user (this needs
#                                   the mysql/mariadb client too)
#                         api       POST the rows as "write" requests to the stack's ApiUrl;
#                                   runs anywhere, but only into an empty table (see below)
#       --aurora-native   with --via rowcache: pass --aurora-native to rowcache load
#       --rowcache BIN    the rowcache binary (env ROWCACHE_BIN; default: rowcache on PATH)
#       --replace         overwrite rows whose id exists (default: keep them; re-running adds nothing)
#       --no-upload       the object is already in the bucket
#       --api-url URL     with --via api: the endpoint (default: the stack's ApiUrl output)
#       --api-auth HOW    with --via api: AWS_IAM (requests signed with SigV4, by curl's
#                         --aws-sigv4, with the AWS CLI's credentials), API_KEY (the stack's
#                         key, ApiKeyId, in x-api-key) or NONE (default: the stack's ApiAuth)
#   Values normally read from the stack's outputs; give all of --bucket, --db-host and
#   --secret-arn to skip that (a host in the stack's private subnets has no route to
#   the CloudFormation API):
#       --bucket NAME --db-host HOST --secret-arn ARN [--db-name rowcache] [--db-user admin]
#       [--app-secret-arn ARN] [--cache-url URL] [--cache-secret-arn ARN] [--ignore-lines N]
#       --db-port PORT        database port (default 3306; another one for a tunnel to the cluster)
#   --secret-arn is the master user's secret (DbSecretArn), --app-secret-arn the function's
#   database user's (AppDbSecretArn).
#   -h, --help
#
# The function's database user (least privilege): the function connects as the
# user named in AppDbSecretArn (JSON "username"), never as the master user.
# --via sql, grants and rowcache run, as the master user,
#   CREATE USER IF NOT EXISTS 'USER'@'%' IDENTIFIED WITH mysql_native_password BY '<secret>';
#   ALTER USER 'USER'@'%' IDENTIFIED WITH mysql_native_password BY '<secret>';
#   REVOKE ALL PRIVILEGES, GRANT OPTION FROM 'USER'@'%';
#   GRANT SELECT, INSERT, UPDATE, DELETE ON `DB`.`heroes` TO 'USER'@'%';
# so that the user has exactly those four privileges on that one table and the
# password now in the secret: running it again is harmless, and sets a password
# changed in the secret. Against MariaDB (local tests) the statements say
# "IDENTIFIED BY", which MariaDB takes for mysql_native_password.
#
# --via sql and --via rowcache must run where TCP 3306 of the cluster is
# reachable: a host in one of the stack's private subnets with the stack's
# LambdaSecurityGroupId attached (that group may reach the database, the cache
# and the Secrets Manager endpoint). The password comes from the stack's
# secret (JSON key "password") and is never put on a command line.
#
# --via rowcache also invalidates the loaded ids in the stack's cache
# (CacheUrl). When the cache has a password (the stack's CacheSecretArn, or
# --cache-secret-arn), it is read from that secret and handed to `rowcache
# load` in a mode-600 file (--cache-password-file), as the database's is
# (ROWCACHE_DB_PASSWORD_FILE): neither is on a command line or in the
# environment.
#
# --via api cannot choose ids: the database assigns them in order, so the CSV's
# ids are kept only when the table is empty and they run 1, 2, 3, ... It first
# reads the CSV's ids and stops if any of them exists, and it reports the ids
# the database assigned when they differ from the CSV's.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
stack=${ROWCACHE_STACK:-rowcache}
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
csv=$root/data/mp6input.csv
key=
via=print
aurora_native=0
rowcache_bin=${ROWCACHE_BIN:-rowcache}
replace=0
upload=1
api_url=
api_auth=
bucket=
db_host=
db_port=3306
secret_arn=
app_secret_arn=
db_name=
db_user=
cache_url=
cache_secret_arn=
ignore_lines=

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
die() { printf 'load.sh: %s\n' "$*" >&2; exit 1; }
need_arg() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value"; }

while [[ $# -gt 0 ]]; do
  case $1 in
    -s | --stack) need_arg "$@"; stack=$2; shift 2 ;;
    -r | --region) need_arg "$@"; region=$2; shift 2 ;;
    -f | --csv) need_arg "$@"; csv=$2; shift 2 ;;
    --key) need_arg "$@"; key=$2; shift 2 ;;
    --via)
      need_arg "$@"
      [[ $2 =~ ^(print|sql|grants|rowcache|api)$ ]] || die "--via takes print, sql, grants, rowcache or api"
      via=$2; shift 2 ;;
    --aurora-native) aurora_native=1; shift ;;
    --rowcache) need_arg "$@"; rowcache_bin=$2; shift 2 ;;
    --replace) replace=1; shift ;;
    --no-upload) upload=0; shift ;;
    --api-url) need_arg "$@"; api_url=$2; shift 2 ;;
    --api-auth)
      need_arg "$@"
      [[ $2 =~ ^(AWS_IAM|API_KEY|NONE)$ ]] || die "--api-auth takes AWS_IAM, API_KEY or NONE"
      api_auth=$2; shift 2 ;;
    --bucket) need_arg "$@"; bucket=$2; shift 2 ;;
    --db-host) need_arg "$@"; db_host=$2; shift 2 ;;
    --db-port)
      need_arg "$@"
      [[ $2 =~ ^[0-9]+$ ]] || die "--db-port takes a number"
      db_port=$2; shift 2 ;;
    --secret-arn) need_arg "$@"; secret_arn=$2; shift 2 ;;
    --app-secret-arn) need_arg "$@"; app_secret_arn=$2; shift 2 ;;
    --db-name) need_arg "$@"; db_name=$2; shift 2 ;;
    --db-user) need_arg "$@"; db_user=$2; shift 2 ;;
    --cache-url) need_arg "$@"; cache_url=$2; shift 2 ;;
    --cache-secret-arn) need_arg "$@"; cache_secret_arn=$2; shift 2 ;;
    --ignore-lines)
      need_arg "$@"
      [[ $2 =~ ^[0-9]+$ ]] || die "--ignore-lines takes a number"
      ignore_lines=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done

export AWS_REGION=$region AWS_DEFAULT_REGION=$region AWS_PAGER=""
key=${key:-$(basename "$csv")}

stack_outputs=
stack_output() { # KEY: one output of the stack (read once)
  if [[ -z $stack_outputs ]]; then
    command -v aws >/dev/null || die "the AWS CLI v2 is not installed"
    stack_outputs=$(aws cloudformation describe-stacks --stack-name "$stack" \
      --query 'Stacks[0].Outputs[].[OutputKey, OutputValue]' --output text) ||
      die "cannot read the outputs of stack $stack"
  fi
  awk -v k="$1" '$1 == k {print $2}' <<<"$stack_outputs"
}

# ------------------------------------------------------------ via api
if [[ $via == api ]]; then
  command -v curl >/dev/null || die "curl is not installed"
  [[ -f $csv ]] || die "no CSV at $csv"
  ((replace == 0)) || die "--replace is not available with --via api"
  api_url=${api_url:-$(stack_output ApiUrl)}
  [[ -n $api_url ]] || die "stack $stack has no ApiUrl output (or pass --api-url)"
  # One line per batch of at most 500 rows: "IDS<TAB>READ REQUEST<TAB>WRITE REQUEST".
  batches=$(awk -F, '
    function esc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
    function flush() {
      if (n == 0) return
      printf "%s\t{\"USE_CACHE\": \"False\", \"REQUEST\": \"read\", \"SQLS\": [%s]}\t{\"USE_CACHE\": \"True\", \"REQUEST\": \"write\", \"SQLS\": [%s]}\n", ids, ids, rows
      n = 0; ids = ""; rows = ""
    }
    { sub(/\r$/, "") }
    /^[[:space:]]*$/ { next }
    $1 !~ /^[0-9]+$/ { if (!seen) next; print "load.sh: line " NR ": not a row: " $0 > "/dev/stderr"; bad = 1; next }
    NF != 6 || $5 !~ /^-?[0-9]+$/ { print "load.sh: line " NR ": not id,hero,power,name,xp,color: " $0 > "/dev/stderr"; bad = 1; next }
    {
      seen = 1
      ids = ids (n ? ", " : "") $1
      rows = rows (n ? ", " : "") sprintf("{\"hero\": \"%s\", \"power\": \"%s\", \"name\": \"%s\", \"xp\": %s, \"color\": \"%s\"}", esc($2), esc($3), esc($4), $5, esc($6))
      if (++n == 500) flush()
    }
    END { flush(); exit bad }' "$csv") || die "$csv has malformed lines; nothing was loaded"
  [[ -n $batches ]] || die "$csv has no rows"

  # The API's authentication (ApiAuth): curl options in a mode-600 file, so
  # that no key or token is on a command line.
  api_auth=${api_auth:-$(stack_output ApiAuth)}
  curl_config=$(mktemp)
  trap 'rm -f "$curl_config"' EXIT
  chmod 600 "$curl_config"
  curl_quote() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
  case $api_auth in
    AWS_IAM)
      command -v aws >/dev/null || die "the AWS CLI v2 is not installed (needed to sign requests)"
      if [[ -z ${AWS_ACCESS_KEY_ID:-} ]]; then
        eval "$(aws configure export-credentials --format env)" ||
          die "no AWS credentials to sign the API requests with (aws configure export-credentials failed)"
      fi
      {
        printf 'aws-sigv4 = %s\n' "$(curl_quote "aws:amz:$region:execute-api")"
        printf 'user = %s\n' "$(curl_quote "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")"
        if [[ -n ${AWS_SESSION_TOKEN:-} ]]; then
          printf 'header = %s\n' "$(curl_quote "x-amz-security-token: $AWS_SESSION_TOKEN")"
        fi
      } >"$curl_config" ;;
    API_KEY)
      key_id=$(stack_output ApiKeyId)
      [[ -n $key_id ]] || die "stack $stack has no ApiKeyId output"
      api_key=$(aws apigateway get-api-key --api-key "$key_id" --include-value --query value --output text) ||
        die "cannot read the API key $key_id"
      printf 'header = %s\n' "$(curl_quote "x-api-key: $api_key")" >"$curl_config" ;;
    NONE | "") ;;
    *) die "stack $stack has an unknown ApiAuth: $api_auth" ;;
  esac

  post() { # BODY: POST it to the API, print the answer on one line
    curl -K "$curl_config" -sS --fail-with-body --max-time 30 -X POST -H 'Content-Type: application/json' \
      --data-binary "$1" "$api_url" | tr -d '\n'
  }
  squeeze() { tr -d ' \t\n'; }

  while IFS=$'\t' read -r ids read_req _; do
    answer=$(post "$read_req") || die "read of ids $ids failed: $answer"
    [[ $(squeeze <<<"$answer") =~ ^\{\"statusCode\":200,\"body\":\[(null,)*null\]\}$ ]] ||
      die "some of the CSV's ids already have rows, or the read failed; nothing was loaded: ${answer:0:300}"
  done <<<"$batches"

  rows=0
  while IFS=$'\t' read -r ids _ write_req; do
    answer=$(post "$write_req") || die "write failed after $rows rows: $answer"
    s=$(squeeze <<<"$answer")
    [[ $s == '{"statusCode":200,'* ]] || die "write failed after $rows rows: ${answer:0:300}"
    got=$(sed -n 's/.*"ids":\[\([0-9,]*\)\].*/\1/p' <<<"$s")
    want=$(squeeze <<<"$ids")
    rows=$((rows + $(tr ',' '\n' <<<"$want" | wc -l)))
    [[ $got == "$want" ]] || printf 'load.sh: the database assigned ids %s to the rows with CSV ids %s\n' "$got" "$want" >&2
  done <<<"$batches"
  printf 'wrote %d rows through %s\n' "$rows" "$api_url"
  exit 0
fi

command -v aws >/dev/null || die "the AWS CLI v2 is not installed"

# ------------------------------------------------------ stack outputs
if [[ -z $bucket || -z $db_host || -z $secret_arn ]]; then
  bucket=${bucket:-$(stack_output BucketName)}
  db_host=${db_host:-$(stack_output ClusterEndpoint)}
  secret_arn=${secret_arn:-$(stack_output DbSecretArn)}
  app_secret_arn=${app_secret_arn:-$(stack_output AppDbSecretArn)}
  db_name=${db_name:-$(stack_output DatabaseName)}
  db_user=${db_user:-$(stack_output DbUsername)}
  cache_url=${cache_url:-$(stack_output CacheUrl)}
  cache_secret_arn=${cache_secret_arn:-$(stack_output CacheSecretArn)}
fi
db_name=${db_name:-rowcache}
db_user=${db_user:-admin}
[[ -n $bucket && -n $db_host && -n $secret_arn ]] || die "stack $stack lacks BucketName/ClusterEndpoint/DbSecretArn outputs"
[[ $db_name =~ ^[A-Za-z0-9_]+$ ]] || die "bad database name: $db_name"
s3_uri=s3://$bucket/$key

# ------------------------------------------------------------- upload
line_end='\n'
if [[ $via == grants ]]; then
  upload=0
  ignore_lines=${ignore_lines:-0}
fi
if ((upload)); then
  [[ -f $csv ]] || die "no CSV at $csv"
  # LOAD DATA takes every line as a row: leading blank or header lines are
  # skipped with IGNORE n LINES; blank lines further down would become junk rows.
  first_data=$(awk '/^[0-9]/ {print NR; exit}' "$csv")
  [[ -n $first_data ]] || die "$csv has no data rows"
  ignore_lines=${ignore_lines:-$((first_data - 1))}
  if awk -v f="$first_data" 'NR > f && /^[[:space:]]*$/ {found = 1} END {exit !found}' "$csv"; then
    [[ $via == rowcache && $aurora_native == 0 ]] ||
      die "$csv has blank lines between rows; LOAD DATA would load them as rows (use --via rowcache, which skips them)"
  fi
  if grep -q $'\r' "$csv"; then line_end='\r\n'; fi
  aws s3 cp --only-show-errors "$csv" "$s3_uri"
  printf 'uploaded %s -> %s\n' "$csv" "$s3_uri"
fi
if [[ -z $ignore_lines ]]; then
  # No local file: look at the start of the object.
  head_file=$(mktemp)
  aws s3api get-object --bucket "$bucket" --key "$key" --range bytes=0-65535 "$head_file" >/dev/null ||
    { rm -f "$head_file"; die "cannot read $s3_uri"; }
  first_data=$(awk '/^[0-9]/ {print NR; exit}' "$head_file")
  if grep -q $'\r' "$head_file"; then line_end='\r\n'; fi
  rm -f "$head_file"
  [[ -n $first_data ]] || die "$s3_uri has no data rows in its first 64 KiB"
  ignore_lines=$((first_data - 1))
fi

dup=IGNORE
((replace)) && dup=REPLACE
table_sql="CREATE TABLE IF NOT EXISTS heroes (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  hero VARCHAR(20) NOT NULL, power VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL,
  xp INT NOT NULL, color VARCHAR(20) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;"
load_sql="LOAD DATA FROM S3 '$s3_uri'
  $dup INTO TABLE heroes CHARACTER SET utf8mb4
  FIELDS TERMINATED BY ',' LINES TERMINATED BY '$line_end'
  IGNORE $ignore_lines LINES
  (id, hero, power, name, xp, color);
SELECT COUNT(*) AS rows_in_heroes, MAX(id) AS max_id FROM heroes;"

# The function's database user: exactly SELECT, INSERT, UPDATE and DELETE on
# DB.heroes, and the secret's password. FLAVOR: mysql (Aurora) or mariadb.
app_user_sql() { # USER PASSWORD FLAVOR
  local user=$1 pw=$2 ident
  if [[ $3 == mariadb ]]; then
    ident="IDENTIFIED BY '$pw'"
  else
    ident="IDENTIFIED WITH mysql_native_password BY '$pw'"
  fi
  printf '%s\n' \
    "CREATE USER IF NOT EXISTS '$user'@'%' $ident;" \
    "ALTER USER '$user'@'%' $ident;" \
    "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '$user'@'%';" \
    "GRANT SELECT, INSERT, UPDATE, DELETE ON \`$db_name\`.\`heroes\` TO '$user'@'%';" \
    "SHOW GRANTS FOR '$user'@'%';"
}

in_vpc_args="--region $region --no-upload --bucket $bucket --key $key --db-host $db_host --db-port $db_port"
in_vpc_args+=" --secret-arn $secret_arn --db-name $db_name --db-user $db_user --ignore-lines $ignore_lines"
[[ -n $app_secret_arn ]] && in_vpc_args+=" --app-secret-arn $app_secret_arn"
[[ -n $cache_url ]] && in_vpc_args+=" --cache-url $cache_url"
[[ -n $cache_url && -n $cache_secret_arn ]] && in_vpc_args+=" --cache-secret-arn $cache_secret_arn"
((replace)) && in_vpc_args+=" --replace"

if [[ $via == print ]]; then
  if [[ -n $app_secret_arn ]]; then
    user_note="-- the function's database user, name and password from $app_secret_arn:
$(app_user_sql USER PASSWORD mysql)"
  else
    user_note="-- (no AppDbSecretArn output: the function's database user is not set up; deploy the stack again)"
  fi
  cat <<EOF

The CSV is in $s3_uri. Load it from a host that reaches $db_host:$db_port
(in the stack's private subnets, with the stack's LambdaSecurityGroupId attached), either

  with the mysql client (Aurora reads S3 itself, with the role named by aws_default_s3_role):
    deploy/load.sh --via sql $in_vpc_args

  or with the rowcache binary (and the mysql client, for the function's database user):
    deploy/load.sh --via rowcache [--aurora-native] $in_vpc_args

or from here, through the API, into an empty table, once the function's database user
exists (deploy/load.sh --via grants $in_vpc_args, on that host):
    deploy/load.sh --via api --stack $stack --csv $csv

What --via sql runs, as database user $db_user on database $db_name:

$table_sql
$user_note
$load_sql
EOF
  exit 0
fi

# ------------------------------------------------------ the password
secret_field() { # ARN KEY: the secret's JSON key KEY; for "password", the whole secret if it is not JSON
  local json
  json=$(aws secretsmanager get-secret-value --secret-id "$1" --query SecretString --output text) || return 1
  if [[ $json != \{* ]]; then
    if [[ $2 == password ]]; then printf '%s' "$json"; fi
  elif command -v jq >/dev/null; then
    jq -r --arg k "$2" '.[$k] // empty' <<<"$json"
  else
    sed -n "s/.*\"$2\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" <<<"$json"
  fi
}
secret_password() { secret_field "$1" password; }
password=$(secret_password "$secret_arn") || die "cannot read the secret $secret_arn"
[[ -n $password ]] || die "the secret has no \"password\" key"

# The function's database user, from its own secret.
app_user=
app_password=
if [[ -n $app_secret_arn && $via != api ]]; then
  app_user=$(secret_field "$app_secret_arn" username) || die "cannot read the secret $app_secret_arn"
  app_password=$(secret_password "$app_secret_arn") || die "cannot read the secret $app_secret_arn"
  [[ $app_user =~ ^[A-Za-z][A-Za-z0-9_]{0,31}$ ]] ||
    die "the secret $app_secret_arn has no usable \"username\" (a letter, then letters, digits, _; at most 32)"
  [[ -n $app_password ]] || die "the secret $app_secret_arn has no \"password\" key"
  # It goes into a quoted SQL literal: no quote or backslash (the generated
  # passwords are letters and digits).
  [[ $app_password != *[\'\\]* ]] || die "the password in $app_secret_arn holds a quote or a backslash"
  [[ $app_user != "$db_user" ]] || die "the function's database user ($app_user) is the master user"
elif [[ $via == grants ]]; then
  die "--via grants needs the function's database user's secret (--app-secret-arn, or the stack's AppDbSecretArn output)"
fi

mysql_client() { command -v mysql || command -v mariadb || true; }
defaults=
open_defaults() { # a mode-600 option file with the master user's connection, for the client
  defaults=$(mktemp)
  trap 'rm -f "$defaults"; [[ -z ${secrets_dir:-} ]] || rm -rf "$secrets_dir"' EXIT
  chmod 600 "$defaults"
  printf '[client]\nhost=%s\nport=%s\nuser=%s\npassword=%s\nconnect-timeout=10\n' \
    "$db_host" "$db_port" "$db_user" "$password" >"$defaults"
}
server_flavor() { # CLIENT: mariadb or mysql (Aurora), from the server's version
  local version
  version=$("$1" --defaults-extra-file="$defaults" -N -B -e 'SELECT VERSION()') || return 1
  if [[ $version == *MariaDB* ]]; then echo mariadb; else echo mysql; fi
}
user_setup_note() {
  printf "creating or updating the function's database user %s (SELECT, INSERT, UPDATE, DELETE on %s.heroes)\n" \
    "$app_user" "$db_name"
}

if [[ $via == sql || $via == grants ]]; then
  client=$(mysql_client)
  [[ -n $client ]] || die "no mysql or mariadb client on PATH (Amazon Linux 2023: dnf install -y mariadb105)"
  open_defaults
  flavor=$(server_flavor "$client") || die "cannot connect to $db_host:$db_port as $db_user"
  sql=$table_sql
  if [[ -n $app_user ]]; then
    sql+=$'\n'$(app_user_sql "$app_user" "$app_password" "$flavor")
    user_setup_note
  else
    printf "load.sh: the stack has no AppDbSecretArn output: the function's database user is not set up\n" >&2
  fi
  if [[ $via == sql ]]; then
    sql+=$'\n'$load_sql
    printf 'loading %s into %s/%s.heroes with LOAD DATA FROM S3\n' "$s3_uri" "$db_host" "$db_name"
  fi
  "$client" --defaults-extra-file="$defaults" --database="$db_name" --table <<<"$sql"
  [[ $via == sql ]] || exit 0
  cat <<EOF
Done. Rows loaded this way bypass the cache; cached entries expire within the TTL
(a first load into an empty table has nothing cached).
EOF
  exit 0
fi

# --via rowcache
command -v "$rowcache_bin" >/dev/null || die "no rowcache binary ($rowcache_bin); pass --rowcache PATH"
urlencode() { # everything but RFC 3986 unreserved characters as %XX, byte by byte
  local LC_ALL=C s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c"; out+=$c ;;
    esac
  done
  printf '%s' "$out"
}
args=(load --from "$s3_uri" --region "$region")
((aurora_native)) && args+=(--aurora-native)
((replace)) && args+=(--replace)
shown=("${args[@]}")
# With --aurora-native the rows never pass through rowcache: nothing to invalidate.
if ((!aurora_native)) && [[ -n $cache_url ]]; then
  cache_arg=$cache_url
  cache_shown=$cache_url
  if [[ -n $cache_secret_arn ]]; then
    # The password goes to rowcache in a mode-600 file (--cache-password-file), never on its command line.
    cache_password=$(secret_password "$cache_secret_arn") || die "cannot read the cache secret $cache_secret_arn"
    [[ -n $cache_password ]] || die "the cache secret has no \"password\" key"
    secrets_dir=$(mktemp -d)
    trap 'rm -rf "$secrets_dir"' EXIT
    (umask 077 && printf '%s' "$cache_password" >"$secrets_dir/cache-password")
    unset cache_password
    args+=(--cache-password-file "$secrets_dir/cache-password")
    shown+=(--cache-password-file "(from $cache_secret_arn)")
  fi
  args+=(--cache "$cache_arg")
  shown+=(--cache "$cache_shown")
fi
if [[ -z ${AWS_ACCESS_KEY_ID:-} ]]; then
  # rowcache reads S3 credentials from the environment only (with
  # --aurora-native, to look at the object's first lines).
  eval "$(aws configure export-credentials --format env)" ||
    die "no AWS credentials to hand to rowcache (aws configure export-credentials failed)"
fi
printf 'loading %s into %s/%s.heroes with %s %s\n' "$s3_uri" "$db_host" "$db_name" "$rowcache_bin" "${shown[*]}"
[[ -n ${secrets_dir:-} ]] || { secrets_dir=$(mktemp -d); trap 'rm -rf "$secrets_dir"' EXIT; }
(umask 077 && printf '%s' "$password" >"$secrets_dir/db-password")
ROWCACHE_DB="mysql://$(urlencode "$db_user")@$db_host:$db_port/$db_name" \
  ROWCACHE_DB_PASSWORD_FILE="$secrets_dir/db-password" "$rowcache_bin" "${args[@]}"
rm -rf "$secrets_dir"
if [[ -n $app_user ]]; then
  client=$(mysql_client)
  if [[ -z $client ]]; then
    printf "load.sh: loaded, but there is no mysql or mariadb client here: the function's database user %s\n" "$app_user" >&2
    printf 'load.sh: was not set up; run deploy/load.sh --via grants (same arguments) where one is installed\n' >&2
    exit 1
  fi
  open_defaults
  flavor=$(server_flavor "$client") || die "cannot connect to $db_host:$db_port as $db_user"
  user_setup_note
  "$client" --defaults-extra-file="$defaults" --database="$db_name" --table <<<"$(app_user_sql "$app_user" "$app_password" "$flavor")"
fi
