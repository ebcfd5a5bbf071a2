"""End-to-end: the whole API through the real binary on MariaDB and each shape of Redis that
scripts/servers.sh starts (rowcache_e2e.redis_modes()):

  single       redis://127.0.0.1:16379/0
  tls          rediss://:PW@localhost:16380/0?ca=CA            TLS, the certificate verified, AUTH password
  tls-user     rediss://rowcache:rowcachepw@localhost:16380/2?ca=CA   TLS, AUTH as an ACL user, database 2
  cluster      redis://127.0.0.1:17001                         Redis Cluster, 3 masters + 3 replicas
  cluster-tls  rediss://:PW@127.0.0.1:17101?ca=CA              the same over TLS with a password

For each, with a table and a key prefix of its own: the service starts and its banner does not show the
password; /healthz says the cache is ok; test_api.suite() runs with this Redis as the inspector (writes, reads,
hostile text, bad input, concurrency, write-through with its TTL, USE_CACHE False, lazy fill, reads answered
from the cache, update and delete invalidating); the fast path (identical cached reads on one connection are
hits, no query); every key is an entry key prefix + "{id}" holding its row, or its guard (+ ":gen"); on a
cluster the entries are spread over the masters, with tls-user they are in database 2 and not in 0; no cache
error, write-through failure or breaker opening in /metrics; no error in the service's log; SIGTERM exits 0.

    python3 tests/e2e/test_redis_modes.py --binary build/rowcache [--mode cluster ...]

A mode whose URL variable is unset is skipped, and is a failure when ROWCACHE_REQUIRE_SERVERS=1.
"""
import argparse
import json
import os
import re
import sys
import threading
import traceback

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import (REDIS_MODES, Checks, Redis, RedisCluster, Server, entry_key,  # noqa: E402
                          each_redis_mode, mariadb, parse_redis_url, require_servers, unique)
from test_api import ROW, read, suite, write  # noqa: E402

TTL = 100
LOG_ERROR = re.compile(r"error|fail|unavailable|refused|denied|timed? ?out|abort|exception", re.IGNORECASE)


def redact(text, url):
    pw = parse_redis_url(url)["password"]
    return text.replace(pw, "***") if pw else text


def drain(srv):
    """Reads the service's stderr as it comes (so that a chatty log never fills the pipe); returns the list
    of lines and the reading thread."""
    lines = []

    def run():
        for line in srv.proc.stderr:
            lines.append(line.rstrip("\n"))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return lines, t


def healthz(srv):
    code, text = srv.get("/healthz")
    try:
        return code, json.loads(text)
    except ValueError:
        return code, {"raw": text}


def fast_path(c, p, srv):
    """Identical cached reads on one keep-alive connection: answered from the cache (hits), no query."""
    rows = [dict(ROW, name=f"fast{i}", xp=i) for i in range(12)]
    code, doc = write(srv, rows)
    ids = doc.get("ids", []) if isinstance(doc, dict) else []
    if not c.check(p + "fast path: 12 rows written", code == 200 and len(ids) == 12, f"{code} {doc}"):
        return
    want = [dict(r, id=i) for r, i in zip(rows, ids)]
    conn = srv.conn()
    try:
        body = {"USE_CACHE": "True", "REQUEST": "read", "SQLS": ids}
        srv.post(body, conn)  # cached by write-through already; a lazy fill otherwise
        h0, q0 = srv.metric("rowcache_cache_hits_total"), srv.metric("rowcache_db_queries_total")
        answers = [srv.post(body, conn) for _ in range(5)]
        one = {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[0], ids[0]]}
        answers_one = [srv.post(one, conn) for _ in range(5)]
    finally:
        conn.close()
    c.check(p + "fast path: 5 identical 12-id reads answer the rows in order",
            all(code == 200 and d.get("body") == want for code, d in answers), f"{answers[0]}")
    c.check(p + "fast path: 5 identical reads of one id twice",
            all(code == 200 and d.get("body") == [want[0], want[0]] for code, d in answers_one), f"{answers_one[0]}")
    h1, q1 = srv.metric("rowcache_cache_hits_total"), srv.metric("rowcache_db_queries_total")
    # A repeated id counts once per request (as in test_fast_reads.py): 5 x 12 + 5 x 1.
    c.check(p + "fast path: rowcache_cache_hits_total grew by 65 and no database query",
            h0 is not None and h1 == h0 + 65 and q1 == q0, f"hits {h0} -> {h1}, queries {q0} -> {q1}")


