"""The Lambda front door against a fake Runtime API: the real binary as
`rowcache lambda` and as `bootstrap`, with the real MariaDB and Redis.

Checks: read, write, bad input (a 4xx result, not a Lambda error), several
invocations on one process with its connections reused, connections that went
stale while the process was frozen (SIGSTOP) re-opened without failing the
request, a passed deadline reported to /error, init failures reported to
/runtime/init/error, the database password from a (fake, signature-checking)
Secrets Manager, the cache password from it too (ROWCACHE_CACHE_SECRET_ARN: a
private redis-server --requirepass, and the TLS + AUTH Redis, its ACL user and
the TLS cluster of scripts/servers.sh), the function's least-privileged
database user (SELECT, INSERT, UPDATE, DELETE only; ROWCACHE_CREATE_TABLE=0) and
its password rotated while the process runs (the secret read again after the
database refuses the password: at most the one request in the rotation window
fails), and an unconfigured `bootstrap` with an empty environment.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
from fake_lambda import FakeRuntime  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from rowcache_e2e import Checks, Redis, args, entry_key, free_port, mariadb, require_servers, unique  # noqa: E402

ROW = {"hero": "yes", "power": "fly", "name": "batman", "xp": "100", "color": "black"}


def start(binary, rt, env_extra, argv0=None, empty_env=False):
    env = {} if empty_env else dict(os.environ)
    env.update(env_extra)
    env["AWS_LAMBDA_RUNTIME_API"] = rt.api
    cmd = [binary] if argv0 else [binary, "lambda"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def call(rt, event, **kw):
    rid = rt.invoke(event, **kw)
    got = rt.result(rid)
    if got is None:
        return None, None
    kind, body, _ = got
    return kind, json.loads(body)


def init_failure(binary, env, secrets=None, secret_creds=None):
    """Starts the runtime with env (and, given secrets, the fake Secrets
    Manager as ROWCACHE_SECRETS_ENDPOINT with those secrets and signing
    credentials), waits for its init error and stops it: (got, doc, exit code),
    got as FakeRuntime.wait_init_error gives it (None for none) and doc its
    parsed JSON ({} for none)."""
    rt = FakeRuntime()
    if secrets is not None:
        rt.secrets.update(secrets)
        rt.secret_creds = secret_creds
        env = dict(env, ROWCACHE_SECRETS_ENDPOINT=f"http://{rt.api}")
    proc = start(binary, rt, env)
    try:
        got = rt.wait_init_error()
        if got is not None:
            proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        rt.close()
    return got, (json.loads(got[1]) if got else {}), proc.returncode


def local_ports(pid, remote_port):
    """Local ports of pid's TCP connections to 127.0.0.1:remote_port (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if inode in inodes and int(remote.split(":")[1], 16) == remote_port:
                ports.append(int(local.split(":")[1], 16))
    return ports


def connections():
    return int(mariadb("SHOW GLOBAL STATUS LIKE 'Connections'").split()[1])


def root_sql(sql):
    """SQL as the test MariaDB's root (through ROWCACHE_TEST_MYSQL_SOCKET); its output."""
    out = subprocess.run(["mariadb", f"--socket={os.environ['ROWCACHE_TEST_MYSQL_SOCKET']}", "-uroot", "-N", "-B",
                          "-e", sql], capture_output=True, text=True, check=True)
    return out.stdout


def kill_sessions(user):
    """Kills the MariaDB sessions of `user` (a frozen Lambda environment's dead connections)."""
    killed = 0
    for cid in root_sql(f"SELECT id FROM information_schema.processlist WHERE user = '{user}'").split():
        try:
            root_sql(f"KILL {cid}")
            killed += 1
        except subprocess.CalledProcessError:
            pass  # already gone
    return killed


