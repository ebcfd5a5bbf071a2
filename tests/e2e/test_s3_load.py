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


def load(binary, db, src, s3, env_extra=None, *flags):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)
    env.update(env_extra or {})
    p = subprocess.run([binary, "load", "--db", db, "--from", src, "--s3-endpoint", f"http://127.0.0.1:{s3.port}",
                        *flags], capture_output=True, text=True, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def main():
    a = args()
    c = Checks()
    s3 = FakeS3(KEY, SECRET, token=TOKEN)
    s3.objects[("data", "mp6input.csv")] = open(SAMPLE, "rb").read()
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
    s3.close()
    c.finish()


if __name__ == "__main__":
    main()