def check_keys(c, p, redis, url, prefix, cluster):
    """Every key under the prefix is an entry key holding its own row, or a guard; where they live."""
    keys = redis.keys_matching(prefix + "*")
    pat = re.compile(re.escape(prefix) + r"\{(\d+)\}(:gen)?")
    bad = [k for k in keys if not pat.fullmatch(k)]
    entries = [k for k in keys if pat.fullmatch(k) and not k.endswith(":gen")]
    c.check(p + f"every key is prefix{{id}} or prefix{{id}}:gen ({len(entries)} entries, {len(keys)} keys)",
            entries and not bad, f"{bad[:5]}")
    wrong = []
    for k in entries[:50]:
        v = redis.cmd("GET", k)
        try:
            ok = v is None or entry_key(prefix, json.loads(v)["id"]) == k
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            wrong.append((k, v))
    c.check(p + "each entry holds the row of its own id", not wrong, f"{wrong[:3]}")
    if cluster:
        per = {m: len(redis.node(m).keys_matching(prefix + "*")) for m in redis.masters}
        c.check(p + f"the entries are spread over the cluster's masters {per}",
                sum(1 for n in per.values() if n) >= 2, f"{per}")
    kw = parse_redis_url(url)
    if not cluster and kw["db"] not in (None, 0):
        with Redis(**dict(kw, db=0)) as db0:
            stray = db0.keys_matching(prefix + "*")
        c.check(p + f"the entries are in database {kw['db']}, none in database 0", not stray, f"{stray[:3]}")


def run_mode(c, binary, mysql_url, tag, url):
    p = f"[{tag}] "
    cluster = tag.startswith("cluster")
    name = unique("modes_" + tag.replace("-", "_"))
    table, prefix = name, name + ":"
    try:
        redis = Redis.from_url(url)
    except Exception as e:  # noqa: BLE001 - any failure to reach the server is this mode's failure
        c.check(p + "the test reaches this Redis", False, redact(f"{url}: {e!r}", url))
        return
    c.check(p + ("the test sees a cluster" if cluster else "the test sees a single server"),
            isinstance(redis, RedisCluster) == cluster, type(redis).__name__)
    srv = None
    try:
        try:
            srv = Server(binary, "--db", f"{mysql_url}?table={table}", "--cache", url, "--key-prefix", prefix,
                         "--ttl", str(TTL), "--max-batch", "50", "--max-read-batch", "50",
                         "--max-body-bytes", str(256 * 1024))
        except RuntimeError as e:
            c.check(p + "rowcache serve starts with this cache URL", False, redact(str(e), url))
            return
        srv.table = table
        log, reader = drain(srv)
        pw = parse_redis_url(url)["password"]
        c.check(p + "the banner names the cache without its password", not pw or pw not in srv.banner,
                redact(srv.banner, url))
        code, doc = healthz(srv)
        c.check(p + "/healthz: 200, cache ok", code == 200 and doc.get("cache") == "ok", f"{code} {doc}")
        try:
            suite(c, srv, tag, redis, prefix, TTL)
            fast_path(c, p, srv)
            check_keys(c, p, redis, url, prefix, cluster)
        except Exception:  # noqa: BLE001 - an answer the checks did not expect: this mode fails, the next runs
            c.check(p + "the checks ran to the end", False, traceback.format_exc())
        code, doc = healthz(srv)
        c.check(p + "/healthz still says cache ok", code == 200 and doc.get("cache") == "ok", f"{code} {doc}")
        for metric in ["rowcache_cache_errors_total", "rowcache_write_through_failures_total",
                       "rowcache_cache_breaker_opens_total", "rowcache_cache_corrupt_total",
                       "rowcache_pending_invalidations"]:
            v = srv.metric(metric)
            c.check(p + f"{metric} is 0", v == 0, f"{v}")
        rc = srv.stop()
        srv = None
        c.check(p + "SIGTERM exits 0", rc == 0, f"{rc}")
        reader.join(5)
        errors = [line for line in log if LOG_ERROR.search(line)]
        c.check(p + "the service logged no error", not errors, redact(" | ".join(errors[:5]), url))
    finally:
        if srv is not None:
            srv.stop()
        try:
            keys = redis.keys_matching(prefix + "*")
            if keys:
                redis.cmd("DEL", *keys)
        except Exception as e:  # noqa: BLE001 - cleanup only
            print(f"note: {p}could not remove the test's keys: {e!r}")
        redis.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--mode", action="append", choices=[t for t, _ in REDIS_MODES],
                    help="run only this mode (repeatable; default all)")
    a = ap.parse_args()
    c = Checks()
    servers = require_servers()
    if servers is None:
        c.skip("every Redis mode", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
        c.finish()
    mysql_url = servers[0]
    for tag, url in each_redis_mode(c, a.mode):
        run_mode(c, a.binary, mysql_url, tag, url)
    c.finish()


if __name__ == "__main__":
    main()
