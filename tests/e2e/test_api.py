"""End-to-end: every rule of the API through the real binary over HTTP, on the
embedded backends (SQLite + memory) and on real MariaDB + Redis."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import (Checks, Redis, Server, args, entry_key, free_port, mariadb, require_servers,  # noqa: E402
                          unique)

EMOJI20 = "\U0001F600" * 20
ROW = {"hero": "yes", "name": "fireman", "power": "fire", "color": "red", "xp": "10"}


def write(srv, rows, use_cache="True"):
    return srv.post({"USE_CACHE": use_cache, "REQUEST": "write", "SQLS": rows})


def read(srv, ids, use_cache="True"):
    return srv.post({"USE_CACHE": use_cache, "REQUEST": "read", "SQLS": ids})


def expect_error(c, srv, name, body, status, needle):
    code, doc = srv.post(body)
    ok = (code == status and isinstance(doc, dict) and doc.get("statusCode") == status
          and isinstance(doc.get("body"), dict) and needle in doc["body"].get("error", ""))
    c.check(f"{name} -> {status} naming '{needle}'", ok, f"got {code} {doc}")


def read_many(srv, ids, use_cache="False"):
    """Reads any number of ids in requests of at most 50 (the suites' --max-read-batch)."""
    rows = []
    for i in range(0, len(ids), 50):
        code, doc = read(srv, ids[i:i + 50], use_cache)
        assert code == 200, doc
        rows += doc["body"]
    return rows


def count_rows(srv, max_id):
    return sum(1 for r in read_many(srv, list(range(1, max_id + 1))) if r is not None)


def suite(c, srv, tag, redis=None, prefix=None, ttl=100):
    """Every rule of the API through `srv`. With `redis` (an inspector: anything with the cmd() of
    rowcache_e2e.Redis, such as a RedisCluster) and the service's key prefix, also what the cache holds;
    srv.table names the MariaDB table then."""
    p = f"[{tag}] "
    # Writes: ids assigned by the database, in order.
    code, doc = write(srv, [ROW, dict(ROW, name="waterman", xp=20)])
    ids = doc.get("ids", []) if isinstance(doc, dict) else []
    c.check(p + "write answers write success", code == 200 and doc.get("body") == "write success"
            and doc.get("statusCode") == 200, f"{code} {doc}")
    c.check(p + "write reports two increasing ids", len(ids) == 2 and ids[0] < ids[1], f"{ids}")
    a, b = ids if len(ids) == 2 else (1, 2)

    # Reads: order, duplicates, missing ids, types.
    code, doc = read(srv, [b, 999999, a, b])
    body = doc.get("body") if isinstance(doc, dict) else None
    c.check(p + "read answers in the order asked with null for a missing id",
            code == 200 and isinstance(body, list) and len(body) == 4 and body[1] is None
            and body[0]["id"] == b and body[2]["id"] == a and body[3] == body[0], f"{doc}")
    if isinstance(body, list) and body[2]:
        r = body[2]
        c.check(p + "id and xp are integers, strings verbatim",
                r == {"id": a, "hero": "yes", "power": "fire", "name": "fireman", "xp": 10, "color": "red"}, f"{r}")
    for form in ["True", "False", True, False, "true"]:
        code, doc = read(srv, [a], form)
        c.check(p + f"USE_CACHE {form!r} accepted", code == 200 and doc["body"][0]["id"] == a, f"{code} {doc}")

    # Hostile text round-trips through the database and the cache.
    hostile = {"hero": "O'Brien \"q\" \\ x", "power": "'; DROP TABLE x;--", "name": EMOJI20,
               "color": "é\nñ\t中", "xp": -2147483648}
    code, doc = write(srv, [hostile])
    hid = doc["ids"][0] if code == 200 else 0
    for mode in ["True", "False", "True"]:
        code, doc = read(srv, [hid], mode)
        got = doc["body"][0] if code == 200 else None
        c.check(p + f"hostile text verbatim (USE_CACHE {mode})",
                got == dict(hostile, id=hid), f"{got}")

    # All-or-nothing batch.
    before = count_rows(srv, hid + 10)
    bad = [ROW, ROW, dict(ROW, xp="ten")]
    expect_error(c, srv, p + "batch with a bad third row", {"REQUEST": "write", "SQLS": bad}, 400, "SQLS[2].xp")
    c.check(p + "the rejected batch wrote nothing", count_rows(srv, hid + 10) == before)

    # Every bad input.
    for name, body, status, needle in [
        ("malformed JSON", "{\"REQUEST\": ", 400, "not valid JSON"),
        ("non-object body", "[1, 2]", 400, "expected a JSON object"),
        ("missing REQUEST", {"SQLS": [1]}, 400, "REQUEST: missing"),
        ("unknown REQUEST", {"REQUEST": "drop", "SQLS": [1]}, 400, "REQUEST: unknown value"),
        ("missing SQLS", {"REQUEST": "read"}, 400, "SQLS: missing"),
        ("SQLS not a list", {"REQUEST": "read", "SQLS": "1,2"}, 400, "SQLS: expected a list"),
        ("non-integer id", {"REQUEST": "read", "SQLS": [1, "x"]}, 400, "SQLS[1]"),
        ("fractional id", {"REQUEST": "read", "SQLS": [1.5]}, 400, "SQLS[0]"),
        ("zero id", {"REQUEST": "read", "SQLS": [0]}, 400, "out of range"),
        ("negative id", {"REQUEST": "read", "SQLS": [-1]}, 400, "out of range"),
        ("too large id", {"REQUEST": "read", "SQLS": [2**31]}, 400, "out of range"),
        ("bad USE_CACHE", {"REQUEST": "read", "SQLS": [1], "USE_CACHE": "maybe"}, 400, "USE_CACHE"),
        ("missing field", {"REQUEST": "write", "SQLS": [{"hero": "a", "power": "b", "name": "c", "xp": 1}]},
         400, "SQLS[0].color: missing"),
        ("unknown field", {"REQUEST": "write", "SQLS": [dict(ROW, level=3)]}, 400, "SQLS[0].level: unknown field"),
        ("id in a write", {"REQUEST": "write", "SQLS": [dict(ROW, id=5)]}, 400, "SQLS[0].id"),
        ("21 characters", {"REQUEST": "write", "SQLS": [dict(ROW, hero="a" * 21)]}, 400,
         "SQLS[0].hero: 21 characters"),
        ("21 emoji", {"REQUEST": "write", "SQLS": [dict(ROW, name=EMOJI20 + "\U0001F600")]}, 400,
         "SQLS[0].name: 21 characters"),
        ("xp not an integer", {"REQUEST": "write", "SQLS": [dict(ROW, xp="1e3")]}, 400, "SQLS[0].xp"),
        ("xp out of range", {"REQUEST": "write", "SQLS": [dict(ROW, xp=2**31)]}, 400, "SQLS[0].xp"),
        ("string hero as number", {"REQUEST": "write", "SQLS": [dict(ROW, hero=5)]}, 400,
         "SQLS[0].hero: expected a string"),
        ("read over --max-read-batch", {"REQUEST": "read", "SQLS": list(range(1, 52))}, 413,
         "51 items, more than the limit of 50 for a read"),
        ("write over --max-batch", {"REQUEST": "write", "SQLS": [ROW] * 51}, 413,
         "51 items, more than the limit of 50"),
    ]:
        expect_error(c, srv, p + name, body, status, needle)
    code, doc = srv.post("x" * (300 * 1024))
    c.check(p + "body over the limit -> 413", code == 413 and doc.get("statusCode") == 413
            and "larger than the limit" in doc["body"]["error"], f"{code} {str(doc)[:200]}")
    code, doc = read(srv, [])
    c.check(p + "empty read", code == 200 and doc["body"] == [], f"{doc}")
    code, doc = write(srv, [])
    c.check(p + "empty write", code == 200 and doc["body"] == "write success" and doc["ids"] == [], f"{doc}")
    c.check(p + "still serving after bad input", srv.alive() and read(srv, [a])[0] == 200)

    # Concurrency: distinct ids, every row reads back exactly.
    results, lock = [], threading.Lock()

    def worker(t):
        conn = srv.conn()
        for i in range(25):
            row = {"hero": f"t{t}", "power": f"i{i}", "name": "c", "xp": t * 1000 + i, "color": "z"}
            code, doc = srv.post({"REQUEST": "write", "SQLS": [row]}, conn)
            with lock:
                results.append((code, doc.get("ids", [None])[0] if isinstance(doc, dict) else None, row))
        conn.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got_ids = [r[1] for r in results if r[0] == 200]
    c.check(p + "8 concurrent writers: 200 distinct ids", len(got_ids) == 200 and len(set(got_ids)) == 200,
            f"{len(got_ids)} ok, {len(set(got_ids))} distinct")
    back = {r["id"]: r for r in read_many(srv, got_ids) if r}
    c.check(p + "every concurrent write reads back exactly",
            all(back.get(i) == dict(row, id=i) for _, i, row in results), "")

    if redis is None:
        return a, b
    # Write-through visible in Redis, with the configured TTL and jitter.
    code, doc = write(srv, [dict(ROW, name="cached")])
    wid = doc["ids"][0]
    raw = redis.cmd("GET", entry_key(prefix, wid))
    c.check(p + "write-through: the row is in Redis as its JSON", raw is not None and
            __import__("json").loads(raw) == {"id": wid, "hero": "yes", "power": "fire", "name": "cached",
                                              "xp": 10, "color": "red"}, f"{raw}")
    t = redis.cmd("TTL", entry_key(prefix, wid))
    c.check(p + f"TTL within {ttl}±10%", isinstance(t, int) and ttl * 0.9 - 1 <= t <= ttl * 1.1, f"{t}")
    code, doc = write(srv, [dict(ROW, name="nocache")], "False")
    nid = doc["ids"][0]
    c.check(p + "USE_CACHE False write leaves Redis alone", redis.cmd("EXISTS", entry_key(prefix, nid)) == 0)
    read(srv, [nid], "False")
    c.check(p + "USE_CACHE False read does not fill", redis.cmd("EXISTS", entry_key(prefix, nid)) == 0)

    # Lazy fill of a row inserted straight into the database.
    table = srv.table
    mariadb(f"INSERT INTO {table} (hero, power, name, xp, color) VALUES ('direct', 'p', 'n', 5, 'c')")
    did = int(mariadb(f"SELECT MAX(id) FROM {table}").strip())
    q0, h0 = srv.metric("rowcache_db_queries_total"), srv.metric("rowcache_cache_hits_total")
    code, doc = read(srv, [did])
    c.check(p + "a row inserted directly is read", code == 200 and doc["body"][0]["hero"] == "direct", f"{doc}")
    c.check(p + "lazy loading filled the cache", redis.cmd("EXISTS", entry_key(prefix, did)) == 1)
    q1 = srv.metric("rowcache_db_queries_total")
    read(srv, [did])
    c.check(p + "the second read is a hit and no query",
            srv.metric("rowcache_cache_hits_total") == h0 + 1 and srv.metric("rowcache_db_queries_total") == q1
            and q1 == q0 + 1, f"q {q0}->{q1}, h {h0}")
    # Reads really come from the cache.
    redis.cmd("SET", entry_key(prefix, did), '{"id": %d, "hero": "planted", "power": "p", "name": "n", "xp": 5, '
              '"color": "c"}' % did, "EX", "100")
    c.check(p + "a cached read returns what the cache holds", read(srv, [did])[1]["body"][0]["hero"] == "planted")
    c.check(p + "USE_CACHE False returns the database row", read(srv, [did], "False")[1]["body"][0]["hero"]
            == "direct")
    # Update and delete invalidate.
    code, doc = srv.post({"REQUEST": "update", "SQLS": [{"id": did, "hero": "updated"}]})
    c.check(p + "update answers update success", code == 200 and doc["body"] == "update success", f"{doc}")
    c.check(p + "update invalidated the cached row", read(srv, [did])[1]["body"][0]["hero"] == "updated")
    code, doc = srv.post({"REQUEST": "delete", "SQLS": [did]})
    c.check(p + "delete answers the deleted ids", code == 200 and doc["ids"] == [did], f"{doc}")
    c.check(p + "a deleted row reads as null", read(srv, [did])[1]["body"] == [None])
    return a, b


def main():
    a = args()
    c = Checks()
    tmp = tempfile.mkdtemp()
    try:
        srv = Server(a.binary, "--db", f"sqlite:{tmp}/db.sqlite", "--cache", "memory://", "--max-batch", "50",
                     "--max-read-batch", "50", "--max-body-bytes", str(256 * 1024))
        try:
            suite(c, srv, "sqlite+memory")
        finally:
            c.check("[sqlite+memory] SIGTERM exits 0", srv.stop() == 0)

        servers = require_servers()
        if servers is None:
            c.skip("mariadb+redis suite", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
            c.finish()
        mysql_url, redis_url = servers
        table, prefix = unique("e2e"), unique("e2e") + ":"
        srv = Server(a.binary, "--db", f"{mysql_url}?table={table}", "--cache", redis_url, "--key-prefix", prefix,
                     "--ttl", "100", "--max-batch", "50", "--max-read-batch", "50",
                     "--max-body-bytes", str(256 * 1024))
        srv.table = table
        redis = Redis(int(os.environ.get("ROWCACHE_TEST_REDIS_PORT", "16379")))
        try:
            suite(c, srv, "mariadb+redis", redis, prefix, 100)
        finally:
            c.check("[mariadb+redis] SIGTERM exits 0", srv.stop() == 0)
            mariadb(f"DROP TABLE IF EXISTS {table}")

        # Cache outage: a Redis of our own, killed and restarted mid-test.
        rport = free_port()
        rproc = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"], stdout=subprocess.DEVNULL)
        time.sleep(0.3)
        table = unique("e2e_outage")
        srv = Server(a.binary, "--db", f"{mysql_url}?table={table}", "--cache", f"redis://127.0.0.1:{rport}/0",
                     "--cache-timeout-ms", "100")
        srv.table = table
        try:
            code, doc = write(srv, [ROW])
            oid = doc["ids"][0]
            rproc.kill()
            rproc.wait()
            code, doc = read(srv, [oid])
            c.check("[outage] reads answer from the database with Redis down", code == 200 and doc["body"][0]["id"]
                    == oid, f"{code} {doc}")
            code, doc = write(srv, [ROW])
            c.check("[outage] writes succeed with Redis down", code == 200 and doc["body"] == "write success")
            oid2 = doc["ids"][0]
            code, doc = srv.post({"REQUEST": "update", "SQLS": [{"id": oid, "hero": "during"}]})
            c.check("[outage] updates succeed with Redis down", code == 200, f"{doc}")
            code, text = srv.health_until(lambda code, text: "unavailable" in text)
            c.check("[outage] /healthz stays 200 and reports the cache", code == 200 and "unavailable" in text, text)
            rproc = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL)
            time.sleep(1.5)  # past the breaker's open period
            for _ in range(3):
                read(srv, [oid, oid2])
            code, doc = read(srv, [oid, oid2])
            c.check("[outage] after recovery the rows are right", code == 200 and doc["body"][0]["hero"] == "during"
                    and doc["body"][1]["id"] == oid2, f"{doc}")
            r = Redis(rport)
            c.check("[outage] after recovery the cache is used again",
                    r.cmd("EXISTS", entry_key("rowcache:heroes:", oid)) == 1)
        finally:
            srv.stop()
            rproc.kill()
            mariadb(f"DROP TABLE IF EXISTS {table}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
