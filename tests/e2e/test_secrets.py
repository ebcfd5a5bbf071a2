"""End-to-end: no secret leaves in the clear, and none need be on a command line.

- A hostile MySQL server (tests/e2e/fake_mysql.py) that answers the handshake
  by switching authentication to mysql_clear_password, or to
  caching_sha2_password's full authentication over plain TCP (where a client
  asks the server for its RSA key and sends the password encrypted with it):
  `rowcache serve` refuses the switch; the password is in none of the bytes
  the server receives, nor in rowcache's output.
- URL options that would weaken that are refused at start (exit 2):
  enable-cleartext-plugin without ssl-mode=VERIFY_IDENTITY, VERIFY_CA without
  ssl-ca.
- --db-password-file / ROWCACHE_DB_PASSWORD_FILE and --cache-password-file
  (real MariaDB, real TLS Redis with AUTH): the file's password wins over the
  URL's, and the password is not in /proc/PID/cmdline.
"""
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_mysql import FakeMysql  # noqa: E402
from rowcache_e2e import Checks, Server, args, require_servers  # noqa: E402

PASSWORD = "s3cret-Pw-9f2e41"


def run_serve(binary, *flags, env=None, timeout=30):
    """rowcache serve that is expected to exit (it cannot open its backends)."""
    p = subprocess.run([binary, "serve", "--listen", "127.0.0.1:0", *flags], capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout + p.stderr


def hostile_checks(c, binary, tmp):
    pw_file = os.path.join(tmp, "db-pw")
    with open(pw_file, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(pw_file, 0o600)
    for plugin, how in (("mysql_clear_password", "the password in plain text"),
                        ("caching_sha2_password", "full authentication over plain TCP")):
        for given in ("in the URL", "in --db-password-file"):
            srv = FakeMysql(auth_switch=plugin)
            try:
                if given == "in the URL":
                    flags = ["--db", f"mysql://app:{PASSWORD}@127.0.0.1:{srv.port}/app", "--cache", "none"]
                else:
                    flags = ["--db", f"mysql://app@127.0.0.1:{srv.port}/app", "--db-password-file", pw_file,
                             "--cache", "none"]
                rc, out = run_serve(binary, *flags)
                sent = b"".join(r for conn in srv.connections for r in conn.auth_replies)
                asked_key = any(r == b"\x02" for conn in srv.connections for r in conn.auth_replies)
                c.check(f"hostile MySQL switching to {plugin} ({how}), password {given}: refused, the password "
                        f"not sent ({len(srv.connections)} connections, {len(sent)} bytes after the switch)",
                        rc != 0 and srv.connections and PASSWORD.encode() not in sent and not asked_key,
                        f"rc={rc} asked_key={asked_key} sent={sent[:80]!r} {out[-300:]}")
                c.check(f"... ({plugin}, {given}) the password is not in rowcache's output", PASSWORD not in out,
                        out[-300:])
            finally:
                srv.close()


def url_checks(c, binary, tmp):
    ca = os.environ.get("ROWCACHE_TEST_MYSQL_CA") or os.path.join(tmp, "none.pem")
    for name, query, needle in (
            ("enable-cleartext-plugin without TLS", "enable-cleartext-plugin=1", "VERIFY_IDENTITY"),
            ("enable-cleartext-plugin with REQUIRED", "ssl-mode=REQUIRED&enable-cleartext-plugin=1", "VERIFY_IDENTITY"),
            ("enable-cleartext-plugin with VERIFY_CA", f"ssl-mode=VERIFY_CA&ssl-ca={ca}&enable-cleartext-plugin=1",
             "VERIFY_IDENTITY"),
            ("VERIFY_CA without ssl-ca", "ssl-mode=VERIFY_CA", "ssl-ca")):
        rc, out = run_serve(binary, "--db", f"mysql://app:{PASSWORD}@127.0.0.1:1/app?{query}", "--cache", "none")
        c.check(f"{name}: refused at start (exit 2), naming {needle}, not printing the password",
                rc == 2 and needle in out and PASSWORD not in out, f"rc={rc} {out[-300:]}")
    for flag, url in (("--db-password-file", "sqlite:" + os.path.join(tmp, "x.db")),
                      ("--cache-password-file", "memory://")):
        pw = os.path.join(tmp, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD)
        extra = ["--db", url] if flag == "--db-password-file" else ["--db", "sqlite:" + os.path.join(tmp, "x.db"),
                                                                   "--cache", url]
        rc, out = run_serve(binary, *extra, flag, pw)
        c.check(f"{flag} with a {url.split(':')[0]} URL: refused at start (exit 2)",
                rc == 2 and flag in out and PASSWORD not in out, f"rc={rc} {out[-300:]}")
    rc, out = run_serve(binary, "--db", "mysql://app@127.0.0.1:1/app", "--db-password-file",
                        os.path.join(tmp, "missing"))
    c.check("--db-password-file that does not exist: exit 2 naming it", rc == 2 and "missing" in out, out[-300:])


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().decode(errors="replace")


def file_checks(c, binary, tmp, mysql_url):
    m = urllib.parse.urlsplit(mysql_url)
    db_pw = os.path.join(tmp, "mysql-pw")
    with open(db_pw, "w") as f:
        f.write(urllib.parse.unquote(m.password) + "\n")
    os.chmod(db_pw, 0o600)
    wrong_url = f"mysql://{m.username}:wrong-in-url@{m.hostname}:{m.port}{m.path}"
    redis_tls = os.environ.get("ROWCACHE_TEST_REDIS_TLS")
    cache_flags, cache_pw = ["--cache", "memory://"], None
    if redis_tls:
        r = urllib.parse.urlsplit(redis_tls)
        cache_pw = os.path.join(tmp, "redis-pw")
        with open(cache_pw, "w") as f:
            f.write(urllib.parse.unquote(r.password))
        os.chmod(cache_pw, 0o600)
        no_pw = redis_tls.replace(f":{r.password}@", ":wrong-in-url@")
        cache_flags = ["--cache", no_pw, "--cache-password-file", cache_pw]
    elif os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
        c.check("ROWCACHE_TEST_REDIS_TLS is set", False)
    for how, flags, env in (
            ("--db-password-file", ["--db", wrong_url, "--db-password-file", db_pw], None),
            ("ROWCACHE_DB_PASSWORD_FILE", ["--db", wrong_url], dict(os.environ, ROWCACHE_DB_PASSWORD_FILE=db_pw))):
        srv = Server(binary, *flags, *cache_flags, env=env)
        try:
            code, doc = srv.post({"REQUEST": "write", "SQLS": [{"hero": "pwfile", "power": "p", "name": "n",
                                                              "xp": 1, "color": "c"}]})
            rid = doc.get("ids", [None])[0] if isinstance(doc, dict) else None
            code2, doc2 = srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [rid]})
            _, health = srv.get("/healthz")
            line = cmdline(srv.proc.pid)
            c.check(f"{how} wins over the URL's password: writes and reads work"
                    f"{' (and --cache-password-file for TLS Redis: cache ok)' if cache_pw else ''}",
                    code == 200 and code2 == 200 and doc2["body"][0]["hero"] == "pwfile" and
                    (not cache_pw or '"cache": "ok"' in health), f"{code} {doc} {code2} {doc2} {health}")
            real = urllib.parse.unquote(m.password)
            c.check(f"{how}: no password in /proc/PID/cmdline",
                    f":{real}@" not in line and (not cache_pw or open(cache_pw).read() not in line), line)
        finally:
            srv.stop()


def main():
    a = args()
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        hostile_checks(c, a.binary, tmp)
        url_checks(c, a.binary, tmp)
        servers = require_servers()
        if servers:
            file_checks(c, a.binary, tmp, servers[0])
        else:
            c.skip("password files against MariaDB and TLS Redis", "ROWCACHE_TEST_MYSQL / _REDIS not set")
    c.finish()


if __name__ == "__main__":
    main()
