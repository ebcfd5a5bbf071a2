"""End-to-end: a hostile Redis answers every read with a reply far past the RESP bounds (redis/resp.h).

A fake Redis (fake_redis_flood.py) that answers each EVAL / MGET with `$2147483648` (a 2 GiB bulk string) and then
streams filler bytes for as long as the connection stays open, or with `*2147483648` (an array of 2^31
elements). For 10 s, 4 clients read a row through `rowcache serve` with that Redis as its cache (circuit
breaker off, so that every read asks the hostile Redis). Every read must still be answered 200 with the row
(from the database), the process's peak RSS (VmHWM) must stay within 64 MiB of its start, and each refused
reply must be counted (rowcache_cache_errors_by_class_total{class="reply_bounds"}). Before the bound the
client buffered whatever the reply declared: the filler it was sent grew the process by gigabytes.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_redis_flood import FloodingRedis  # noqa: E402
from rowcache_e2e import Checks, Server, args, mariadb, proc_status_kib, require_servers, unique  # noqa: E402

FLOOD_SECONDS = 10
CLIENTS = 4
RSS_SLACK = 64 << 20


def status_kb(pid, field):
    """A figure of /proc/PID/status in bytes (0 once the process is gone)."""
    return (proc_status_kib(pid, field) or 0) * 1024


def suite(c, binary, mysql_url, tag, answer):
    p = f"[{tag}] "
    table = unique("hostile")
    fake = FloodingRedis(answer)
    srv = Server(binary, "--db", f"{mysql_url}?table={table}", "--cache", f"redis://127.0.0.1:{fake.port}",
                 "--cache-breaker-failures", "0", "--cache-timeout-ms", "1000")
    try:
        mariadb(f"INSERT INTO {table} (hero, power, name, xp, color) VALUES ('h', 'p', 'n', 1, 'c')")
        row_id = int(mariadb(f"SELECT MAX(id) FROM {table}").split()[0])
        want = {"id": row_id, "hero": "h", "power": "p", "name": "n", "xp": 1, "color": "c"}
        pid = srv.proc.pid
        code, doc = srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [row_id]})  # warm up
        start = status_kb(pid, "VmRSS")
        results, stop = [], threading.Event()

        def client():
            conn = srv.conn()
            while not stop.is_set():
                results.append(srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [row_id, row_id]}, conn))

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        peak = start
        end = time.time() + FLOOD_SECONDS
        while time.time() < end and srv.alive():
            peak = max(peak, status_kb(pid, "VmRSS"))
            time.sleep(0.05)
        stop.set()
        for t in threads:
            t.join()
        hwm = status_kb(pid, "VmHWM")
        bad = [r for r in results if r != (200, {"statusCode": 200, "body": [want, want]})]
        c.check(p + f"{len(results)} reads on {CLIENTS} connections in {FLOOD_SECONDS} s: every one 200 with the "
                "row, from the database", len(results) > 10 and not bad and srv.alive(), f"{bad[:2]}")
        c.check(p + f"... the hostile Redis was asked {fake.reads} times", fake.reads >= len(results) // 2,
                f"{fake.reads}")
        c.check(p + f"peak RSS within 64 MiB of its start ({start >> 20} MiB, sampled peak {peak >> 20} MiB, "
                f"VmHWM {hwm >> 20} MiB; the fake sent {fake.sent >> 20} MiB of filler)",
                hwm - start <= RSS_SLACK and peak - start <= RSS_SLACK)
        _, text = srv.get("/metrics")
        counted = [ln for ln in text.splitlines() if ln.startswith('rowcache_cache_errors_by_class_total{class="reply_bounds"}')]
        n = float(counted[0].split()[1]) if counted else 0
        c.check(p + f"each refused reply counted (reply_bounds {n:.0f})", n >= fake.reads * 0.9, f"{counted}")
    finally:
        srv.stop()
        fake.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if servers is None:
        c.skip("hostile Redis", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
        c.finish()
    suite(c, a.binary, servers[0], "2 GiB bulk string", b"$2147483648\r\n")
    suite(c, a.binary, servers[0], "2^31-element array", b"*2147483648\r\n")
    c.finish()


if __name__ == "__main__":
    main()
