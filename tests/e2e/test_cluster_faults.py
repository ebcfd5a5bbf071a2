"""End-to-end: `rowcache serve` on MariaDB and a PRIVATE Redis Cluster (3 masters + 3 replicas, started here on
free loopback ports with cluster-node-timeout 1000 ms, torn down at the end) while 8 client threads keep reading
and updating, through three phases:

  A  baseline (5 s): no error, the cache is used (rowcache_cache_hits_total grows).
  B  failover: SIGKILL of the master holding most of the test's keys (never the seed node the service was given,
     nor the master of slot 0). Until its replica is promoted requests may be answered from the database; after
     the promotion, within 5 s, the cache is used again (hits grow, rowcache_cache_errors_total stops growing,
     the promoted master receives entries). /healthz says the cache is "degraded: ..." meanwhile and "ok" again
     within the 10 s window after recovery; /metrics has rowcache_cache_errors_by_class_total lines.
  C  resharding under load: `redis-cli --cluster reshard` moves 1000 slots from the seed master to the promoted
     one while the load runs (during it, half of the operations aim at ids whose slots move); errors stay
     bounded (the service follows MOVED / ASK).

Throughout: no stale read (a read that starts after an update of an id was acknowledged returns that value or a
newer one, whichever thread updated it), no wrong answer (every row is the requested id, in the table's format,
with a value some writer sent, its name matching its xp). At the end every cache entry (prefix + "{id}", read
through the cluster following MOVED) equals the row the API returns from the database.

    python3 tests/e2e/test_cluster_faults.py --binary build/rowcache [--keep-logs DIR] [--serve-flag=--FLAG=VALUE]

Needs ROWCACHE_TEST_MYSQL (scripts/servers.sh) and redis-server / redis-cli; without them it skips, or fails
when ROWCACHE_REQUIRE_SERVERS=1. It never touches the shared test cluster on 17001-17006.
"""
import argparse
import bisect
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rowcache_e2e import (Checks, Redis, RedisCluster, RedisError, Server, entry_key, key_slot,  # noqa: E402
                          mariadb, unique)

THREADS = 8
ROWS = 200
TTL = 60
CACHE_TIMEOUT_MS = 200
NODE_TIMEOUT_MS = 1000
PHASE_A_S = 5.0
RESHARD_SLOTS = 1000
RECOVERY_BOUND_S = 5.0      # promotion -> cache used again
HEALTH_WINDOW_S = 10.0      # the service's degraded window
FIELDS = {"id", "hero", "power", "name", "xp", "color"}


def log(msg):
    print(f"      {msg}")
    sys.stdout.flush()


# --------------------------------------------------------------------------- private cluster