def least_privilege_and_rotation(c, a, env, table, ids, creds, arn, no_password):
    sock = os.environ.get("ROWCACHE_TEST_MYSQL_SOCKET")
    if not sock or not shutil.which("mariadb"):
        if os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
            c.check("least privilege / rotation: ROWCACHE_TEST_MYSQL_SOCKET set (ROWCACHE_REQUIRE_SERVERS=1)", False)
        else:
            c.skip("least privilege and a rotated password", "ROWCACHE_TEST_MYSQL_SOCKET not set (root by socket)")
        return
    user = unique("app")
    pw1, pw2, pw3 = unique("first"), unique("second"), unique("third")
    root_sql(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{pw1}'; "
             f"GRANT SELECT, INSERT, UPDATE, DELETE ON rowcache.`{table}` TO '{user}'@'%'")
    secret = lambda pw: json.dumps({"username": user, "password": pw, "engine": "mysql"})  # noqa: E731
    lp_env = dict(env, ROWCACHE_DB=no_password, ROWCACHE_DB_SECRET_ARN=arn,
                  ROWCACHE_SECRETS_ENDPOINT="", **creds)
    try:
        # Without ROWCACHE_CREATE_TABLE=0 such a user cannot start the function.
        got, doc, _ = init_failure(a.binary, lp_env, {arn: secret(pw1)},
                                   (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "us-west-2"))
        c.check("a user without CREATE and the default ROWCACHE_CREATE_TABLE: init error (CREATE command denied)",
                "CREATE command denied" in doc.get("errorMessage", ""), f"{got}")

        rt = FakeRuntime()
        rt.secrets[arn] = secret(pw1)
        rt.secret_creds = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "us-west-2")
        proc = start(a.binary, rt, dict(lp_env, ROWCACHE_SECRETS_ENDPOINT=f"http://{rt.api}",
                                        ROWCACHE_CREATE_TABLE="0"))
        read = {"USE_CACHE": "False", "REQUEST": "read", "SQLS": [ids[0]]}
        try:
            kind, doc = call(rt, read)
            c.check("least privilege: ROWCACHE_CREATE_TABLE=0, the user and password from the secret, only "
                    "SELECT/INSERT/UPDATE/DELETE on the table: a read works",
                    kind == "response" and doc.get("statusCode") == 200 and doc["body"][0]["name"] == "batman",
                    f"{kind} {doc} {rt.init_error}")
            kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="least")]})
            c.check("... and a write", kind == "response" and doc.get("statusCode") == 200, f"{kind} {doc}")

            # Rotation, the database first: the password changes (ALTER USER) while the
            # secret still holds the old one (Secrets Manager's setSecret step comes before
            # finishSecret), and the environment's connections are gone (a freeze, a failover).
            root_sql(f"ALTER USER '{user}'@'%' IDENTIFIED BY '{pw2}'")
            killed = kill_sessions(user)
            before = len(rt.secret_requests)
            kind, doc = call(rt, read)
            c.check(f"rotation, secret not yet updated ({killed} sessions killed): that request gets a 503 result "
                    "(not a crash), after reading the secret again",
                    kind == "response" and doc.get("statusCode") == 503 and len(rt.secret_requests) > before,
                    f"{kind} {doc} secret reads {len(rt.secret_requests) - before}")
            rt.secrets[arn] = secret(pw2)
            before = len(rt.secret_requests)
            kind, doc = call(rt, read)
            c.check("... the secret updated: the next request succeeds with the new password, same process",
                    kind == "response" and doc.get("statusCode") == 200 and doc["body"][0]["name"] == "batman"
                    and proc.poll() is None and rt.init_error is None and len(rt.secret_requests) > before,
                    f"{kind} {doc} secret reads {len(rt.secret_requests) - before}")
            # Rotation, both at once: no request fails at all.
            root_sql(f"ALTER USER '{user}'@'%' IDENTIFIED BY '{pw3}'")
            rt.secrets[arn] = secret(pw3)
            kill_sessions(user)
            kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="rotated")]})
            c.check("rotation with the secret already updated: the first request after it succeeds (a write)",
                    kind == "response" and doc.get("statusCode") == 200, f"{kind} {doc}")
            before = len(rt.secret_requests)
            for _ in range(3):
                kind, doc = call(rt, read)
            c.check("... and the requests after it use the new password without reading the secret again",
                    kind == "response" and doc.get("statusCode") == 200 and len(rt.secret_requests) == before,
                    f"{kind} {doc} secret reads {len(rt.secret_requests) - before}")
            c.check("no protocol violations (least privilege, rotation)", not rt.violations, f"{rt.violations}")
        finally:
            proc.kill()
            proc.wait()
            rt.close()
    finally:
        root_sql(f"DROP USER IF EXISTS '{user}'@'%'")


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if not servers:
        c.skip("lambda against MariaDB and Redis", "ROWCACHE_TEST_MYSQL/ROWCACHE_TEST_REDIS not set")
        c.finish()
    mysql_url, redis_url = servers
    redis = Redis(int(os.environ.get("ROWCACHE_TEST_REDIS_PORT", "16379")))
    table = unique("lambda")
    prefix = unique("lambda") + ":"
    env = {"ROWCACHE_DB": mysql_url, "ROWCACHE_TABLE": table, "ROWCACHE_CACHE": redis_url,
           "ROWCACHE_KEY_PREFIX": prefix, "ROWCACHE_TTL": "60"}

    # --- one process, many invocations
    rt = FakeRuntime()
    proc = start(a.binary, rt, env)
    try:
        kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [ROW, dict(ROW, name="robin", xp="7")]})
        c.check("write: a response (not an error) with the non-proxy shape",
                kind == "response" and doc.get("statusCode") == 200 and doc.get("body") == "write success"
                and isinstance(doc.get("ids"), list) and len(doc["ids"]) == 2, f"{kind} {doc}")
        ids = doc.get("ids", [0, 0]) if doc else [0, 0]
        c.check("write-through: the rows are in Redis", redis.cmd("EXISTS", entry_key(prefix, ids[0])) == 1)
        before = connections()
        kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[1], 999999, ids[0]]},
                         trace_id="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        want = [{"id": ids[1], "hero": "yes", "power": "fly", "name": "robin", "xp": 7, "color": "black"}, None,
                {"id": ids[0], "hero": "yes", "power": "fly", "name": "batman", "xp": 100, "color": "black"}]
        c.check("read: rows in the order asked, null for a missing id", kind == "response" and doc == {
            "statusCode": 200, "body": want}, f"{kind} {doc}")
        kind, doc = call(rt, {"USE_CACHE": "False", "REQUEST": "read", "SQLS": [ids[0]]})
        c.check("read without the cache", kind == "response" and doc["body"] == [want[2]], f"{doc}")
        kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="x" * 21)]})
        c.check("bad input: a response with statusCode 400 naming the field",
                kind == "response" and doc.get("statusCode") == 400 and "SQLS[0].name" in doc["body"]["error"],
                f"{kind} {doc}")
        kind, doc = call(rt, b"{not json")
        c.check("malformed JSON: statusCode 400", kind == "response" and doc.get("statusCode") == 400, f"{doc}")
        for _ in range(20):
            call(rt, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": ids})
        c.check("24 invocations served by one process, database connections reused",
                proc.poll() is None and connections() - before <= 1, f"new connections {connections() - before}")

        # Frozen between events (stopped while it waits for the next one) while
        # the servers drop its connections.
        rt.wait_waiting(len(rt.results) + 1)
        proc.send_signal(signal.SIGSTOP)
        redis_port = int(os.environ.get("ROWCACHE_TEST_REDIS_PORT", "16379"))
        mysql_port = int(os.environ.get("ROWCACHE_TEST_MYSQL_PORT", "13306"))
        r_ports, m_ports = local_ports(proc.pid, redis_port), local_ports(proc.pid, mysql_port)
        for p in r_ports:
            redis.cmd("CLIENT", "KILL", "ADDR", f"127.0.0.1:{p}")
        killed = 0
        for line in mariadb("SELECT id, host FROM information_schema.processlist").splitlines():
            cid, host = line.split("\t")
            if host.rsplit(":", 1)[-1] in {str(p) for p in m_ports}:
                mariadb(f"KILL {cid}")
                killed += 1
        c.check("(the frozen process had its Redis and MariaDB connections killed)",
                r_ports and killed >= 1, f"redis {r_ports} mysql {m_ports} killed {killed}")
        time.sleep(0.3)
        proc.send_signal(signal.SIGCONT)
        kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="thawed")]})
        c.check("after a freeze with killed connections: the write succeeds", kind == "response" and
                doc.get("statusCode") == 200, f"{kind} {doc}")
        new_id = doc["ids"][0] if doc and doc.get("ids") else 0
        c.check("... and was written through to Redis", redis.cmd("EXISTS", entry_key(prefix, new_id)) == 1)
        kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [new_id]})
        c.check("... and reads back", kind == "response" and doc["body"][0]["name"] == "thawed", f"{doc}")

        kind, doc = call(rt, {"REQUEST": "read", "SQLS": [1]}, deadline_ms=int(time.time() * 1000) - 1000)
        c.check("a deadline already passed: reported to /error, not run",
                kind == "error" and doc.get("errorType") == "Runtime.DeadlineExceeded", f"{kind} {doc}")
        kind, doc = call(rt, {"REQUEST": "read", "SQLS": [ids[0]]})
        c.check("... and the next invocation is served", kind == "response" and doc.get("statusCode") == 200)
        c.check("no protocol violations", not rt.violations, f"{rt.violations}")
    finally:
        proc.kill()
        proc.wait()
        rt.close()

    # --- init failure: the database cannot be reached
    got, doc, code = init_failure(a.binary, dict(env, ROWCACHE_DB="mysql://rowcache:rowcache@127.0.0.1:1/rowcache",
                                                 ROWCACHE_DB_TIMEOUT="2"))
    c.check("database unreachable: POST /runtime/init/error with the documented JSON",
            got is not None and doc.get("errorType") == "Runtime.BackendUnavailable" and
            "127.0.0.1" in doc.get("errorMessage", "") and
            got[0].get("Lambda-Runtime-Function-Error-Type") == "Runtime.BackendUnavailable", f"{got}")
    c.check("... and the process exits non-zero by itself", got is not None and code not in (0, -9), f"exit {code}")

    # --- init failure: a bad configuration value
    got, doc, _ = init_failure(a.binary, dict(env, ROWCACHE_TTL="soon"))
    c.check("bad ROWCACHE_TTL: init error naming it",
            doc.get("errorType") == "Runtime.ConfigInvalid" and "ttl" in doc.get("errorMessage", ""), f"{got}")

    # --- a read limit whose answers could exceed Lambda's 6 MB response: refused at start
    got, doc, _ = init_failure(a.binary, dict(env, ROWCACHE_MAX_READ_BATCH="20000"))
    c.check("ROWCACHE_MAX_READ_BATCH over what fits in 6 MB: init error naming it",
            doc.get("errorType") == "Runtime.ConfigInvalid"
            and "ROWCACHE_MAX_READ_BATCH 20000" in doc.get("errorMessage", ""), f"{got}")

    # --- the database fails during an invocation: a generic 503 carrying
    # Lambda's request id; the details in the log (CloudWatch) under that id
    mysql_port = int(os.environ.get("ROWCACHE_TEST_MYSQL_PORT", "13306"))
    proxy = FaultProxy(mysql_port)
    rt = FakeRuntime()
    proc = start(a.binary, rt, dict(env, ROWCACHE_DB=mysql_url.replace(f":{mysql_port}/", f":{proxy.port}/"),
                                     ROWCACHE_DB_TIMEOUT="2"))
    try:
        kind, doc = call(rt, {"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1]})
        c.check("(through the proxy: a read)", kind == "response" and doc.get("statusCode") == 200, f"{kind} {doc}")
        proxy.set_mode("reset")
        rid = rt.invoke({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [1]})
        got = rt.result(rid)
        doc = json.loads(got[1]) if got else {}
        c.check("database down: a response (not a Lambda error) with statusCode 503, a generic message and "
                "Lambda's request id", got is not None and got[0] == "response" and doc == {
                    "statusCode": 503, "body": {"error": "the database is unavailable", "request_id": rid}},
                f"{got}")
        c.check("... naming no host, port or driver message",
                not any(w in json.dumps(doc).lower() for w in ("127.0.0.1", str(proxy.port), "mysql", "lost")),
                f"{doc}")
    finally:
        proc.kill()
        proc.wait()
        rt.close()
        proxy.close()
    log = proc.stderr.read()
    lines = [ln for ln in log.splitlines() if f"request {rid}:" in ln]
    c.check("... and stderr has one line under that id with the details",
            len(lines) == 1 and f"request {rid}: 503: mysql 127.0.0.1:{proxy.port}" in lines[0], f"{log[-1500:]!r}")

    # --- the password from Secrets Manager (a fake that checks the signature)
    creds = {"AWS_ACCESS_KEY_ID": "AKIDLAMBDATEST", "AWS_SECRET_ACCESS_KEY": "lambda/secret/key",
             "AWS_SESSION_TOKEN": "session-token-value", "AWS_REGION": "us-east-1"}
    arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:rowcache-db-AbCdEf"
    no_password = mysql_url.replace("rowcache:rowcache@", "nobody@")
    rt = FakeRuntime()
    rt.secrets[arn] = json.dumps({"username": "rowcache", "password": "rowcache", "engine": "mysql"})
    rt.secret_creds = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "us-west-2")
    proc = start(a.binary, rt, dict(env, ROWCACHE_DB=no_password, ROWCACHE_DB_SECRET_ARN=arn,
                                    ROWCACHE_SECRETS_ENDPOINT=f"http://{rt.api}", **creds))
    try:
        kind, doc = call(rt, {"REQUEST": "read", "SQLS": [ids[0]]})
        c.check("database user and password from the secret (signed request, region from the ARN)",
                kind == "response" and doc.get("statusCode") == 200 and doc["body"][0]["name"] == "batman",
                f"{kind} {doc} {rt.init_error}")
        h = rt.secret_requests[0][0] if rt.secret_requests else {}
        c.check("... with the session token sent and signed",
                h.get("x-amz-security-token") == creds["AWS_SESSION_TOKEN"]
                and "x-amz-security-token" in h.get("authorization", ""), f"{h}")
    finally:
        proc.kill()
        proc.wait()
        rt.close()
    got, doc, _ = init_failure(a.binary, dict(env, ROWCACHE_DB=no_password, ROWCACHE_DB_SECRET_ARN=arn, **creds),
                               {arn: "rowcache"}, (creds["AWS_ACCESS_KEY_ID"], "a different secret key", "us-west-2"))
    c.check("secret refused (bad signature): init error with AWS's message",
            doc.get("errorType") == "Runtime.SecretUnavailable"
            and "UnrecognizedClientException" in doc.get("errorMessage", ""), f"{got}")

    # --- least privilege and a rotated password, as the stack deploys it: the
    # function's own database user (SELECT, INSERT, UPDATE, DELETE on the table
    # only), ROWCACHE_CREATE_TABLE=0, user and password from the secret.
    least_privilege_and_rotation(c, a, env, table, ids, creds, arn, no_password)

    # --- the cache password from Secrets Manager (ROWCACHE_CACHE_SECRET_ARN), as the stack
    # deploys it: ROWCACHE_CACHE without a password, the secret holding it. A private
    # redis-server --requirepass (a plain-string secret and {"password"} JSON, with characters
    # that need percent-encoding), and, from scripts/servers.sh, the TLS + AUTH Redis (the
    # replication group shape), its ACL user ({"username", "password"}: Serverless's RBAC user)
    # and the TLS cluster (the cluster shape's configuration endpoint).
    cache_arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:rowcache-cache-XyZ"
    token = "Cache+Token/" + unique("pw") + "%@:"
    rport = free_port()
    rproc = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no", "--requirepass", token],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    required = os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1"
    try:
        for _ in range(100):
            try:
                Redis(rport, password=token).close()
                break
            except OSError:
                time.sleep(0.05)
        own = f"redis://:{urllib.parse.quote(token, safe='')}@127.0.0.1:{rport}/0"
        cases = [("requirepass, plain-string secret", f"redis://127.0.0.1:{rport}/0", token, own),
                 ("requirepass, JSON secret", f"redis://127.0.0.1:{rport}/0", json.dumps({"password": token}), own)]
        e = os.environ
        tls_port, ca, pw = e.get("ROWCACHE_TEST_REDIS_TLS_PORT"), e.get("ROWCACHE_TEST_REDIS_CA"), \
            e.get("ROWCACHE_TEST_REDIS_PASSWORD")
        acl_user, acl_pw = e.get("ROWCACHE_TEST_REDIS_ACL_USER"), e.get("ROWCACHE_TEST_REDIS_ACL_PASSWORD")
        cluster_tls = e.get("ROWCACHE_TEST_REDIS_CLUSTER_TLS")
        more = [
            ("TLS + AUTH token (single-shard shape)", tls_port and ca and pw,
             f"rediss://localhost:{tls_port}/0?ca={ca}", json.dumps({"password": pw}),
             e.get("ROWCACHE_TEST_REDIS_TLS")),
            ("TLS + ACL user from the secret (Serverless RBAC shape)", tls_port and ca and acl_user and acl_pw,
             f"rediss://localhost:{tls_port}/2?ca={ca}", json.dumps({"username": acl_user, "password": acl_pw}),
             e.get("ROWCACHE_TEST_REDIS_TLS_USER")),
            ("TLS cluster + AUTH token (cluster shape)", cluster_tls and pw,
             (cluster_tls or "").replace(f":{pw}@", "", 1), json.dumps({"password": pw}), cluster_tls),
        ]
        for name, available, url, secret, inspect_url in more:
            if available and inspect_url:
                cases.append((name, url, secret, inspect_url))
            elif required:
                c.check(f"cache secret, {name}: the servers.sh variables are set (ROWCACHE_REQUIRE_SERVERS=1)", False)
            else:
                c.skip(f"cache secret, {name}", "scripts/servers.sh variables not set")
        for name, url, secret, inspect_url in cases:
            rt = FakeRuntime()
            rt.secrets[cache_arn] = secret
            rt.secret_creds = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "us-west-2")
            proc = start(a.binary, rt, dict(env, ROWCACHE_CACHE=url, ROWCACHE_CACHE_SECRET_ARN=cache_arn,
                                            ROWCACHE_SECRETS_ENDPOINT=f"http://{rt.api}", **creds))
            try:
                kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="authed")]})
                nid = doc["ids"][0] if doc and doc.get("ids") else 0
                ok = kind == "response" and doc.get("statusCode") == 200
                inspector = Redis.from_url(inspect_url) if ok else None
                try:
                    ok = ok and inspector.cmd("EXISTS", entry_key(prefix, nid)) == 1
                finally:
                    if inspector:
                        inspector.close()
                c.check(f"cache secret, {name}: the row is written through to the password-protected cache",
                        ok, f"{kind} {doc} {rt.init_error}")
                kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [nid]})
                c.check(f"cache secret, {name}: ... and reads back", kind == "response"
                        and doc.get("statusCode") == 200 and doc["body"][0]["name"] == "authed", f"{kind} {doc}")
                c.check(f"cache secret, {name}: GetSecretValue for the cache secret, signed",
                        any(b.get("SecretId") == cache_arn and "x-amz-security-token" in h.get("authorization", "")
                            for h, b in ((h, json.loads(b or "{}")) for h, b in rt.secret_requests)),
                        f"{rt.secret_requests}")
            finally:
                proc.kill()
                proc.wait()
                rt.close()

        # The cache's password rotated while the function runs: the server
        # drops its connections; the next connection's AUTH is refused, the
        # secret is read again (once) and the cache is used again.
        rt = FakeRuntime()
        rt.secrets[cache_arn] = token
        rt.secret_creds = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "us-west-2")
        proc = start(a.binary, rt, dict(env, ROWCACHE_CACHE=f"redis://127.0.0.1:{rport}/0",
                                        ROWCACHE_CACHE_SECRET_ARN=cache_arn,
                                        ROWCACHE_SECRETS_ENDPOINT=f"http://{rt.api}", **creds))
        rotated = token + "-rotated"

        def cached(password, row_id):
            r = Redis(rport, password=password)
            try:
                return r.cmd("EXISTS", entry_key(prefix, row_id)) == 1
            finally:
                r.close()

        def cache_secret_reads():
            return sum(1 for _, b in rt.secret_requests if json.loads(b or "{}").get("SecretId") == cache_arn)
        try:
            kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="before")]})
            ok = kind == "response" and doc.get("statusCode") == 200 and cached(token, doc["ids"][0])
            reads_before = cache_secret_reads()
            admin = Redis(rport, password=token)
            admin.cmd("CONFIG", "SET", "requirepass", rotated)
            rt.secrets[cache_arn] = rotated
            try:
                admin.cmd("CLIENT", "KILL", "TYPE", "normal")
            except (OSError, ConnectionError):
                pass  # its own connection went too
            admin.close()
            statuses, through = [], None
            for attempt in range(1, 4):
                kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="after")]})
                statuses.append(doc.get("statusCode") if doc else kind)
                if doc and doc.get("statusCode") == 200 and cached(rotated, doc["ids"][0]):
                    through = attempt
                    break
            c.check("cache password rotated while running: every write succeeds, and by the second one after the "
                    "rotation rows are written through to the cache again (the secret read once more)",
                    ok and all(st == 200 for st in statuses) and through is not None and through <= 2 and
                    cache_secret_reads() == reads_before + 1,
                    f"ok={ok} statuses={statuses} through={through} secret reads {reads_before}->{cache_secret_reads()}")
        finally:
            proc.kill()
            _, err = proc.communicate()
            rt.close()
            admin = Redis(rport, password=rotated)
            admin.cmd("CONFIG", "SET", "requirepass", token)
            admin.close()
        c.check("... the log says the secret was read again, without the password",
                "read ROWCACHE_CACHE_SECRET_ARN again" in err and rotated not in err and token not in err, err[-400:])

        # A wrong password: the runtime reports an init error, without the password.
        signer = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "us-west-2")
        got, doc, _ = init_failure(a.binary, dict(env, ROWCACHE_CACHE=f"redis://127.0.0.1:{rport}/0",
                                                  ROWCACHE_CACHE_SECRET_ARN=cache_arn, **creds),
                                   {cache_arn: json.dumps({"password": "not-the-token-" + token})}, signer)
        msg = doc.get("errorMessage", "")
        c.check("cache secret with a wrong password: init error, the password not in it",
                got is not None and "not-the-token" not in msg and token not in msg, f"{got}")
        # A cache with no server to authenticate to.
        got, doc, _ = init_failure(a.binary, dict(env, ROWCACHE_CACHE="memory://", ROWCACHE_CACHE_SECRET_ARN=cache_arn,
                                                  **creds), {cache_arn: token}, signer)
        c.check("cache secret with ROWCACHE_CACHE=memory://: Runtime.ConfigInvalid",
                doc.get("errorType") == "Runtime.ConfigInvalid" and "names no server" in doc.get("errorMessage", ""),
                f"{got}")
    finally:
        rproc.kill()
        rproc.wait()

    # --- started as "bootstrap" with an empty environment: the embedded defaults
    d = tempfile.mkdtemp()
    boot = os.path.join(d, "bootstrap")
    shutil.copy(a.binary, boot)
    rt = FakeRuntime()
    proc = start(boot, rt, {}, argv0=True, empty_env=True)
    try:
        kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(ROW, name="boot")]})
        c.check("bootstrap, empty environment: write to the embedded database",
                kind == "response" and doc.get("statusCode") == 200, f"{kind} {doc} {rt.init_error}")
        nid = doc["ids"][0] if doc and doc.get("ids") else 0
        kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [nid]})
        c.check("... and read it back", kind == "response" and doc["body"][0]["name"] == "boot", f"{doc}")
    finally:
        proc.kill()
        proc.wait()
        rt.close()
        shutil.rmtree(d)

    r = subprocess.run([a.binary, "lambda"], env={}, capture_output=True, text=True)
    c.check("outside Lambda: exit 2 with a clear message",
            r.returncode == 2 and "AWS_LAMBDA_RUNTIME_API" in r.stderr, f"{r.returncode} {r.stderr}")
    mariadb(f"DROP TABLE IF EXISTS {table}")
    c.finish()


if __name__ == "__main__":
    main()
