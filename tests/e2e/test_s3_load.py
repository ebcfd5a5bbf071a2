"""End-to-end: `rowcache load --from s3://...` against an S3-compatible server
on loopback that verifies Signature V4, and its failure cases."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from fake_s3 import FakeS3  # noqa: E402
from rowcache_e2e import Checks, args, mariadb, require_servers, unique  # noqa: E402

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "data", "mp6input.csv")
KEY, SECRET, TOKEN = "AKIDTESTKEY", "test/secret+key", "session-token-xyz"


def load(binary, db, src, s3, env_extra=None, *flags, scheme="http", host="127.0.0.1"):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)
    env.update(env_extra or {})
    p = subprocess.run([binary, "load", "--db", db, "--from", src, "--s3-endpoint", f"{scheme}://{host}:{s3.port}",
                        *flags], capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def aurora_checks(c, binary, mysql_url, s3):
    """--aurora-native: the statement it builds (LOAD DATA FROM S3 is Aurora's
    and cannot run here), checked by running the same statement with LOCAL
    INFILE in place of FROM S3 on MariaDB and comparing with a streamed load."""
    native, streamed = unique("e2e_aurora"), unique("e2e_stream")
    try:
        rc, out, err = load(binary, f"{mysql_url}?table={native}", "s3://data/mp6input.csv", s3, None,
                            "--aurora-native", "--print-sql")
        want = f"LOAD DATA FROM S3 's3-us-east-1://data/mp6input.csv' IGNORE INTO TABLE `{native}`"
        c.check("--aurora-native --print-sql: the statement, 1 leading line detected from the object",
                rc == 0 and out.startswith(want) and "IGNORE 1 LINES" in out, out + err)
        local = out.strip().rstrip(";").replace("LOAD DATA FROM S3 's3-us-east-1://data/mp6input.csv'",
                                                f"LOAD DATA LOCAL INFILE '{os.path.abspath(SAMPLE)}'")
        rc2, _, err2 = load(binary, f"{mysql_url}?table={streamed}", "s3://data/mp6input.csv", s3)
        mariadb(f"CREATE TABLE {native} LIKE {streamed}")
        port = os.environ.get("ROWCACHE_TEST_MYSQL_PORT", "13306")
        r = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-urowcache", "-prowcache", "--local-infile=1",
                            "rowcache", "-e", local], capture_output=True, text=True)
        same = mariadb(f"SELECT COUNT(*) FROM {native} n JOIN {streamed} s USING (id) WHERE n.hero = s.hero AND "
                       f"n.power = s.power AND n.name = s.name AND n.xp = s.xp AND n.color = s.color").strip()
        total = mariadb(f"SELECT COUNT(*) FROM {native}").strip()
        c.check("... the statement (with LOCAL INFILE for FROM S3) loads the 25 rows exactly as the streamed load",
                rc2 == 0 and r.returncode == 0 and same == "25" and total == "25", f"{r.stderr} {err2} {same}/{total}")
        rc, out, err = load(binary, f"{mysql_url}?table={native}", "s3://data/mp6input.csv", s3, None,
                            "--aurora-native")
        c.check("--aurora-native on MariaDB: the server refuses; clear message, exit 1",
                rc == 1 and "LOAD DATA FROM S3 failed" in err and "Aurora" in err, err)
        rc, out, err = load(binary, f"{mysql_url}?table={native}", "s3://data/mp6input.csv", s3, None,
                            "--aurora-native", "--cache", "redis://127.0.0.1:1")
        c.check("--aurora-native with --cache: refused (rows never pass through rowcache), exit 2",
                rc == 2 and "--cache" in err, err)
        rc, out, err = load(binary, "sqlite:/tmp/x.db", "s3://data/mp6input.csv", s3, None, "--aurora-native")
        c.check("--aurora-native with a sqlite database: exit 2 naming mysql://", rc == 2 and "mysql://" in err, err)
    finally:
        mariadb(f"DROP TABLE IF EXISTS {native}; DROP TABLE IF EXISTS {streamed}")


def s3rver_checks(c, binary, mysql_url):
    """A real S3-compatible server (s3rver, installed by scripts/test-tools.sh).
    It does not verify signatures; the fake above does."""
    exe = os.path.join(os.environ.get("ROWCACHE_TOOLS_DIR", os.path.expanduser("~/.cache/rowcache-tools")),
                       "node_modules", ".bin", "s3rver")
    if not os.path.exists(exe):
        if os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
            c.check("s3rver installed (scripts/test-tools.sh)", False, exe)
        else:
            c.skip("s3rver", "not installed: scripts/test-tools.sh")
        return
    import socket
    import time
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with tempfile.TemporaryDirectory() as d:
        proc = subprocess.Popen([exe, "-d", d, "-a", "127.0.0.1", "-p", str(port), "-s", "--configure-bucket", "e2e"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        table = unique("e2e_s3rver")
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            up = subprocess.run(["curl", "-s", "-f", "-X", "PUT", "--data-binary", "@" + SAMPLE,
                                 "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "--aws-sigv4", "aws:amz:us-east-1:s3",
                                 "--user", "S3RVER:S3RVER", f"http://127.0.0.1:{port}/e2e/mp6input.csv"],
                                capture_output=True, text=True)
            env = dict(os.environ, AWS_ACCESS_KEY_ID="S3RVER", AWS_SECRET_ACCESS_KEY="S3RVER")
            env.pop("AWS_SESSION_TOKEN", None)
            p = subprocess.run([binary, "load", "--db", f"{mysql_url}?table={table}", "--from", "s3://e2e/mp6input.csv",
                                "--s3-endpoint", f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                               env=env, timeout=120)
            n = mariadb(f"SELECT COUNT(*) FROM {table}").strip() if p.returncode == 0 else "?"
            c.check("s3rver (a real S3-compatible server): the sample loads into MariaDB",
                    up.returncode == 0 and p.returncode == 0 and n == "25", up.stderr + p.stdout + p.stderr)
            p = subprocess.run([binary, "load", "--db", f"{mysql_url}?table={table}", "--from", "s3://e2e/none.csv",
                                "--s3-endpoint", f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                               env=env, timeout=120)
            c.check("s3rver: a missing key is a clear error", p.returncode != 0 and "no such key" in p.stderr, p.stderr)
        finally:
            proc.terminate()
            proc.wait()
            mariadb(f"DROP TABLE IF EXISTS {table}")


def https_checks(c, binary, db):
    """S3 over HTTPS, the certificate verified against the system's trust store
    (here the test CA, named by SSL_CERT_FILE as a user would)."""
    tls_dir = os.path.dirname(os.environ.get("ROWCACHE_TEST_REDIS_CA", ""))
    cert, key = os.path.join(tls_dir, "redis.crt"), os.path.join(tls_dir, "redis.key")
    if not tls_dir or not os.path.exists(cert):
        if os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
            c.check("the test CA (scripts/servers.sh) for HTTPS checks", False, tls_dir)
        else:
            c.skip("S3 over HTTPS", "no test CA: scripts/servers.sh start")
        return
    s3 = FakeS3(KEY, SECRET, token=TOKEN, tls=(cert, key))
    s3.objects[("data", "mp6input.csv")] = open(SAMPLE, "rb").read()
    try:
        trusted = {"SSL_CERT_FILE": os.path.join(tls_dir, "ca.crt")}
        rc, out, err = load(binary, db, "s3://data/mp6input.csv", s3, trusted, scheme="https", host="localhost")
        c.check("S3 over HTTPS, certificate verified against SSL_CERT_FILE's store: loads, signature checked",
                rc == 0 and "25" in out and len(s3.requests) == 1, out + err)
        rc, out, err = load(binary, db, "s3://data/mp6input.csv", s3, {"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
                            scheme="https", host="localhost")
        c.check("S3 over HTTPS with a certificate the trust store does not vouch for: refused, nothing sent",
                rc != 0 and "certificate" in err and len(s3.requests) == 1, err)
    finally:
        s3.close()


def main():
    a = args()
    c = Checks()
    s3 = FakeS3(KEY, SECRET, token=TOKEN)
    s3.objects[("data", "mp6input.csv")] = open(SAMPLE, "rb").read()
    with tempfile.TemporaryDirectory() as tmp:
        https_checks(c, a.binary, f"sqlite:{tmp}/https.db")
    # A bigger object (200,000 rows, ~6 MB) to stream through the bounded buffer.
    big = "".join(f"{i},h{i % 97},p,n{i % 13},{i % 1000},c\n" for i in range(1, 200001)).encode()
    s3.objects[("data", "dir/big file.csv")] = big
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:{tmp}/s3.db"
        rc, out, err = load(a.binary, db, "s3://data/mp6input.csv", s3)
        c.check("loads the sample from S3 (signature verified by the server)", rc == 0 and "25 new" in out, out + err)
        hdr = s3.requests[-1]
        c.check("sends x-amz-content-sha256 and the session token, signed",
                hdr.get("x-amz-content-sha256") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
                and hdr.get("x-amz-security-token") == TOKEN
                and "x-amz-security-token" in hdr["authorization"].split("SignedHeaders=")[1], str(hdr))
        rc, out, err = load(a.binary, db, "s3://data/dir/big file.csv", s3)
        c.check("streams a 200,000-row object with a space in its key", rc == 0 and "200000 rows" in out, out + err)
        rc, out, err = load(a.binary, db, "s3://data/nope.csv", s3)
        c.check("missing key: clear message, non-zero exit", rc != 0 and "no such key" in err, err)
        rc, out, err = load(a.binary, db, "s3://nobucket/x.csv", s3)
        c.check("missing bucket: clear message, non-zero exit", rc != 0 and "no such bucket" in err, err)
        rc, out, err = load(a.binary, db, "s3://data/mp6input.csv", s3, {"AWS_SECRET_ACCESS_KEY": "wrong"})
        c.check("wrong secret: access denied, non-zero exit", rc != 0 and "access denied" in err
                and "SignatureDoesNotMatch" in err, err)
        rc, out, err = load(a.binary, db, "s3://data/mp6input.csv", s3, {"AWS_ACCESS_KEY_ID": ""})
        c.check("no credentials: clear message, exit 2", rc == 2 and "AWS_ACCESS_KEY_ID" in err, err)
        s3.cut_after = 1_000_000
        rc, out, err = load(a.binary, f"sqlite:{tmp}/cut.db", "s3://data/dir/big file.csv", s3, None,
                            "--batch-rows", "1000000")
        c.check("connection lost mid-stream: clear message, non-zero exit, nothing half-loaded unannounced",
                rc != 0 and ("after" in err or "lost" in err), err)
        s3.cut_after = None
        rc, out, err = load(a.binary, f"sqlite:{tmp}/cut.db", "s3://data/mp6input.csv", s3)
        c.check("the interrupted load left no rows (one batch, rolled back)", rc == 0 and "25 new" in out, out + err)
        rc, out, err = load(a.binary, db, "s3://data/mp6input.csv", s3, None, "--strict")
        c.check("--strict reads the object twice and loads", rc == 0 and "25 kept" in out, out + err)
    servers = require_servers()
    if servers is None:
        c.skip("s3 -> mariadb", "ROWCACHE_TEST_MYSQL not set")
    else:
        table = unique("e2e_s3")
        try:
            rc, out, err = load(a.binary, f"{servers[0]}?table={table}", "s3://data/dir/big file.csv", s3)
            n = mariadb(f"SELECT COUNT(*) FROM {table}").strip()
            c.check("streams 200,000 rows from S3 into MariaDB", rc == 0 and n == "200000", out + err + n)
        finally:
            mariadb(f"DROP TABLE IF EXISTS {table}")
        rc, out, err = load(a.binary, "mysql://rowcache:x@127.0.0.1:1/rowcache", "s3://data/mp6input.csv", s3)
        c.check("database down: clear message, non-zero exit", rc != 0 and "127.0.0.1:1" in err, err)
        aurora_checks(c, a.binary, servers[0], s3)
        s3rver_checks(c, a.binary, servers[0])
    s3.close()
    c.finish()


if __name__ == "__main__":
    main()
