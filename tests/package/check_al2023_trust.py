"""The unzipped static Lambda package finds the CA bundle where Amazon Linux
2023 keeps it, with no CA path given anywhere.

The bootstrap runs in a private mount namespace (`unshare -m`, root) laid out
like AL2023's trust store: an empty directory over /usr/lib/ssl (the
compiled-in OPENSSLDIR of the Debian OpenSSL it links) and over /etc/ssl, and
the test CA as /etc/pki/tls/certs/ca-bundle.crt (a bind mount over /etc/pki;
where this host has no /etc/pki, an overlay on /etc inside the namespace makes
the mount point, so the host is not touched). Its environment is empty except
for what it is given below: no SSL_CERT_FILE, SSL_CERT_DIR, ?ca= or ssl-ca.

With the bundle there, it reads both passwords from an HTTPS Secrets Manager
stand-in (tests/e2e/fake_lambda.py, certificate of scripts/servers.sh for
localhost), connects to the TLS + AUTH Redis (rediss://localhost, verified) and
to MariaDB with ssl-mode=VERIFY_IDENTITY as a user the server admits only over
TLS, and serves a write and a cached read. Controls: with /etc/pki empty it
cannot verify anything (init fails on the secret), so nothing else supplied
trust; SSL_CERT_FILE, when set, is honoured.

    python3 tests/package/check_al2023_trust.py --zip build-lambda/lambda/rowcache-lambda.zip

Needs root (mount namespaces; it runs itself again through `sudo -n` when
that works) and scripts/servers.sh's environment.
"""
import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "..", "data", "mp6input.csv")
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from fake_lambda import FakeRuntime  # noqa: E402
from fake_s3 import FakeS3  # noqa: E402
from rowcache_e2e import Checks, Redis, entry_key, mariadb, unique  # noqa: E402

# Runs "$@" in the AL2023 layout; $1 a scratch directory, $2 the CA to put in
# /etc/pki/tls/certs/ca-bundle.crt ("" for none). Prints what it checked.
LAYOUT = r'''
d=$1; ca=$2; shift 2
mount -t tmpfs -o mode=755 tmpfs "$d"
mkdir -p "$d/empty" "$d/pki/tls/certs" "$d/up" "$d/work"
if [ -n "$ca" ]; then cp "$ca" "$d/pki/tls/certs/ca-bundle.crt"; chmod 644 "$d/pki/tls/certs/ca-bundle.crt"; fi
if [ ! -d /etc/pki ]; then
  # No /etc/pki on this host: an overlay on /etc, in this namespace only, for the mount point
  # (keeping /etc/hosts and /etc/resolv.conf if they are mounts of their own).
  for f in hosts resolv.conf; do
    if mountpoint -q "/etc/$f"; then : >"$d/$f.keep"; mount --bind "/etc/$f" "$d/$f.keep"; fi
  done
  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/up,workdir=$d/work" /etc
  mkdir /etc/pki
  for f in hosts resolv.conf; do
    if [ -e "$d/$f.keep" ]; then mount --bind "$d/$f.keep" "/etc/$f"; fi
  done
fi
mount --bind "$d/empty" /usr/lib/ssl
mount --bind "$d/empty" /etc/ssl
mount --bind "$d/pki" /etc/pki
for p in /usr/lib/ssl/cert.pem /usr/lib/ssl/certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/cert.pem; do
  if [ -e "$p" ]; then echo "layout: $p exists" >&2; exit 97; fi
done
echo "layout: /usr/lib/ssl and /etc/ssl empty; /etc/pki/tls/certs: $(ls /etc/pki/tls/certs | tr '\n' ' ')" >&2
exec "$@"
'''


