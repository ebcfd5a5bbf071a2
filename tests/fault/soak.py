"""Soak: mixed load against `rowcache serve` (MariaDB + Redis from
scripts/servers.sh) for --duration seconds (default 600), sampling the
service's resident memory and open file descriptors. Fails if, after the
first fifth of the run (warm-up), RSS grows by more than --max-rss-growth-mb
(default 32) or the fd count by more than 16.

    source "$(scripts/servers.sh start)"
    python3 tests/fault/soak.py --binary build/rowcache --duration 600
"""
import argparse
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from rowcache_e2e import Checks, Server, mariadb, unique  # noqa: E402


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss / 1024.0, len(os.listdir(f"/proc/{pid}/fd"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--duration", type=float, default=600)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--max-rss-growth-mb", type=float, default=32)
    a = p.parse_args()
    c = Checks()
    table = unique("soak")
    srv = Server(a.binary, "--db", f"{os.environ['ROWCACHE_TEST_MYSQL']}?table={table}", "--cache",
                 os.environ["ROWCACHE_TEST_REDIS"], "--key-prefix", table + ":", "--ttl", "30",
                 "--threads", str(a.clients))
    end = time.time() + a.duration
    counts = {"ok": 0, "err": 0}
    lock = threading.Lock()

    def client(i):
        rng, conn, ids = random.Random(i), srv.conn(), []
        while time.time() < end:
            r = rng.random()
            if r < 0.7 and ids:
                body = {"REQUEST": "read", "SQLS": [rng.choice(ids) for _ in range(3)] + [10**9]}
            elif r < 0.9 or not ids:
                body = {"REQUEST": "write", "SQLS": [{"hero": "s", "power": "p", "name": f"n{rng.random()}"[:20],
                                                     "xp": i, "color": "c"}]}
            else:
                body = {"REQUEST": "update", "SQLS": [{"id": rng.choice(ids), "xp": rng.randrange(100)}]}
            code, doc = srv.post(body, conn)
            if code == 200 and body["REQUEST"] == "write":
                ids.append(doc["ids"][0])
            with lock:
                counts["ok" if code == 200 else "err"] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
    for t in threads:
        t.start()
    samples, start = [], time.time()
    while time.time() < end:
        samples.append((time.time() - start, *sample(srv.proc.pid)))
        time.sleep(max(1.0, a.duration / 60))
    for t in threads:
        t.join()
    samples.append((time.time() - start, *sample(srv.proc.pid)))
    warm = [s for s in samples if s[0] >= a.duration / 5] or samples
    rss0, rss1 = warm[0][1], max(s[1] for s in warm)
    fd0, fd1 = warm[0][2], max(s[2] for s in warm)
    print(f"requests: {counts['ok']} ok, {counts['err']} errors in {a.duration:.0f} s "
          f"({counts['ok'] / a.duration:.0f}/s)")
    for s in samples[:: max(1, len(samples) // 10)]:
        print(f"  t={s[0]:6.0f} s  rss={s[1]:7.1f} MB  fds={s[2]}")
    c.check(f"RSS after warm-up {rss0:.1f} MB -> max {rss1:.1f} MB (bound +{a.max_rss_growth_mb} MB)",
            rss1 - rss0 <= a.max_rss_growth_mb)
    c.check(f"open fds after warm-up {fd0} -> max {fd1} (bound +16)", fd1 - fd0 <= 16)
    c.check("no errors", counts["err"] == 0, str(counts))
    srv.stop()
    mariadb(f"DROP TABLE IF EXISTS {table}")
    c.finish()


if __name__ == "__main__":
    main()
