"""End-to-end: what a failure shows and what it hides. A 5xx answer carries a
generic message and a request id, never the backend's message (hosts, ports,
users, SQL errors); the details go to stderr in one line under that id.
/healthz reports states only ("ok", "unavailable", "degraded: <class>").

Against real MariaDB (through a fault-injecting TCP proxy, so that the
database can be made to fail) and a Redis of the test's own (killed to take
the cache away).
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
from faultproxy import FaultProxy  # noqa: E402
from rowcache_e2e import Checks, Redis, Server, args, free_port, mariadb, require_servers, unique  # noqa: E402

ROW = {"hero": "yes", "power": "fly", "name": "batman", "xp": 100, "color": "black"}


def leaks(text, words):
    """The words of `words` that appear in text (case-insensitive)."""
    low = text.lower()
    return [w for w in words if w.lower() in low]


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if not servers:
        c.skip("errors against MariaDB", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
        c.finish()
    mysql_url, _ = servers
    mysql_port = int(os.environ.get("ROWCACHE_TEST_MYSQL_PORT", "13306"))
    proxy = FaultProxy(mysql_port)
    rport = free_port()
    rproc = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL)
    for _ in range(50):
        try:
            Redis(rport).cmd("PING")
            break
        except OSError:
            time.sleep(0.1)
    table = unique("e2e_err")
    db_url = mysql_url.replace(f":{mysql_port}/", f":{proxy.port}/") + f"?table={table}"
    # What must never reach a client: the database's address, its user, the
    # driver's and the SQL error texts, the cache's address.
    secrets = ["127.0.0.1", str(proxy.port), str(mysql_port), str(rport), "rowcache@", "'rowcache'", "mysql",
               "mariadb", "sql", "lost connection", "table", table, "redis", "connection refused"]
    srv = Server(a.binary, "--db", db_url, "--cache", f"redis://127.0.0.1:{rport}/0", "--cache-timeout-ms", "200",
                 "--db-timeout", "2", "--no-fast-reads")
    try:
        code, doc = srv.post({"REQUEST": "write", "SQLS": [ROW]})
        c.check("(a write while everything is up)", code == 200, f"{code} {doc}")
        rid = doc["ids"][0]

        # --- the database refuses every connection: 503
        proxy.set_mode("reset")
        code, doc = srv.post({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [rid]})
        body = doc["body"] if isinstance(doc, dict) else {}
        c.check("database down: 503 {error: 'the database is unavailable', request_id}",
                code == 503 and doc.get("statusCode") == 503 and body.get("error") == "the database is unavailable"
                and re.fullmatch(r"[0-9a-f]{16}", body.get("request_id", "")), f"{code} {doc}")
        c.check("... the answer names no host, port, user or driver message", not leaks(str(doc), secrets),
                f"{leaks(str(doc), secrets)} in {doc}")
        read_id = body.get("request_id", "?")
        code, doc = srv.post({"REQUEST": "write", "SQLS": [ROW]})
        c.check("database down: a write is 503 with another request id",
                code == 503 and doc["body"].get("request_id") not in (None, read_id)
                and not leaks(str(doc), secrets), f"{code} {doc}")
        write_id = doc["body"].get("request_id", "?")
        code, text = srv.health_until(lambda code, text: code == 503)
        c.check("/healthz with the database down: 503, states only, and a request id",
                code == 503 and re.fullmatch(r'\{"status": "unavailable", "db": "unavailable", "cache": "ok", '
                                             r'"request_id": "[0-9a-f]{16}"\}', text) is not None, f"{code} {text}")
        c.check("... naming no host, port, user or driver message", not leaks(text, secrets),
                f"{leaks(text, secrets)} in {text}")
        health_id = re.search(r'"request_id": "([0-9a-f]+)"', text).group(1) if "request_id" in text else "?"
        proxy.set_mode("pass")

        # --- an SQL error (the table is gone): 500
        mariadb(f"DROP TABLE {table}")
        code, doc = srv.post({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [rid]})
        c.check("SQL error (table dropped): 500 {error: 'internal error', request_id}",
                code == 500 and doc["body"].get("error") == "internal error" and "request_id" in doc["body"]
                and not leaks(str(doc), secrets), f"{code} {doc}")
        sql_id = doc["body"].get("request_id", "?")

        # --- the cache is gone: reads and writes still work, /healthz says so without details
        rproc.kill()
        rproc.wait()
        code, text = srv.health_until(lambda code, text: '"cache": "unavailable"' in text)
        c.check("/healthz with the cache down: 200, cache 'unavailable' (no message), a request id",
                code == 200 and '"cache": "unavailable"' in text and '"request_id"' in text
                and not leaks(text, secrets), f"{code} {text}")
        cache_id = re.search(r'"request_id": "([0-9a-f]+)"', text).group(1) if "request_id" in text else "?"
        code, text = srv.get("/healthz")
        c.check("... then 'degraded: <error class>' or 'unavailable', nothing more",
                re.search(r'"cache": "(unavailable|degraded: [a-z]+)"', text) is not None, text)
    finally:
        srv.stop()
        if rproc.poll() is None:
            rproc.kill()
        proxy.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")
    log = srv.proc.stderr.read()
    lines = log.splitlines()

    def line_for(request_id):
        found = [ln for ln in lines if f"request {request_id}:" in ln]
        return found[0] if len(found) == 1 else None

    for name, request_id, code, needles in (
            ("the failed read", read_id, "503", [f"127.0.0.1:{proxy.port}"]),
            ("the failed write", write_id, "503", [f"127.0.0.1:{proxy.port}"]),
            ("the failed /healthz", health_id, "503", ["/healthz", f"127.0.0.1:{proxy.port}"]),
            ("the SQL error", sql_id, "500", [table, "doesn't exist"]),
            ("the cache failure in /healthz", cache_id, "200", [f"127.0.0.1:{rport}"])):
        ln = line_for(request_id)
        c.check(f"stderr: one line for {name} under its request id, with the details ({', '.join(needles)})",
                ln is not None and f"request {request_id}: {code}: " in ln and all(n in ln for n in needles),
                f"{ln!r} in {log[-2000:]!r}")
    c.finish()


if __name__ == "__main__":
    main()
