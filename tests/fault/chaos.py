"""The chaos scenario: concurrent clients read, write and update through
`rowcache serve` while Redis is killed, restarted and stopped, the database is
delayed and killed; then the recorded history is checked.

    python3 tests/fault/chaos.py --binary build/rowcache [--duration 60] [--clients 64] [--out DIR]

It starts its own MariaDB and Redis (scripts/servers.sh with a private run
directory and free ports), a FaultProxy in front of MariaDB, and the service.
Prints each figure with ok/FAIL and ends with "N passed, N failed".
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)
from faultproxy import FaultProxy  # noqa: E402
from rowcache_e2e import Checks, Redis, Server, entry_key, free_port  # noqa: E402

CACHE_TIMEOUT_MS, TTL, DB_READ_BOUND_MS = 100, 10, 300


class Env:
    """Private MariaDB + Redis through scripts/servers.sh."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rowcache-chaos-")
        os.chmod(self.dir, 0o755)
        # Only MariaDB and the single Redis: the TLS server and the clusters of servers.sh have fixed ports.
        self.env = dict(os.environ, ROWCACHE_RUN_DIR=self.dir, ROWCACHE_MYSQL_PORT=str(free_port()),
                        ROWCACHE_REDIS_PORT=str(free_port()), ROWCACHE_SERVERS="mysql redis")
        self.mysql_port = int(self.env["ROWCACHE_MYSQL_PORT"])
        self.redis_port = int(self.env["ROWCACHE_REDIS_PORT"])
        self.start()

    def start(self):
        subprocess.run([os.path.join(ROOT, "scripts", "servers.sh"), "start"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def pid(self, name):
        with open(os.path.join(self.dir, f"{name}.pid")) as f:
            return int(f.read().strip())

    def signal(self, name, sig):
        try:
            os.kill(self.pid(name), sig)
        except (OSError, ValueError):
            pass

    def kill9(self, name):
        pid = self.pid(name)
        self.signal(name, signal.SIGKILL)
        for _ in range(100):
            try:
                os.kill(pid, 0)
                time.sleep(0.05)
            except OSError:
                break
        os.unlink(os.path.join(self.dir, f"{name}.pid"))

    def sql(self, q):
        out = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{self.mysql_port}", "-urowcache", "-prowcache", "-N",
                              "-B", "rowcache", "-e", q], capture_output=True, text=True, check=True)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def stop(self):
        self.signal("redis", signal.SIGCONT)
        subprocess.run([os.path.join(ROOT, "scripts", "servers.sh"), "stop"], env=self.env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


class Client(threading.Thread):
    """Reads, inserts and updates its own rows, recording every operation."""

    def __init__(self, cid, srv, end, log, lock):
        super().__init__(daemon=True)
        self.cid, self.srv, self.end, self.log, self.lock = cid, srv, end, log, lock
        self.rows = {}  # id -> {"acked": name, "maybe": set(names written without an answer)}
        self.rng = random.Random(cid)
        self.n = 0

    def op(self, kind, body, ids=None):
        t0 = time.time()
        try:
            code, doc = self.srv.post(body, self.conn)
        except Exception as e:  # connection trouble: record and reconnect
            code, doc = 0, str(e)
            self.conn = self.srv.conn()
        t1 = time.time()
        rec = {"t0": t0, "t1": t1, "client": self.cid, "kind": kind, "status": code, "ids": ids}
        with self.lock:
            self.log.append(rec)
        return code, doc, rec

    def run(self):
        self.conn = self.srv.conn()
        while time.time() < self.end:
            self.n += 1
            r = self.rng.random()
            name = f"c{self.cid}v{self.n}"
            if r < 0.5 and self.rows:
                rid = self.rng.choice(list(self.rows))
                code, doc, rec = self.op("read", {"REQUEST": "read", "SQLS": [rid]}, [rid])
                if code == 200:
                    got = doc["body"][0]
                    st = self.rows[rid]
                    rec["got"] = got["name"] if got else None
                    rec["allowed"] = sorted({st["acked"]} | st["maybe"])
                    rec["stale"] = rec["got"] not in rec["allowed"]
            elif r < 0.75 or not self.rows:
                row = {"hero": "chaos", "power": "p", "name": name, "xp": self.n, "color": "c"}
                code, doc, rec = self.op("write", {"REQUEST": "write", "SQLS": [row]})
                if code == 200:
                    self.rows[doc["ids"][0]] = {"acked": name, "maybe": set()}
                    rec["ids"] = doc["ids"]
            else:
                rid = self.rng.choice(list(self.rows))
                code, doc, rec = self.op("update", {"REQUEST": "update", "SQLS": [{"id": rid, "name": name}]}, [rid])
                st = self.rows[rid]
                if code == 200:
                    st["acked"], st["maybe"] = name, set()
                elif code != 400:
                    st["maybe"].add(name)  # may or may not have committed


def chaos(c, binary, duration, clients, out):
    env = Env()
    proxy = FaultProxy(env.mysql_port)
    db_url = f"mysql://rowcache:rowcache@127.0.0.1:{proxy.port}/rowcache?table=chaos"
    prefix = "chaos:"
    srv = Server(binary, "--db", db_url, "--cache", f"redis://127.0.0.1:{env.redis_port}/0", "--ttl", str(TTL),
                 "--key-prefix", prefix, "--cache-timeout-ms", str(CACHE_TIMEOUT_MS), "--db-timeout", "3",
                 "--threads", str(clients), "--db-pool", str(clients), "--cache-pool", str(clients))
    log, lock, faults = [], threading.Lock(), []
    start = time.time()
    end = start + duration
    workers = [Client(i, srv, end, log, lock) for i in range(clients)]
    for w in workers:
        w.start()

    def at(frac):
        while time.time() < start + frac * duration:
            time.sleep(0.01)

    def window(kind, cache_only, f0, f1, begin, finish):
        at(f0)
        t0 = time.time()
        begin()
        at(f1)
        finish()
        faults.append({"kind": kind, "t0": t0, "t1": time.time(), "cache_only": cache_only})

    window("redis killed", True, 0.08, 0.12, lambda: env.kill9("redis"), env.start)
    window("redis stopped", True, 0.18, 0.18 + 5 / 60, lambda: env.signal("redis", signal.SIGSTOP),
           lambda: env.signal("redis", signal.SIGCONT))
    window("redis killed", True, 0.32, 0.36, lambda: env.kill9("redis"), env.start)
    window("redis stopped", True, 0.42, 0.42 + 5 / 60, lambda: env.signal("redis", signal.SIGSTOP),
           lambda: env.signal("redis", signal.SIGCONT))
    window("db delayed 200 ms", False, 0.56, 0.56 + 10 / 60, lambda: proxy.set_mode("delay", 200),
           lambda: proxy.set_mode("pass"))
    window("mariadb killed", False, 0.78, 0.84, lambda: env.kill9("mysql"), env.start)
    faults_over = time.time()
    for w in workers:
        w.join(duration + 60)

    # --- checks -----------------------------------------------------------
    own = {rid: st for w in workers for rid, st in w.rows.items()}
    writes = [r for r in log if r["kind"] in ("write", "update")]
    reads = [r for r in log if r["kind"] == "read"]
    print(f"operations: {len(log)} ({len(reads)} reads, {len(writes)} writes/updates); "
          f"acknowledged rows: {len(own)}; errors: {sum(1 for r in log if r['status'] != 200)}")
    db = {int(i): n for i, n in env.sql("SELECT id, name FROM chaos")}
    lost = [rid for rid, st in own.items() if rid not in db]
    wrong = [rid for rid, st in own.items() if rid in db and db[rid] not in ({st["acked"]} | st["maybe"])]
    c.check(f"acknowledged writes lost: {len(lost)} (of {len(own)} rows)", not lost, f"{lost[:5]}")
    c.check(f"rows with a value their writer never sent: {len(wrong)}", not wrong, f"{wrong[:5]}")
    stale = [r for r in reads if r.get("stale")]
    c.check(f"stale reads after acknowledgement: {len(stale)} (of {len(reads)} reads)", not stale,
            json.dumps(stale[:3]))

    def in_cache_fault(r):
        return any(f["cache_only"] and r["t0"] < f["t1"] + 0.5 and r["t1"] > f["t0"] for f in faults)

    def in_db_fault(r):
        return any(not f["cache_only"] and r["t0"] < f["t1"] + 2 and r["t1"] > f["t0"] for f in faults)

    cache_reads = [r for r in reads if in_cache_fault(r) and not in_db_fault(r)]
    failed = [r for r in cache_reads if r["status"] != 200]
    c.check(f"failed reads of existing rows while only the cache was faulty: {len(failed)} "
            f"(of {len(cache_reads)})", not failed, json.dumps(failed[:3]))
    lat = sorted((r["t1"] - r["t0"]) * 1000 for r in log if in_cache_fault(r) and not in_db_fault(r))
    p99 = lat[int(0.99 * (len(lat) - 1))] if lat else 0
    bound = CACHE_TIMEOUT_MS + DB_READ_BOUND_MS
    c.check(f"p99 latency during cache faults: {p99:.0f} ms (bound {bound} ms = cache timeout "
            f"{CACHE_TIMEOUT_MS} + database read {DB_READ_BOUND_MS})", p99 <= bound)
    all_lat = sorted((r["t1"] - r["t0"]) * 1000 for r in log if r["status"] == 200)
    if all_lat:
        print(f"latency of successful requests overall: p50 {all_lat[len(all_lat) // 2]:.1f} ms, "
              f"p99 {all_lat[int(0.99 * (len(all_lat) - 1))]:.1f} ms")

    # The cache equals the database for every key within one TTL of the faults ending.
    redis = Redis(env.redis_port)
    deadline = faults_over + TTL + 2
    while True:
        db = {int(i): n for i, n in env.sql("SELECT id, name FROM chaos")}
        keys = [k for k in (redis.cmd("KEYS", prefix + "*") or []) if not k.endswith(":gen")]
        mismatched = []
        for k in keys:
            v = redis.cmd("GET", k)
            if v is None:
                continue
            row = json.loads(v)
            if k != entry_key(prefix, row["id"]) or db.get(row["id"]) != row["name"]:
                mismatched.append((k, row["name"], db.get(row["id"])))
        if not mismatched or time.time() > deadline:
            break
        time.sleep(0.5)
    c.check(f"cache entries differing from the database within one TTL ({TTL} s) after the faults: "
            f"{len(mismatched)} (of {len(keys)})", not mismatched, f"{mismatched[:3]}")
    for f in faults:
        print(f"fault: {f['kind']:18s} {f['t0'] - start:6.1f} s .. {f['t1'] - start:6.1f} s")
    if out:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "chaos-log.jsonl"), "w") as fh:
            for r in log:
                fh.write(json.dumps(r) + "\n")
    srv.stop()

    # --- SIGKILL in the middle of write batches -----------------------------
    markers, mlock = set(), threading.Lock()
    for round_ in range(3):
        srv = Server(binary, "--db", db_url, "--cache", f"redis://127.0.0.1:{env.redis_port}/0", "--threads", "8")
        stop = time.time() + 1.5 + random.random()

        def batcher(t):
            conn = srv.conn()
            i = 0
            while time.time() < stop + 5:
                marker = f"r{round_}t{t}b{i}"
                i += 1
                with mlock:
                    markers.add(marker)
                rows = [{"hero": "batch", "power": "p", "name": marker, "xp": k, "color": "c"} for k in range(20)]
                try:
                    srv.post({"REQUEST": "write", "SQLS": rows}, conn)
                except Exception:
                    return

        ts = [threading.Thread(target=batcher, args=(t,), daemon=True) for t in range(8)]
        for t in ts:
            t.start()
        while time.time() < stop:
            time.sleep(0.01)
        srv.proc.kill()
        srv.proc.wait()
        for t in ts:
            t.join(10)
    counts = {n: int(k) for n, k in env.sql("SELECT name, COUNT(*) FROM chaos WHERE hero = 'batch' GROUP BY name")}
    partial = {m: k for m, k in counts.items() if k != 20}
    c.check(f"batches after 3 SIGKILLs of the service: {len(counts)} complete of 20 rows, {len(partial)} partial "
            f"({len(markers)} attempted)", not partial and counts, f"{list(partial.items())[:5]}")
    proxy.close()
    env.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--out", default="")
    a = p.parse_args()
    c = Checks()
    chaos(c, a.binary, a.duration, a.clients, a.out)
    c.finish()


if __name__ == "__main__":
    main()