def start_al2023(argv, scratch, ca, env):
    """argv (the bootstrap, or ["rowcache", "serve", ...]) in the AL2023 layout with exactly `env` as its
    environment."""
    os.makedirs(scratch, exist_ok=True)
    argv = [argv] if isinstance(argv, str) else list(argv)
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-ec", LAYOUT, "al2023", scratch, ca or "",
           "/usr/bin/env", "-i"] + [f"{k}={v}" for k, v in env.items()] + argv
    return subprocess.Popen(cmd, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def call(rt, event, timeout=20):
    """(kind, document) of the invocation's result; (None, None) at once when init failed."""
    rid = rt.invoke(event)
    with rt.cond:
        rt.cond.wait_for(lambda: rid in rt.results or rt.init_error is not None, timeout)
        got = rt.results.get(rid)
    if got is None:
        return None, None
    return got[0], json.loads(got[1])


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        err = ""
    return err or ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zip", help="the Lambda package (bootstrap is unzipped from it)")
    ap.add_argument("--boot", help="an unzipped bootstrap instead")
    a = ap.parse_args()
    c = Checks()
    required = os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1"
    e = os.environ
    need = ["ROWCACHE_TEST_MYSQL_PORT", "ROWCACHE_TEST_MYSQL_CA", "ROWCACHE_TEST_REDIS_TLS_PORT",
            "ROWCACHE_TEST_REDIS_PASSWORD"]
    missing = [k for k in need if not e.get(k)]
    why = None
    if missing:
        why = f"scripts/servers.sh variables not set: {' '.join(missing)}"
    elif os.geteuid() != 0:
        # Not root: again as root through passwordless sudo, if there is one.
        if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
            sys.stdout.flush()
            os.execvp("sudo", ["sudo", "-n", "-E", sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
        why = "needs root (or passwordless sudo) for unshare -m and mounts"
    elif not shutil.which("unshare"):
        why = "unshare (util-linux) not installed"
    if why:
        if required:
            c.check(f"AL2023 trust store test can run ({why})", False)
        else:
            c.skip("AL2023 trust store", why)
        c.finish()

    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="rowcache-al2023-")
    try:
        if a.zip:
            boot = os.path.join(tmp, "pkg", "bootstrap")
            os.makedirs(os.path.dirname(boot))
            with zipfile.ZipFile(a.zip) as z, open(boot, "wb") as f:
                f.write(z.read("bootstrap"))
            os.chmod(boot, 0o755)
        else:
            boot = os.path.abspath(a.boot)
        ca = e["ROWCACHE_TEST_MYSQL_CA"]
        tls_dir = os.path.dirname(ca)
        cert, key = os.path.join(tls_dir, "redis.crt"), os.path.join(tls_dir, "redis.key")
        mysql_port, redis_port, redis_pw = e["ROWCACHE_TEST_MYSQL_PORT"], e["ROWCACHE_TEST_REDIS_TLS_PORT"], \
            e["ROWCACHE_TEST_REDIS_PASSWORD"]
        table, prefix = unique("al2023"), unique("al2023") + ":"
        creds = {"AWS_ACCESS_KEY_ID": "AKIDAL2023TEST", "AWS_SECRET_ACCESS_KEY": "al2023/secret/key",
                 "AWS_SESSION_TOKEN": "al2023-session-token"}
        db_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rowcache-db-AL2023"
        cache_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rowcache-cache-AL2023"

        def runtime():
            rt = FakeRuntime(tls=(cert, key))
            # rowcache_tls: admitted by the server only over TLS (scripts/servers.sh).
            rt.secrets[db_arn] = json.dumps({"username": "rowcache_tls", "password": "rowcache"})
            rt.secrets[cache_arn] = json.dumps({"password": redis_pw})
            rt.secret_creds = (creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], "us-east-1")
            return rt

        def env_for(rt, **extra):
            env = {"AWS_LAMBDA_RUNTIME_API": rt.api,
                   # No ssl-ca, no ?ca=: the system's store only.
                   "ROWCACHE_DB": f"mysql://nobody@127.0.0.1:{mysql_port}/rowcache?ssl-mode=VERIFY_IDENTITY",
                   "ROWCACHE_DB_SECRET_ARN": db_arn, "ROWCACHE_TABLE": table,
                   "ROWCACHE_CACHE": f"rediss://localhost:{redis_port}/0", "ROWCACHE_CACHE_SECRET_ARN": cache_arn,
                   "ROWCACHE_SECRETS_ENDPOINT": rt.secrets_https_url, "ROWCACHE_KEY_PREFIX": prefix,
                   "ROWCACHE_TTL": "60", **creds}
            env.update(extra)
            return env

        # ------------------------------------------------ the AL2023 layout, bundle present
        rt = runtime()
        proc = start_al2023(boot, os.path.join(tmp, "ns1"), ca, env_for(rt))
        try:
            row = {"hero": "yes", "power": "tls", "name": "al2023", "xp": "7", "color": "green"}
            kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "write", "SQLS": [row]})
            ok = kind == "response" and doc.get("statusCode") == 200 and doc.get("ids")
            c.check("AL2023 layout, no CA path given: init (two secrets over HTTPS, verified TLS to Redis and "
                    "to MariaDB) and a write succeed", ok, f"{kind} {doc} init_error={rt.init_error}")
            nid = doc["ids"][0] if ok else 0
            r = Redis(int(redis_port), host="localhost", tls=True, ca=ca, password=redis_pw)
            try:
                c.check("... the row was written through to the TLS Redis", r.cmd("EXISTS", entry_key(prefix, nid)) == 1)
            finally:
                r.close()
            kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [nid]})
            c.check("... and reads back", kind == "response" and doc.get("statusCode") == 200 and
                    doc["body"][0]["name"] == "al2023", f"{kind} {doc}")
            c.check("... both secrets were read over HTTPS (certificate verified against /etc/pki)",
                    len(rt.secret_schemes) >= 2 and set(rt.secret_schemes) == {"https"}, f"{rt.secret_schemes}")
            try:
                with open(f"/proc/{proc.pid}/environ", "rb") as f:
                    names = sorted(kv.split(b"=", 1)[0].decode() for kv in f.read().split(b"\0") if kv)
            except OSError as err:  # it exited
                names = [f"(cannot read: {err})"]
            c.check("... the process had no SSL_CERT_FILE / SSL_CERT_DIR (its environment: the variables above)",
                    not any(n.startswith("SSL_") for n in names) and "ROWCACHE_DB" in names, f"{names}")
        finally:
            err = stop(proc)
            rt.close()
        c.check("... the namespace had the AL2023 layout", "layout: /usr/lib/ssl and /etc/ssl empty" in err and
                "ca-bundle.crt" in err, err[-500:])

        # ------------------------------------------------ rowcache serve: the fast path's async client too
        # Cached reads are answered on I/O threads through the asynchronous Redis client (its own TLS
        # connections); the same trust store, no CA path given.
        exe = os.path.join(tmp, "pkg-serve", "rowcache")
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        shutil.copy(boot, exe)
        serve = [exe, "serve", "--listen", "127.0.0.1:0", "--db",
                 f"mysql://rowcache_tls:rowcache@127.0.0.1:{mysql_port}/rowcache?ssl-mode=VERIFY_IDENTITY&table={table}",
                 "--cache", f"rediss://:{redis_pw}@localhost:{redis_port}/0", "--key-prefix", prefix + "serve:"]
        proc = start_al2023(serve, os.path.join(tmp, "ns4"), ca, {})
        try:
            line = proc.stdout.readline()
            port = int(line.split("http://127.0.0.1:")[1].split()[0]) if "listening on http://" in line else 0

            def post(body):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/", body=json.dumps(body))
                r = conn.getresponse()
                doc = json.loads(r.read())
                conn.close()
                return doc

            ok = port != 0
            docs = []
            if ok:
                w = post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [dict(row, name="served")]})
                sid = (w.get("ids") or [0])[0]
                docs = [w] + [post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [sid]}) for _ in range(3)]
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/metrics")
                metrics = conn.getresponse().read().decode()
                conn.close()
                tls_errors = [m for m in metrics.splitlines()
                              if m.startswith("rowcache_cache_errors_by_class_total") and 'class="tls"' in m]
                ok = all(d.get("statusCode") == 200 for d in docs) and docs[-1]["body"][0]["name"] == "served" and \
                    all(m.endswith(" 0") for m in tls_errors)
            c.check("rowcache serve in the same layout: verified TLS to MariaDB and Redis, cached reads on the "
                    "fast path (asynchronous client), no TLS cache errors", ok, f"{line!r} {docs[-1:]}")
        finally:
            err = stop(proc)
        if not ok:
            print(err[-600:])

        # ------------------------------------------------ rowcache load from S3 over HTTPS
        # The package's one AWS client (S3 and Secrets Manager share it): an object from an HTTPS
        # S3 stand-in that verifies the signature, same trust store, no CA path given.
        s3 = FakeS3(creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"], token=creds["AWS_SESSION_TOKEN"],
                    tls=(cert, key))
        s3.objects[("data", "mp6input.csv")] = open(SAMPLE, "rb").read()
        db_file = os.path.join(tmp, "s3load.db")
        load = [exe, "load", "--db", f"sqlite:{db_file}", "--from", "s3://data/mp6input.csv",
                "--s3-endpoint", f"https://localhost:{s3.port}"]
        try:
            proc = start_al2023(load, os.path.join(tmp, "ns5"), ca, creds)
            out, err = proc.communicate(timeout=60)
            c.check("rowcache load from the package: an s3:// object over HTTPS (certificate verified against "
                    "/etc/pki, signature checked by the stand-in) loads the 25 rows",
                    proc.returncode == 0 and "25 new" in out and len(s3.requests) == 1, out + err[-500:])
        finally:
            s3.close()

        # ------------------------------------------------ control: nothing in /etc/pki
        rt = runtime()
        proc = start_al2023(boot, os.path.join(tmp, "ns2"), "", env_for(rt))
        try:
            got = rt.wait_init_error(timeout=20)
            doc = json.loads(got[1]) if got else {}
            c.check("control, same layout without the bundle: init fails verifying the secret's server "
                    "(no other trust path)", doc.get("errorType") == "Runtime.SecretUnavailable" and
                    ("certificate" in doc.get("errorMessage", "") or "CA" in doc.get("errorMessage", "")),
                    f"{got}")
        finally:
            err = stop(proc)
            rt.close()

        # ------------------------------------------------ SSL_CERT_FILE is honoured
        rt = runtime()
        proc = start_al2023(boot, os.path.join(tmp, "ns3"), "", env_for(rt, SSL_CERT_FILE=ca))
        try:
            kind, doc = call(rt, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [1]})
            c.check("SSL_CERT_FILE, when set, is used (same layout, no bundle in /etc/pki)",
                    kind == "response" and doc.get("statusCode") == 200, f"{kind} {doc} {rt.init_error}")
        finally:
            stop(proc)
            rt.close()
        try:
            mariadb(f"DROP TABLE IF EXISTS {table}")
        except subprocess.CalledProcessError:
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"time  {time.time() - t0:.1f} s")
    c.finish()


if __name__ == "__main__":
    main()
