"""End-to-end: invalidations still pending when `rowcache serve` stops are not
dropped silently (real MariaDB and Redis, the cache behind a fault proxy).

A row is read (cached), the proxy starts resetting every connection, the row
is updated (its invalidation fails and is kept pending), and the server is
sent SIGTERM with no request in between:
- the cache back before the stop: the server invalidates the entry on its
  way out (Redis no longer holds it);
- the cache still down: within the exit budget (3 s) the server gives up and
  logs one line naming the id whose entry may be stale.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
from faultproxy import FaultProxy  # noqa: E402
from rowcache_e2e import Checks, Redis, Server, args, entry_key, mariadb, require_servers, unique  # noqa: E402

ROW = {"hero": "exit", "power": "p", "name": "n", "xp": 1, "color": "c"}


def one_run(c, binary, mysql_url, redis_port, back_before_stop):
    table = unique("e2e_exit")
    prefix = f"rowcache:{table}:"
    proxy = FaultProxy(redis_port)
    redis = Redis(redis_port)
    what = "cache back before the stop" if back_before_stop else "cache still down at the stop"
    try:
        srv = Server(binary, "--db", f"{mysql_url}?table={table}", "--cache", f"redis://127.0.0.1:{proxy.port}",
                     "--key-prefix", prefix, "--no-fast-reads", "--cache-breaker-failures", "0")
        code, doc = srv.post({"REQUEST": "write", "SQLS": [ROW]})
        rid = doc["ids"][0]
        srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [rid]})
        cached = redis.cmd("EXISTS", entry_key(prefix, rid)) == 1
        proxy.set_mode("reset")
        code, doc = srv.post({"REQUEST": "update", "SQLS": [{"id": rid, "hero": "changed"}]})
        pending = srv.metric("rowcache_pending_invalidations")
        c.check(f"[{what}] the entry was cached, the update succeeded and its invalidation is pending ({pending})",
                cached and code == 200 and pending == 1, f"{cached} {code} {doc} {pending}")
        if back_before_stop:
            proxy.set_mode("pass")
        t0 = time.time()
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.proc.wait(30)
        took = time.time() - t0
        err = srv.proc.stderr.read()
        lines = [ln for ln in err.splitlines() if "at exit" in ln]
        if back_before_stop:
            c.check(f"[{what}] the entry is invalidated on the way out, nothing logged (exit {rc}, {took:.1f} s)",
                    rc == 0 and redis.cmd("EXISTS", entry_key(prefix, rid)) == 0 and not lines, err[-500:])
        else:
            c.check(f"[{what}] after the exit budget, one line names the id ({took:.1f} s): "
                    f"{lines[0][:120] if lines else None!r}",
                    rc == 0 and len(lines) == 1 and lines[0].endswith(f"until their TTL: {rid}") and 2.5 < took < 10,
                    err[-500:])
    finally:
        proxy.close()
        redis.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if not servers:
        c.skip("pending invalidations at exit", "ROWCACHE_TEST_MYSQL / _REDIS not set")
        c.finish()
    mysql_url, redis_url = servers
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    one_run(c, a.binary, mysql_url, port, back_before_stop=True)
    one_run(c, a.binary, mysql_url, port, back_before_stop=False)
    c.finish()


if __name__ == "__main__":
    main()