def _bindable(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def cluster_ports(n):
    """n ports P with P and its cluster bus port P + 10000 free, below the ephemeral range (the bus ports too),
    away from the shared clusters of scripts/servers.sh (17001-17106)."""
    rng = random.Random()
    ports = []
    while len(ports) < n:
        p = rng.randrange(20000, 22700)
        if p not in ports and _bindable(p) and _bindable(p + 10000):
            ports.append(p)
    return sorted(ports)


class PrivateCluster:
    """3 masters + 3 replicas on free loopback ports in a temporary directory."""

    def __init__(self, keep_logs=None):
        self.dir = tempfile.mkdtemp(prefix="rowcache-cluster-faults-")
        self.keep_logs = keep_logs
        self.ports = cluster_ports(6)
        self.procs = {}
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        for p in self.ports:
            d = os.path.join(self.dir, str(p))
            os.makedirs(d)
            self.procs[p] = subprocess.Popen(
                ["redis-server", "--cluster-enabled", "yes", "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                 "--port", str(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
                 "--dir", d, "--cluster-config-file", "nodes.conf", "--logfile", os.path.join(d, "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for p in self.ports:
            self._wait_ping(p, 10)
        out = subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in self.ports],
                              "--cluster-replicas", "1", "--cluster-yes"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
        self.wait_ok(self.ports, 30, replicas_synced=True)

    def _wait_ping(self, port, seconds):
        deadline = time.time() + seconds
        while True:
            try:
                with Redis(port, timeout=1) as r:
                    if r.cmd("PING") == "PONG":
                        return
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"redis-server on {port} did not start")
            time.sleep(0.05)

    def cmd(self, port, *parts, timeout=2):
        with Redis(port, timeout=timeout) as r:
            return r.cmd(*parts)

    def nodes(self, port):
        """CLUSTER NODES as seen by `port`: [{id, port, flags, master, slots: [(lo, hi)]}]."""
        out = []
        for line in (self.cmd(port, "CLUSTER", "NODES") or "").splitlines():
            f = line.split()
            addr = f[1].split("@")[0]
            slots = []
            for s in f[8:]:
                if s.startswith("["):
                    continue  # a migrating / importing marker
                lo, _, hi = s.partition("-")
                slots.append((int(lo), int(hi or lo)))
            out.append({"id": f[0], "port": int(addr.rsplit(":", 1)[1]) if ":" in addr else None,
                        "flags": set(f[2].split(",")), "master": f[3], "slots": slots})
        return out

    def state_ok(self, port):
        info = self.cmd(port, "CLUSTER", "INFO") or ""
        return "cluster_state:ok" in info

    def wait_ok(self, ports, seconds, replicas_synced=False):
        deadline = time.time() + seconds
        while True:
            try:
                ok = all(self.state_ok(p) for p in ports)
                if ok and replicas_synced:
                    for p in ports:
                        info = self.cmd(p, "INFO", "replication") or ""
                        if "role:slave" in info and "master_link_status:up" not in info:
                            ok = False
                if ok:
                    return
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"cluster not ok on {ports} within {seconds} s")
            time.sleep(0.1)

    def masters(self, port):
        return [n for n in self.nodes(port) if "master" in n["flags"] and "fail" not in n["flags"] and n["slots"]]

    def kill(self, port):
        p = self.procs[port]
        p.send_signal(signal.SIGKILL)
        p.wait(10)

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if self.keep_logs:
            os.makedirs(self.keep_logs, exist_ok=True)
            for port in self.ports:
                src = os.path.join(self.dir, str(port), "redis.log")
                if os.path.exists(src):
                    shutil.copy(src, os.path.join(self.keep_logs, f"redis-{port}.log"))
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------- load

class History:
    """Acknowledged updates per id, shared by all threads: (ack time, xp) in order, and every xp sent."""

    def __init__(self, ids):
        self.lock = threading.Lock()
        self.acks = {i: ([0.0], [0]) for i in ids}  # id -> (ack times, xps): the seed value counts from t=0
        self.sent = {i: {0} for i in ids}

    def will_send(self, rid, xp):
        with self.lock:
            self.sent[rid].add(xp)

    def acked(self, rid, xp, t):
        with self.lock:
            times, xps = self.acks[rid]
            times.append(t)
            xps.append(xp)

    def floor(self, rid, t0):
        """The newest xp acknowledged before t0 (a read starting at t0 must return it or newer)."""
        with self.lock:
            times, xps = self.acks[rid]
            k = bisect.bisect_left(times, t0)
            return max(xps[:k]) if k else 0

    def allowed(self, rid, xp):
        with self.lock:
            return xp in self.sent[rid]


class Load:
    def __init__(self, srv, ids, prefix):
        self.srv, self.ids, self.prefix = srv, ids, prefix
        self.history = History(ids)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ops = []          # (t0, t1, kind, status)
        self.stale = []        # details
        self.wrong = []
        self.errors = []       # (t0, kind, status, body) of non-200 answers (first ones kept)
        self.focus = []        # ids the main thread wants hammered (phase C: ids in moving slots)
        self.conns = {}
        self.own = {t: [i for k, i in enumerate(ids) if k % THREADS == t] for t in range(THREADS)}
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True) for t in range(THREADS)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def post(self, t, body):
        t0 = time.time()
        try:
            code, doc = self.srv.post(body, self.conns[t])
        except Exception as e:  # noqa: BLE001 - a lost connection is an error of this request
            code, doc = 0, repr(e)
            try:
                self.conns[t].close()
            except Exception:  # noqa: BLE001
                pass
            self.conns[t] = self.srv.conn()
        t1 = time.time()
        with self.lock:
            self.ops.append((t0, t1, body["REQUEST"], code))
            if code != 200 and len(self.errors) < 200:
                self.errors.append((t0, body["REQUEST"], code, str(doc)[:300], body.get("SQLS")))
        return t0, t1, code, doc

    def check_rows(self, ids, t0, doc, kind):
        body = doc.get("body") if isinstance(doc, dict) else None
        if not isinstance(body, list) or len(body) != len(ids):
            with self.lock:
                self.wrong.append({"why": "answer shape", "ids": ids, "doc": str(doc)[:300], "t0": t0})
            return
        for rid, row in zip(ids, body):
            why = None
            if not isinstance(row, dict):
                why = "null or not an object for an existing id"
            elif set(row) != FIELDS:
                why = f"fields {sorted(row)}"
            elif row["id"] != rid:
                why = f"row of id {row['id']} for id {rid}"
            elif not (isinstance(row["xp"], int) and row["hero"] == "clu" and row["power"] == "p"
                      and row["color"] == "c" and row["name"] == f"x{row['xp']}"):
                why = "row contents"
            elif not self.history.allowed(rid, row["xp"]):
                why = f"xp {row['xp']} never sent for this id"
            if why:
                with self.lock:
                    self.wrong.append({"why": why, "id": rid, "row": row, "t0": t0, "kind": kind})
                continue
            need = self.history.floor(rid, t0)
            if row["xp"] < need:
                with self.lock:
                    self.stale.append({"id": rid, "got": row["xp"], "acked_before_read": need, "t0": t0,
                                       "kind": kind, "slot": key_slot(entry_key(self.prefix, rid))})

    def run(self, t):
        rng = random.Random(1000 + t)
        own = self.own[t]
        counter = 0
        self.conns[t] = self.srv.conn()
        while not self.stop.is_set():
            r = rng.random()
            focus = self.focus
            my_focus = [i for i in own if i in focus] if focus else []
            if r < 0.4:
                ids = rng.sample(self.ids, rng.randint(3, 5))
                if focus and rng.random() < 0.5:
                    ids[0] = rng.choice(focus)
                t0, _, code, doc = self.post(t, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": ids})
                if code == 200:
                    self.check_rows(ids, t0, doc, "multi-read")
            elif r < 0.7:
                rid = rng.choice(my_focus) if my_focus and rng.random() < 0.5 else rng.choice(own)
                counter += 1
                self.history.will_send(rid, counter)
                _, t1, code, doc = self.post(t, {"REQUEST": "update",
                                                 "SQLS": [{"id": rid, "xp": counter, "name": f"x{counter}"}]})
                if code == 200:
                    self.history.acked(rid, counter, t1)
            else:
                pool = my_focus if my_focus and rng.random() < 0.5 else own
                ids = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
                t0, _, code, doc = self.post(t, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": ids})
                if code == 200:
                    self.check_rows(ids, t0, doc, "own-read")
        self.conns[t].close()

    def between(self, a, b):
        with self.lock:
            return [o for o in self.ops if a <= o[0] < b]


# --------------------------------------------------------------------------- service probes

def metrics(srv):
    _, text = srv.get("/metrics")
    m = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, v = line.rpartition(" ")
            try:
                m[name] = float(v)
            except ValueError:
                pass
    return m, text


class MetricsSampler(threading.Thread):
    """(time, rowcache_cache_errors_total, rowcache_cache_hits_total) every 100 ms."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.samples, self.stop = srv, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                m, _ = metrics(self.srv)
                self.samples.append((time.time(), m.get("rowcache_cache_errors_total", 0),
                                     m.get("rowcache_cache_hits_total", 0)))
            except Exception:  # noqa: BLE001
                pass
            time.sleep(0.1)

    def recovered_at(self, quiet=1.0):
        """The first sample, from the first growth of cache errors on, after which for `quiet` s cache errors
        do not grow and hits do (or None)."""
        s = list(self.samples)
        first = next((k for k in range(1, len(s)) if s[k][1] > s[k - 1][1]), None)
        if first is None:
            return None
        for i, (ti, ei, hi) in enumerate(s):
            if i < first:
                continue
            later = [x for x in s[i:] if x[0] >= ti + quiet]
            if later and later[0][1] == ei and later[0][2] > hi:
                return ti
        return None

    def last_error_growth(self):
        s = list(self.samples)
        last = None
        for a, b in zip(s, s[1:]):
            if b[1] > a[1]:
                last = b[0]
        return last


class HealthPoller(threading.Thread):
    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.samples, self.stop = srv, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            t = time.time()
            try:
                code, text = self.srv.get("/healthz")
                cache = json.loads(text).get("cache", text)
            except Exception as e:  # noqa: BLE001
                code, cache = 0, repr(e)
            self.samples.append((t, code, cache))
            time.sleep(0.1)


def drain(srv):
    lines = []

    def run():
        for line in srv.proc.stderr:
            lines.append((time.time(), line.rstrip("\n")))

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return lines


# --------------------------------------------------------------------------- the scenario

def scenario(c, binary, mysql_url, keep_logs, extra_flags=()):
    t_begin = time.time()
    cl = PrivateCluster(keep_logs)
    log(f"private cluster on {cl.ports} up in {time.time() - t_begin:.1f} s")
    # The seed: the master of slot 0 (also where the service's PING goes). Never killed.
    masters = cl.masters(cl.ports[0])
    seed = next(m for m in masters if any(lo == 0 for lo, _ in m["slots"]))
    name = unique("clfaults")
    table, prefix = name, name + ":"
    srv = None
    load = None
    health = None
    sampler = None
    inspect = None
    try:
        srv = Server(binary, "--db", f"{mysql_url}?table={table}", "--cache", f"redis://127.0.0.1:{seed['port']}",
                     "--key-prefix", prefix, "--ttl", str(TTL), "--cache-timeout-ms", str(CACHE_TIMEOUT_MS), *extra_flags)
        lines = drain(srv)
        log(srv.banner)

        # --- seed rows (write-through)
        ids = []
        for k in range(0, ROWS, 50):
            rows = [{"hero": "clu", "power": "p", "name": "x0", "xp": 0, "color": "c"} for _ in range(50)]
            code, doc = srv.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": rows})
            if not c.check(f"seed write of 50 rows ({k + 50}/{ROWS})", code == 200, f"{code} {doc}"):
                return
            ids += doc["ids"]
        inspect = RedisCluster([("127.0.0.1", seed["port"])])
        per_master = {m: len(inspect.node(m).keys_matching(prefix + "*")) for m in inspect.masters}
        log(f"test keys per master after seeding: {per_master}")

        load = Load(srv, ids, prefix)
        load.start()

        # --- phase A: baseline
        tA = time.time()
        m0, _ = metrics(srv)
        time.sleep(PHASE_A_S)
        m1, _ = metrics(srv)
        tA_end = time.time()
        opsA = load.between(tA, tA_end)
        errA = [o for o in opsA if o[3] != 200]
        c.check(f"phase A (baseline {PHASE_A_S:.0f} s): {len(errA)} errors of {len(opsA)} requests", not errA,
                f"{load.errors[:3]}")
        hitsA = m1.get("rowcache_cache_hits_total", 0) - m0.get("rowcache_cache_hits_total", 0)
        c.check(f"phase A: cache hits grew by {hitsA:.0f}", hitsA > 0)
        cerrA = m1.get("rowcache_cache_errors_total", 0) - m0.get("rowcache_cache_errors_total", 0)
        c.check(f"phase A: rowcache_cache_errors_total grew by {cerrA:.0f}", cerrA == 0)

        # --- phase B: failover
        nodes = cl.nodes(seed["port"])
        masters = [n for n in nodes if "master" in n["flags"] and n["slots"]]
        candidates = [m for m in masters if m["id"] != seed["id"]]
        count = {m["id"]: per_master.get(("127.0.0.1", m["port"]), 0) for m in candidates}
        victim = max(candidates, key=lambda m: count[m["id"]])
        replica = next(n for n in nodes if n["master"] == victim["id"])
        survivors = [p for p in cl.ports if p != victim["port"]]
        log(f"phase B: SIGKILL master {victim['port']} ({count[victim['id']]} test keys, "
            f"{sum(h - lo + 1 for lo, h in victim['slots'])} slots); its replica is {replica['port']}")
        health = HealthPoller(srv)
        health.start()
        sampler = MetricsSampler(srv)
        sampler.start()
        mk, _ = metrics(srv)
        t_kill = time.time()
        cl.kill(victim["port"])
        t_prom = None
        while time.time() < t_kill + 20:
            try:
                view = {n["id"]: n for n in cl.nodes(seed["port"])}
                r = view.get(replica["id"])
                if r and "master" in r["flags"] and r["slots"] and all(cl.state_ok(p) for p in survivors):
                    t_prom = time.time()
                    break
            except OSError:
                pass
            time.sleep(0.05)
        if not c.check(f"phase B: replica {replica['port']} promoted "
                       f"{(t_prom - t_kill) if t_prom else float('nan'):.1f} s after the kill", t_prom is not None):
            return
        opsB1 = load.between(t_kill, t_prom)
        errB1 = [o for o in opsB1 if o[3] != 200]
        rd = [o for o in opsB1 if o[2] == "read"]
        log(f"phase B until promotion: {len(errB1)} errors of {len(opsB1)} requests "
            f"({sum(1 for o in rd if o[3] != 200)} of {len(rd)} reads)")
        mp, _ = metrics(srv)
        log(f"phase B until promotion: cache errors +{mp.get('rowcache_cache_errors_total', 0) - mk.get('rowcache_cache_errors_total', 0):.0f}, "
            f"hits +{mp.get('rowcache_cache_hits_total', 0) - mk.get('rowcache_cache_hits_total', 0):.0f}, "
            f"breaker opens +{mp.get('rowcache_cache_breaker_opens_total', 0) - mk.get('rowcache_cache_breaker_opens_total', 0):.0f}")

        # Recovery: the first moment after which, for 1 s, cache errors do not grow and hits do.
        t_rec = None
        while time.time() < t_prom + RECOVERY_BOUND_S + 6 and t_rec is None:
            time.sleep(0.2)
            r = sampler.recovered_at()
            t_rec = r
        last_err = sampler.last_error_growth()
        rec = (t_rec - t_prom) if t_rec else float("nan")
        c.check(f"phase B: cache used again {rec:+.1f} s after the promotion, {(t_rec - t_kill) if t_rec else float('nan'):.1f} s "
                f"after the kill (cache errors last grew at kill +{(last_err - t_kill) if last_err else float('nan'):.1f} s; "
                f"bound: promotion + {RECOVERY_BOUND_S:.0f} s)",
                t_rec is not None and rec <= RECOVERY_BOUND_S,
                f"samples (t - promotion, cache errors, hits): "
                f"{[(round(x[0] - t_prom, 1), x[1], x[2]) for x in sampler.samples]}")
        hits_rate_A = hitsA / max(0.1, tA_end - tA)
        if t_rec is not None:
            s1 = [x for x in sampler.samples if x[0] >= t_rec]
            if len(s1) >= 2:
                log(f"phase B: hits/s in A {hits_rate_A:.0f}, in the {s1[-1][0] - s1[0][0]:.1f} s after recovery "
                    f"{(s1[-1][2] - s1[0][2]) / max(0.1, s1[-1][0] - s1[0][0]):.0f}")
        if t_rec is None:
            t_rec = time.time()
        new_master = ("127.0.0.1", replica["port"])
        inspect.refresh()
        n_new = len(inspect.node(new_master).keys_matching(prefix + "*")) if new_master in inspect.masters else -1
        c.check(f"phase B: the promoted master holds {n_new} test keys (entries are filled there again)", n_new > 0)

        # /healthz: degraded during, ok again within the window after recovery.
        t_ok = None
        while time.time() < t_rec + HEALTH_WINDOW_S + 8:
            after = [s for s in health.samples if s[0] > t_rec]
            oks = [s for s in after if s[1] == 200 and s[2] == "ok"]
            if oks:
                t_ok = oks[0][0]
                break
            time.sleep(0.2)
        during = [s for s in health.samples if t_kill <= s[0] <= t_rec]
        degraded = [s for s in during if str(s[2]).startswith("degraded:")]
        states = sorted({re.sub(r"\(.*\)", "(...)", str(s[2])) for s in during})
        c.check(f"phase B: /healthz said the cache was degraded in {len(degraded)} of {len(during)} polls "
                f"between the kill and recovery (e.g. {degraded[0][2] if degraded else None!r})", bool(degraded),
                f"states seen: {states}")
        bad_code = [s for s in health.samples if s[1] != 200]
        c.check(f"phase B: /healthz answered 200 throughout ({len(bad_code)} other answers)", not bad_code,
                f"{bad_code[:3]}")
        c.check(f"phase B: /healthz says cache ok again {(t_ok - t_rec) if t_ok else float('nan'):.1f} s after recovery "
                f"(degraded window {HEALTH_WINDOW_S:.0f} s)", t_ok is not None and t_ok - t_rec <= HEALTH_WINDOW_S + 2,
                f"last: {health.samples[-1] if health.samples else None}")
        health.stop.set()
        sampler.stop.set()
        _, mtext = metrics(srv)
        by_class = [line for line in mtext.splitlines() if line.startswith("rowcache_cache_errors_by_class_total{")]
        nonzero = [line.split("{", 1)[1] for line in by_class if not line.endswith(" 0")]
        c.check(f"/metrics has rowcache_cache_errors_by_class_total lines ({len(by_class)}; non-zero: {nonzero})",
                bool(by_class))
        tB_end = time.time()
        opsB2 = load.between(t_prom, tB_end)
        errB2 = [o for o in opsB2 if o[3] != 200]
        log(f"phase B after promotion: {len(errB2)} errors of {len(opsB2)} requests")
        opsB3 = load.between(t_rec + 1, tB_end)
        errB3 = [o for o in opsB3 if o[3] != 200]
        c.check(f"phase B: {len(errB3)} errors of {len(opsB3)} requests from 1 s after recovery", not errB3)

        # --- phase C: resharding under load: 1000 slots seed master -> promoted master (redis-cli's default
        # pipeline of 10 keys per MIGRATE), then the same 1000 back one key per MIGRATE (--cluster-pipeline 1:
        # an entry and its guard move in separate steps, so a slot spends longer half-migrated).
        cl.wait_ok(survivors, 15)
        dst = {"id": replica["id"], "port": replica["port"]}
        mc0, _ = metrics(srv)
        tC = time.time()
        reshards = []
        for frm, to, pipeline in [(seed, dst, 10), (dst, seed, 1)]:
            frm_slots = sorted(x for lo, hi in next(n for n in cl.nodes(seed["port"]) if n["id"] == frm["id"])["slots"]
                               for x in range(lo, hi + 1))
            moving = set(frm_slots[:RESHARD_SLOTS])  # redis-cli takes a source's lowest slots first
            focus = [i for i in ids if key_slot(entry_key(prefix, i)) in moving]
            load.focus = focus
            t0 = time.time()
            attempts, out = 0, None
            while attempts < 5:
                attempts += 1
                out = subprocess.run(["redis-cli", "--cluster", "reshard", f"127.0.0.1:{seed['port']}",
                                      "--cluster-from", frm["id"], "--cluster-to", to["id"],
                                      "--cluster-slots", str(RESHARD_SLOTS), "--cluster-pipeline", str(pipeline),
                                      "--cluster-yes"], capture_output=True, text=True, timeout=120)
                if out.returncode == 0 or "Moving slot" in out.stdout:
                    break
                time.sleep(1)
            t1 = time.time()
            c.check(f"phase C: reshard {RESHARD_SLOTS} slots {frm['port']} -> {to['port']} (pipeline {pipeline}; "
                    f"{len(focus)} test ids in them, aimed at by half the load) took {t1 - t0:.1f} s "
                    f"(attempt {attempts})", out.returncode == 0,
                    f"rc {out.returncode}: {out.stdout[-1500:]} {out.stderr[-800:]}")
            time.sleep(1.0)
            inspect.refresh()
            moved = sum(1 for x in moving if inspect.slots[x] == ("127.0.0.1", to["port"]))
            c.check(f"phase C: {moved} of {len(moving)} slots now served by {to['port']}", moved == len(moving))
            ops = load.between(t0, time.time())
            errs = [o for o in ops if o[3] != 200]
            log(f"phase C: {len(errs)} errors of {len(ops)} requests during this reshard and 1 s after")
            reshards.append(t1 - t0)
        time.sleep(1.0)
        load.focus = []
        tC_end = time.time()
        tC_done = tC + sum(reshards)
        opsC = load.between(tC, tC_end)
        errC = [o for o in opsC if o[3] != 200]
        mc1, _ = metrics(srv)
        log(f"phase C: cache errors +{mc1.get('rowcache_cache_errors_total', 0) - mc0.get('rowcache_cache_errors_total', 0):.0f}, "
            f"hits +{mc1.get('rowcache_cache_hits_total', 0) - mc0.get('rowcache_cache_hits_total', 0):.0f}, "
            f"fills refused +{mc1.get('rowcache_cache_fills_refused_total', 0) - mc0.get('rowcache_cache_fills_refused_total', 0):.0f}")
        c.check(f"phase C: {len(errC)} errors of {len(opsC)} requests while resharding (bound 1%)",
                len(errC) <= 0.01 * max(1, len(opsC)), f"{[e for e in load.errors if e[0] >= tC][:3]}")

        load.finish()
        t_stop = time.time()
        total = load.between(0, t_stop + 1)
        reads = [o for o in total if o[2] == "read"]
        log(f"load: {len(total)} requests ({len(reads)} reads, {len(total) - len(reads)} updates), "
            f"{sum(1 for o in total if o[3] != 200)} errors")

        def per_phase(items):
            ph = {"A": 0, "B-failover": 0, "B-after": 0, "C": 0}
            for s in items:
                t0 = s["t0"]
                k = "A" if t0 < t_kill else "B-failover" if t0 < t_prom else "B-after" if t0 < tC else "C"
                ph[k] += 1
            return ph
        c.check(f"stale reads after acknowledgement: {len(load.stale)} of {len(reads)} reads {per_phase(load.stale)}",
                not load.stale, json.dumps(load.stale[:5]))
        c.check(f"wrong answers: {len(load.wrong)} {per_phase(load.wrong)}", not load.wrong,
                json.dumps(load.wrong[:5], default=str))

        # --- the cache equals the database, for every id
        rows = {}
        for k in range(0, len(ids), 100):
            code, doc = srv.post({"USE_CACHE": "False", "REQUEST": "read", "SQLS": ids[k:k + 100]})
            if code == 200:
                rows.update({r["id"]: r for r in doc["body"] if r})
        db = {int(i): int(x) for i, x in (line.split("\t") for line in mariadb(f"SELECT id, xp FROM {table}").splitlines())}
        c.check(f"the API's database rows match MariaDB ({len(rows)} rows)",
                len(rows) == len(ids) and all(rows[i]["xp"] == db.get(i) for i in ids))
        inspect.refresh()
        present, differ = 0, []
        for i in ids:
            v = inspect.cmd("GET", entry_key(prefix, i))
            if isinstance(v, RedisError):
                differ.append((i, "error", str(v)))
                continue
            if v is None:
                continue
            present += 1
            try:
                same = json.loads(v) == rows.get(i) and v == json.dumps(rows.get(i))
            except ValueError:
                same = False
            if not same:
                differ.append((i, v, rows.get(i), key_slot(entry_key(prefix, i))))
        c.check(f"cache entries equal to the database row as the API returns it: {present - len(differ)} of "
                f"{present} present ({len(ids)} ids)", not differ and present > 0, f"{differ[:5]}")

        print(f"figures: errors A {len(errA)}/{len(opsA)}, B until promotion {len(errB1)}/{len(opsB1)}, "
              f"B after promotion {len(errB2)}/{len(opsB2)}, C {len(errC)}/{len(opsC)}; stale {len(load.stale)}; "
              f"wrong {len(load.wrong)}; promotion {t_prom - t_kill:.1f} s after the kill, cache used again "
              f"{rec:.1f} s after the promotion, /healthz ok {(t_ok - t_rec) if t_ok else float('nan'):.1f} s after "
              f"that; reshards {' + '.join(f'{x:.1f}' for x in reshards)} s")
        def p99(ops):
            lat = sorted(o[1] - o[0] for o in ops)
            return f"{1000 * lat[int(0.99 * (len(lat) - 1))]:.0f} ms" if lat else "-"
        log(f"p99 latency: A {p99(opsA)}, B until promotion {p99(opsB1)}, B after promotion {p99(opsB2)}, "
            f"C {p99(opsC)}")
        if load.errors:
            kinds = {}
            for e in load.errors:
                kinds.setdefault((e[1], e[2], re.sub(r"\d+", "N", e[3])[:160]), []).append(e[0])
            for (kind, code, text), ts in sorted(kinds.items(), key=lambda kv: -len(kv[1]))[:6]:
                log(f"error x{len(ts)} ({kind}, {code}) first at +{min(ts) - tA:.1f} s: {text}")
        interesting = [ln for t, ln in lines if ln.strip()]
        if interesting:
            log(f"service log: {len(interesting)} lines; first: {interesting[:5]}")
        if keep_logs:
            os.makedirs(keep_logs, exist_ok=True)
            with open(os.path.join(keep_logs, "service.log"), "w") as f:
                f.writelines(f"{t:.3f} {ln}\n" for t, ln in lines)
            with open(os.path.join(keep_logs, "errors.json"), "w") as f:
                json.dump({"errors": load.errors, "stale": load.stale, "wrong": load.wrong,
                           "t_kill": t_kill, "t_prom": t_prom, "t_rec": t_rec, "tC": tC, "tC_done": tC_done,
                           "health": health.samples}, f, default=str, indent=1)
        rc = srv.stop()
        srv = None
        c.check("SIGTERM exits 0", rc == 0, f"{rc}")
    finally:
        if load is not None:
            load.finish()
        if health is not None:
            health.stop.set()
        if sampler is not None:
            sampler.stop.set()
        if srv is not None:
            srv.stop()
        if inspect is not None:
            inspect.close()
        cl.stop()
        try:
            mariadb(f"DROP TABLE IF EXISTS {table}")
        except subprocess.CalledProcessError:
            pass
        log(f"run time {time.time() - t_begin:.1f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--keep-logs", default="", help="copy the service's and the Redis nodes' logs here")
    ap.add_argument("--serve-flag", action="append", default=[],
                    help="an extra flag for rowcache serve, e.g. --serve-flag=--cache-breaker-failures=0 (repeatable)")
    a = ap.parse_args()
    c = Checks()
    required = os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1"
    mysql_url = os.environ.get("ROWCACHE_TEST_MYSQL")
    missing = []
    if not mysql_url:
        missing.append("ROWCACHE_TEST_MYSQL not set")
    for tool in ("redis-server", "redis-cli", "mariadb"):
        if shutil.which(tool) is None:
            missing.append(f"{tool} not found")
    if missing:
        if required:
            c.check(f"cluster faults: {', '.join(missing)} (ROWCACHE_REQUIRE_SERVERS=1)", False)
        else:
            c.skip("cluster faults", ", ".join(missing))
        c.finish()
    try:
        scenario(c, a.binary, mysql_url, a.keep_logs or None, [x for f in a.serve_flag for x in f.split("=", 1)])
    except Exception as e:  # noqa: BLE001 - report, fail, and still tear down (done in scenario)
        import traceback
        c.check("the scenario ran to the end", False, traceback.format_exc() + repr(e))
    c.finish()


if __name__ == "__main__":
    main()
