"""Consistency checker: two `rowcache serve` processes on one MariaDB and one Redis, under faults; every
operation recorded, then checked against per-key register semantics.

    python3 tests/fault/checker.py --binary build/rowcache [--duration 60] [--clients 64]
        [--faults all|NAME,NAME,...] [--out DIR] [--seed N] [--expect-stale] [--mutation NAME]

Setup. A private MariaDB and Redis (tests/fault/chaos.py's Env, through scripts/servers.sh, on free ports
below the ephemeral range).
Instance A reaches Redis through a delay proxy (tests/fault/faults.py LinkProxy, its own process: a base
delay of --a-delay-ms each way, raised or cut by some faults) and MariaDB through a second proxy (which can
delay its packets or drop the replies to COMMITs); instance B talks to both directly. Both run --ttl 300:
the final comparison of cache and database happens long before any entry can expire, so a wrong entry
cannot hide behind a short TTL.

Load. --clients threads. Each operation goes to A or B at random, USE_CACHE true with probability
--use-cache-p. Rows: a hot set of --hot rows read and updated with zipf(1) popularity, new rows (inserts,
then a follow-up update or delete of the new id by a client on the OTHER instance), multi-id reads mixing
hot, recent and not-yet-existing ids, deletes of recent rows. Every write writes a globally unique `name`
(the other fields are derived from it), so each value names the write that produced it. One client in
eight is a racer: it guesses the ids the next inserts will get and updates or deletes each as soon as it
exists, through B -- while A's write-through of that insert is still on its way through the delay proxy
(the insert race).

Checks.
- Register semantics per id. A write is known to be in effect from its acknowledgement (200); a write
  with an unknown outcome (5xx, lost connection) whose value was ever observed (by a read, or in the final
  database) is known to be in effect --unknown-bound-s after its error came back (the service itself
  re-invalidates 2 x --db-timeout + 2 s after such a write). A read of id k invoked at t is STALE when
  the write its value came from precedes (ended before the start of) another write of k known in effect
  before t. A null is a deletion or the time before the insert. Reported with key, read interval, value
  and its write, the expected (latest acknowledged) value, when the returned value was superseded and for
  how long it stayed stale. Values never written to that id are PHANTOMS.
- Lost writes: the final database value of every id, checked as a read at the end of time.
- Batches (service-kill phase): every 20-row batch is in the database whole or not at all.
- Final cache vs database (before any TTL): every Redis entry equals the row as the API returns it.
- Liveness: after each fault heals (plus a grace period), no request fails and both instances answer;
  every client completed at least --min-ops operations; errors are reported per phase.
- Eviction phases: Redis INFO evicted_keys > 0.
Stale reads and cache/database differences that the service's documentation allows are reported apart,
as "explained", and only when the stale value can have come from a cache entry (not a null, not a read
with USE_CACHE false):
  - guarantee 3 (reliability.md): every write that superseded the value was made by the OTHER instance
    while that one could not reach Redis -- during an injected outage of its link or of Redis (plus 1.5 s
    for its breaker), or while a watcher thread (GET /metrics every ~25 ms) saw its breaker open or
    invalidations pending after timeouts or connection failures only -- and the read came before that
    backlog cleared (within 5 s of an injected outage's end);
  - "the known gap": the superseding write was in flight when its instance was SIGKILLed;
  - with --serve-args=--near-cache: every superseding write was made by the other instance less than
    --near-cache-lag-ms before the read (its invalidation message may still be on its way).
A stale read served by the writer's own instance is never explained, nor is one after a writer's breaker
opened on errors Redis answered (OOM: Redis was reachable). Everything else fails the run.

Faults (each a phase of about --duration / count seconds, in this order):
  link-delay     A's cache link delayed --delay-ms each way (on top of the base delay)
  link-cut       A's cache link cut (every connection reset, new ones refused) for 0.6 s, every 1.4 s
  cache-kill     Redis SIGKILLed, restarted (empty) after a while
  cache-stop     Redis SIGSTOPped, then SIGCONTinued
  cache-restart  Redis restarted empty, twice
  flushall       FLUSHALL every 0.4 s
  evict-volatile Redis restarted with maxmemory-policy volatile-lru; once it holds --evict-keys keys, its
                 maxmemory is kept just under what it uses, so every new entry costs an eviction; preloaded
                 rows are pulled into it through B, and batch writers add more
  evict-allkeys  the same with allkeys-lru
  cache-full     the same with noeviction: once full, Redis answers OOM to writes (reads and DEL still work)
  db-kill        MariaDB SIGKILLed, restarted
  db-delay-a     A's database link delayed 100 ms each way; half the clients update the top hot rows through
                 B and read them back through A
  commit-lost    30% of A's COMMITs reach MariaDB but their reply is lost (unknown outcome)
  service-kill   B, then A, SIGKILLed in the middle of 20-row write batches, and restarted
"all" is every one of them; "ci" is link-delay,flushall,evict-volatile,cache-restart,service-kill.

Output (--out DIR): ops.jsonl (one line per operation; .gz when over 20 MB), summary.json, summary.txt,
serve-A.log and serve-B.log (the services' stderr; .gz when over 256 KB).
Exit status: 0 when every check passed (with --expect-stale: when stale reads or lost writes WERE found,
the mutation runs' criterion), 1 otherwise.
"""
import argparse
import bisect
import collections
import gzip
import http.client
import itertools
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)
import faults  # noqa: E402
from faults import LinkProxy, make_servers, quiet_port, redis_info  # noqa: E402
from rowcache_e2e import Redis  # noqa: E402

ALL_FAULTS = ["link-delay", "link-cut", "cache-kill", "cache-stop", "cache-restart", "flushall", "evict-volatile",
              "evict-allkeys", "cache-full", "db-kill", "db-delay-a", "commit-lost", "service-kill"]
CI_FAULTS = ["link-delay", "flushall", "evict-volatile", "cache-restart", "service-kill"]
# With --redis cluster (no proxy on A's cache link, no single Redis to restart): a failover of a master
# (CLUSTER FAILOVER on its replica, twice: there and back), FLUSHALL on every master, and the database and
# service faults.
CLUSTER_FAULTS = ["failover", "flushall", "db-kill", "commit-lost", "service-kill"]
CLUSTER_CI_FAULTS = ["failover", "flushall", "service-kill"]
# Seconds after a fault heals before every request must succeed again (the cache's circuit breaker stays
# open for up to a second after its last failure).
GRACE = {"link-delay": 0.5, "link-cut": 1.5, "cache-kill": 1.5, "cache-stop": 1.5, "cache-restart": 1.5,
         "flushall": 0.5, "evict-volatile": 1.5, "evict-allkeys": 1.5, "cache-full": 1.5, "db-kill": 3.0,
         "db-delay-a": 0.5, "commit-lost": 0.5, "service-kill": 1.0, "failover": 2.0, "none": 0.5}
TABLE, PREFIX = "cons", "cons:"
INF = float("inf")
NS = 1_000_000_000


def now_ns():
    return time.perf_counter_ns()


def derive(name):
    """The full row written with `name` (every write sets all five fields, derived from the unique name)."""
    h = zlib.crc32(name.encode())
    return {"hero": ("h" + name)[:20], "power": "p%d" % (h % 997), "name": name, "xp": h % 100000,
            "color": ("c" + name[::-1])[:20]}


class Zipf:
    def __init__(self, n, s=1.0):
        self.cum = list(itertools.accumulate(1.0 / (i + 1) ** s for i in range(n)))

    def pick(self, rng):
        return bisect.bisect_left(self.cum, rng.random() * self.cum[-1])


# --------------------------------------------------------------------------------------------------
# Service instances


class Instance:
    """`rowcache serve` on a fixed port (so that it can be killed and restarted where clients expect it)."""

    def __init__(self, name, binary, db_url, cache_url, flags, env, logdir):
        self.name, self.binary, self.db_url, self.cache_url = name, binary, db_url, cache_url
        self.flags, self.env, self.logdir = flags, env, logdir
        self.port = quiet_port()  # fixed across restarts, outside the ephemeral range
        self.proc = None
        self.kills = []  # perf_counter_ns of each SIGKILL
        self.restarts = []
        self.start()

    def start(self):
        log = open(os.path.join(self.logdir, f"serve-{self.name}.log"), "a")
        for attempt in range(50):
            self.proc = subprocess.Popen(
                [self.binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--db", self.db_url, "--cache",
                 self.cache_url, *self.flags], stdout=subprocess.PIPE, stderr=log, text=True, env=self.env)
            line = self.proc.stdout.readline()
            if "listening on http://" in line:
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                log.close()
                self.restarts.append(now_ns())
                return
            self.proc.wait()
            time.sleep(0.1)  # the port may still be held for a moment after a kill
        log.close()
        with open(os.path.join(self.logdir, f"serve-{self.name}.log")) as f:
            raise RuntimeError(f"rowcache serve {self.name} did not start: {f.read()[-2000:]}")

    def kill(self):
        self.kills.append(now_ns())
        self.proc.kill()
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def metrics(self):
        out = {}
        try:
            _, text = self.get("/metrics")
        except OSError:
            return out
        for line in text.splitlines():
            if line.startswith("rowcache_") and " " in line and (
                    "{" not in line or line.startswith("rowcache_cache_errors_by_class_total")):
                k, v = line.rsplit(" ", 1)
                try:
                    out[k] = float(v)
                except ValueError:
                    pass
        return out


# --------------------------------------------------------------------------------------------------
# The run


class Run:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.log = []  # every operation (dicts)
        self.op_ids = itertools.count()
        self.lock = threading.Lock()
        self.stop_load = threading.Event()
        self.phase, self.phase_started = "setup", time.monotonic()
        self.phases = []  # {name, t_start, t_fault, t_heal, t_end, notes}
        self.hot = []
        self.recent = collections.deque(maxlen=400)  # ids inserted lately (reads and deletes pick from here)
        self.fresh = collections.deque(maxlen=2000)  # (id, instance) waiting for a follow-up write on the other
        self.max_id = 0  # highest acknowledged insert id
        self.base_id = 0
        self.t_origin = now_ns()

    # --- HTTP -----------------------------------------------------------------------------------
    def post(self, client, inst, body):
        conn = client.conns.get(inst.name)
        if conn is None:
            conn = client.conns[inst.name] = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=20)
        try:
            conn.request("POST", "/", body=json.dumps(body), headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, raw.decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            client.conns.pop(inst.name, None)
            return 0, f"{type(e).__name__}: {e}"

    def op(self, client, inst, kind, ids=None, names=None, use_cache=True, tag=None):
        """Runs one operation and records it. kind: read | insert | update | delete."""
        if kind == "read":
            body = {"REQUEST": "read", "USE_CACHE": use_cache, "SQLS": ids}
        elif kind == "insert":
            body = {"REQUEST": "write", "USE_CACHE": use_cache, "SQLS": [derive(n) for n in names]}
        elif kind == "update":
            body = {"REQUEST": "update", "USE_CACHE": use_cache,
                    "SQLS": [dict(derive(n), id=i) for i, n in zip(ids, names)]}
        else:
            body = {"REQUEST": "delete", "USE_CACHE": use_cache, "SQLS": ids}
        t0 = now_ns()
        st, doc = self.post(client, inst, body)
        t1 = now_ns()
        rec = {"i": next(self.op_ids), "c": client.cid, "inst": inst.name, "k": kind, "uc": bool(use_cache),
               "t0": t0, "t1": t1, "st": st, "ids": list(ids) if ids else []}
        if tag:
            rec["tag"] = tag
        if kind == "insert":
            rec["vals"] = list(names)
            if st == 200:
                rec["ids"] = list(doc.get("ids", []))
        elif kind == "update":
            rec["vals"] = list(names)
        elif kind == "delete" and st == 200:
            rec["done"] = list(doc.get("ids", []))
        if kind == "read" and st == 200:
            got = []
            for i, row in zip(ids, doc.get("body", [])):
                if row is None:
                    got.append(None)
                elif not isinstance(row, dict) or row.get("id") != i or "name" not in row or \
                        {k: v for k, v in row.items() if k != "id"} != derive(str(row.get("name"))):
                    got.append({"bad": row})  # not a row any write wrote
                else:
                    got.append(row["name"])
            rec["got"] = got
        if st != 200:
            rec["err"] = str(doc.get("body", {}).get("error") if isinstance(doc, dict) and
                             isinstance(doc.get("body"), dict) else doc)[:160]
        self.log.append(rec)
        if st == 0:
            time.sleep(0.02)  # an instance being restarted: do not spin
        return st, doc, rec


class Client(threading.Thread):
    def __init__(self, run, cid, instances, role):
        super().__init__(daemon=True)
        self.run_, self.cid, self.inst, self.role = run, cid, instances, role
        self.rng = random.Random(run.a.seed * 1000 + cid)
        self.conns = {}
        self.n = 0
        self.ops = 0

    def name(self):
        self.n += 1
        return f"{self.cid:x}-{self.n:x}"

    def pick_inst(self):
        return self.inst[self.rng.randrange(2)]

    def other(self, name):
        return self.inst[1] if name == "A" else self.inst[0]

    def uc(self):
        return self.rng.random() < self.run_.a.use_cache_p

    def hot_id(self):
        r = self.run_
        return r.hot[r.zipf.pick(self.rng)]

    def run(self):
        r = self.run_
        while not r.stop_load.is_set():
            try:
                if (self.role in ("racer", "batch") or self.cid % 4 == 1) and r.phase == "db-delay-a":
                    self.contend()
                elif self.role == "racer" and r.phase != "service-kill":
                    self.race()
                elif self.role == "racer":
                    self.g = None  # paused; it resumes past every id inserted meanwhile
                    self.normal()
                elif self.role == "batch" and r.phase in ("evict-volatile", "evict-allkeys", "cache-full",
                                                          "service-kill"):
                    self.batch()
                else:
                    self.normal()
            except Exception as e:  # a bug in the checker must not pass silently
                r.client_errors.append(f"client {self.cid}: {type(e).__name__}: {e}")
                time.sleep(0.05)
            self.ops += 1

    def normal(self):
        r, rng = self.run_, self.rng
        p = rng.random()
        if p < 0.15 and r.fresh:
            try:
                rid, ins_inst = r.fresh.popleft()
            except IndexError:
                return
            inst = self.other(ins_inst)
            if rng.random() < 0.7:
                r.op(self, inst, "update", [rid], [self.name()], self.uc(), tag="follow")
            else:
                r.op(self, inst, "delete", [rid], use_cache=self.uc(), tag="follow")
            r.op(self, self.pick_inst(), "read", [rid], use_cache=True, tag="follow")
        elif p < 0.48:
            r.op(self, self.pick_inst(), "read", [self.hot_id()], use_cache=self.uc())
        elif p < 0.63:
            ids = [self.hot_id() for _ in range(rng.randint(1, 3))]
            rec = list(r.recent)
            ids += [rng.choice(rec) for _ in range(rng.randint(1, 3))] if rec else []
            if rng.random() < 0.3:
                ids.append(r.max_id + rng.randint(1, 4))  # a row that may be being inserted right now
            r.op(self, self.pick_inst(), "read", ids, use_cache=self.uc())
        elif p < 0.81:
            inst, rid = self.pick_inst(), self.hot_id()
            st, _, _ = r.op(self, inst, "update", [rid], [self.name()], self.uc())
            if st == 200 and rng.random() < 0.35:  # read your write, through the other instance
                r.op(self, self.other(inst.name), "read", [rid], use_cache=True, tag="ryw")
        elif p < 0.91:
            inst = self.pick_inst()
            st, doc, rec = r.op(self, inst, "insert", names=[self.name() for _ in range(rng.randint(1, 3))],
                                use_cache=self.uc())
            if st == 200:
                for i in rec["ids"]:
                    r.fresh.append((i, inst.name))
                    r.recent.append(i)
                with r.lock:
                    r.max_id = max(r.max_id, max(rec["ids"]))
        elif p < 0.94:
            rec = list(r.recent)
            if rec:
                r.op(self, self.pick_inst(), "delete", [rng.choice(rec)], use_cache=self.uc())
        else:
            rec = list(r.recent)
            if rec:
                r.op(self, self.pick_inst(), "read", [rng.choice(rec) for _ in range(rng.randint(1, 4))],
                     use_cache=self.uc())

    def contend(self):
        """Update a top hot row through B, then read it back through A (whose database link is slow): the
        read starts after the update was acknowledged, while other reads of that row on A may be waiting
        for a database answer from before the update."""
        r = self.run_
        rid = r.hot[self.rng.randrange(3)]
        st, _, _ = r.op(self, self.inst[1], "update", [rid], [self.name()], True, tag="contend")
        r.op(self, self.inst[0], "read", [rid], use_cache=True, tag="contend")

    def race(self):
        """Update (or delete) through B each id the moment its insert commits, then read it back."""
        r, rng = self.run_, self.rng
        nr = r.n_racers
        g = getattr(self, "g", None)
        if g is None or g < r.max_id - 8 * nr:
            # (Re)start at the front; after a pause, past every id inserted meanwhile.
            g = r.max_id + 1
            g += (self.slot - g) % nr
            self.g, self.since = g, None
        if g > r.max_id + 4 * nr + 8:
            time.sleep(0.003)  # no insert has got that far yet
            return
        inst = self.inst[1]  # B: direct to Redis, while A's write-through crawls through the proxy
        delete = rng.random() < 0.25
        if delete:
            st, doc, rec = r.op(self, inst, "delete", [g], use_cache=True, tag="race")
            hit = st == 200 and rec.get("done") == [g]
        else:
            st, doc, rec = r.op(self, inst, "update", [g], [self.name()], True, tag="race")
            hit = st == 200
        if hit or st not in (200, 404):
            r.op(self, self.pick_inst(), "read", [g], use_cache=True, tag="race")
            r.recent.append(g)
            self.g += nr
            self.since = None
            return
        # Not there yet (or a gap: an insert that failed). Give up on it once later ids are acknowledged.
        t = time.monotonic()
        if self.since is None:
            self.since = t
        if g <= r.max_id and t - self.since > 0.3:
            self.g += nr
            self.since = None
        else:
            time.sleep(0.002)

    def batch(self):
        """20-row write batches (the service-kill phase kills instances in the middle of them); in the
        eviction phases, 25-row batches and reads of runs of preloaded rows, which fill Redis."""
        r, rng = self.run_, self.rng
        evict = r.phase != "service-kill"
        if not evict and time.monotonic() - r.phase_started < 0.5:
            time.sleep(0.05)  # let the racers' last guesses (they pause in this phase) finish first
            return
        n = 25 if evict else 20
        self.n += 1
        marker = f"{'f' if evict else 'b'}{self.cid:x}-{self.n:x}"
        inst = self.pick_inst()
        st, doc, rec = r.op(self, inst, "insert", names=[f"{marker}.{j}" for j in range(n)], use_cache=True,
                            tag="batch")
        if st == 200:
            with r.lock:
                r.max_id = max(r.max_id, max(rec["ids"]))
            if evict:  # service-kill batches are left alone, so that each can be counted whole at the end
                r.recent.append(rec["ids"][rng.randrange(n)])
        if evict:  # reads of runs of existing rows: many fills (small requests: big ones inflate Redis's buffers)
            for _ in range(3):
                lo = rng.randint(r.cold[0], max(r.cold[0], r.cold[1] - 25)) if r.cold[1] else \
                    rng.randint(1, max(1, r.max_id - 25))
                r.op(self, self.pick_inst(), "read", list(range(lo, lo + 25)), use_cache=True, tag="batch")


# --------------------------------------------------------------------------------------------------
# Faults


class Faults:
    def __init__(self, run, servers, proxy_cache, proxy_db, instances):
        self.run, self.s, self.pc, self.pd, self.inst = run, servers, proxy_cache, proxy_db, instances
        self.notes = {}
        self.outages = []  # (instance name, t0, t1): instance could not reach Redis

    def redis(self):
        if self.s.cluster_ports:
            return self.s.cluster_client()
        return Redis(self.s.redis_port, timeout=2, **faults.REDIS_KW)

    def play(self, name, length):
        """One phase: warm-up, the fault, its healing, recovery. Returns the phase record."""
        r, a = self.run, self.run.a
        ph = {"name": name, "t_start": now_ns(), "notes": {}}
        r.phase, r.phase_started = name, time.monotonic()
        warm, active = 0.15 * length, 0.45 * length
        time.sleep(warm)
        ph["t_fault"] = now_ns()
        fault_end = time.monotonic() + active
        notes = ph["notes"]

        def until_end():
            time.sleep(max(0.0, fault_end - time.monotonic()))

        if name == "link-delay":
            self.pc.delay(a.a_delay_ms + a.delay_ms)
            until_end()
            self.pc.delay(a.a_delay_ms)
        elif name == "link-cut":
            n = 0
            while time.monotonic() < fault_end - 0.6:
                t0 = now_ns()
                self.pc.cut()
                time.sleep(0.6)
                self.pc.delay(a.a_delay_ms)
                self.outages.append(("A", t0, now_ns()))
                n += 1
                time.sleep(min(0.8, max(0.0, fault_end - time.monotonic())))
            notes["cuts"] = n
            until_end()
        elif name == "cache-kill":
            t0 = now_ns()
            self.s.kill_redis()
            until_end()
            self.s.start_redis()
            self.outages += [(i, t0, now_ns()) for i in ("A", "B")]
        elif name == "cache-stop":
            t0 = now_ns()
            self.s.signal("redis", signal.SIGSTOP)
            until_end()
            self.s.signal("redis", signal.SIGCONT)
            self.outages += [(i, t0, now_ns()) for i in ("A", "B")]
        elif name == "cache-restart":
            for k in range(2):
                t0 = now_ns()
                self.s.restart_redis()
                self.outages += [(i, t0, now_ns()) for i in ("A", "B")]
                time.sleep(active / 2.5)
            until_end()
        elif name == "flushall":
            n = 0
            while time.monotonic() < fault_end:
                with self.redis() as rd:
                    if self.s.cluster_ports:
                        rd.on_masters("FLUSHALL")
                    else:
                        rd.cmd("FLUSHALL")
                n += 1
                time.sleep(0.4)
            notes["flushes"] = n
        elif name in ("evict-volatile", "evict-allkeys", "cache-full"):
            policy = {"evict-volatile": "volatile-lru", "evict-allkeys": "allkeys-lru"}.get(name, "noeviction")
            # A small cache: once it holds --evict-keys keys, maxmemory is kept just under what Redis uses
            # (re-set every 20 ms), so each new entry or lease costs an eviction (or, with noeviction, every
            # write is refused). A fixed tiny maxmemory does not work here: Redis counts the clients' buffers
            # (~130 connections with 64 clients: MBs, coming and going) and its tables and slow log against
            # it, and with nothing left to evict it answers OOM instead of evicting.
            t0 = now_ns()
            self.s.restart_redis("--maxmemory", "0", "--maxmemory-policy", policy)
            self.outages += [(i, t0, now_ns()) for i in ("A", "B")]
            limits = []
            filler = threading.Thread(target=self.fill, args=(fault_end,), daemon=True)
            filler.start()
            engaged = None
            with self.redis() as rd:
                while time.monotonic() < fault_end:
                    used = int(dict(ln.split(":", 1) for ln in (rd.cmd("INFO", "memory") or "").splitlines()
                                    if ":" in ln)["used_memory"])
                    full = rd.cmd("DBSIZE") >= a.evict_keys
                    if engaged is None and full:
                        engaged = round((now_ns() - t0) / 1e9, 2)
                    if engaged is not None:
                        # Full: just under the use (evict now); not full: just over it (a swing of the
                        # clients' buffers still evicts, but the cache does not drain to nothing).
                        limit = used - 64 * 1024 if full else used + 256 * 1024
                        rd.cmd("CONFIG", "SET", "maxmemory", limit)
                        limits.append(limit)
                    time.sleep(0.02)
            notes["limit_engaged_after_s"] = engaged
            filler.join()
            notes["maxmemory_range"] = [min(limits, default=0), max(limits, default=0)]
            info = redis_info(self.s.redis_port, "stats")
            mem = redis_info(self.s.redis_port, "memory")
            errs = redis_info(self.s.redis_port, "errorstats")
            notes.update(policy=policy, evicted_keys=info.get("evicted_keys", 0),
                         used_memory=mem.get("used_memory"), keys=self.dbsize(),
                         redis_errors={k[len("errorstat_"):]: int(str(v).split("=")[1].split(",")[0])
                                       for k, v in errs.items() if "count=" in str(v)})
            with self.redis() as rd:
                rd.cmd("CONFIG", "SET", "maxmemory", "0")
        elif name == "failover":
            moves = []
            for k in range(2):
                t0 = now_ns()
                moves.append(self.s.failover())
                # The failing-over master's writes are refused (MOVED, then its clients follow): an outage
                # of the cache for both instances while it lasts.
                self.outages += [(i, t0, now_ns()) for i in ("A", "B")]
                time.sleep(active / 3)
            notes["failovers"] = moves
            until_end()
        elif name == "db-kill":
            self.s.kill_mysql()
            until_end()
            self.s.start_mysql()
        elif name == "db-delay-a":
            self.pd.delay(100)
            until_end()
            self.pd.pass_()
        elif name == "commit-lost":
            before = self.pd.stats().get("commits_dropped", 0)
            self.pd.drop_commits(0.3)
            until_end()
            notes["commits_dropped"] = self.pd.drop_commits(0).get("commits_dropped", 0) - before
        elif name == "service-kill":
            for inst in (self.inst[1], self.inst[0]):
                time.sleep(active / 4)
                inst.kill()
                inst.start()
            notes["kills"] = {i.name: len(i.kills) for i in self.inst}
            until_end()
        elif name == "none":
            until_end()
        else:
            raise ValueError(name)
        ph["t_heal"] = now_ns()
        length_left = length - warm - active
        time.sleep(max(length_left, GRACE.get(name, 1.0) + 1.0))
        ph["t_end"] = now_ns()
        return ph

    def fill(self, until):
        """Pull runs of the preloaded rows into the cache through B, as fast as it takes them (recorded and
        checked like every read)."""
        r = self.run
        me = Client(r, -2, self.inst, "filler")
        lo_id, hi_id = r.cold
        while time.monotonic() < until and hi_id:
            lo = me.rng.randint(lo_id, max(lo_id, hi_id - 100))
            r.op(me, self.inst[1], "read", list(range(lo, lo + 100)), use_cache=True, tag="fill")

    def dbsize(self):
        with self.redis() as rd:
            if self.s.cluster_ports:
                return sum(rd.on_masters("DBSIZE").values())
            return rd.cmd("DBSIZE")


# --------------------------------------------------------------------------------------------------
# Analysis


RANK = {"initial": -1, "insert": 0, "update": 1, "delete": 2}


class Write:
    """One write of one id. Besides real time, the kind orders writes of an id: its insert comes before every
    update or delete that found the row, and a delete that removed it comes after all of them (ids are
    never reused): the rank."""
    __slots__ = ("key", "val", "s", "e", "acked", "d", "op", "inst", "kind", "ke", "observed", "rank")

    def __init__(self, key, val, op, acked, bound):
        self.key, self.val, self.op = key, val, op
        self.s, self.e = op["t0"], op["t1"]
        self.acked = acked
        self.d = self.e if acked else self.e + bound  # latest time it can have taken effect
        self.inst, self.kind = op["inst"], op["k"]
        self.rank = RANK[self.kind]
        self.observed = False
        self.ke = INF


INITIAL = {"t0": -INF, "t1": -INF, "inst": "-", "k": "initial", "i": -1}


class History:
    """Per-id writes, with what is known in effect when."""

    def __init__(self, ops, bound):
        self.bound = bound
        self.by_key = collections.defaultdict(list)
        self.by_name = {}
        self.phantom_inserts = {}  # name -> Write with no key yet (an insert with an unknown outcome)
        for op in ops:
            st, kind = op["st"], op["k"]
            if kind == "read" or st in (400, 404, 413):
                continue  # rejected writes change nothing
            unknown = st != 200
            if kind == "insert":
                for j, name in enumerate(op["vals"]):
                    key = op["ids"][j] if not unknown else None
                    w = Write(key, name, op, not unknown, bound)
                    self.by_name[name] = w
                    if key is None:
                        self.phantom_inserts[name] = w
                    else:
                        self.by_key[key].append(w)
            elif kind == "update":
                for key, name in zip(op["ids"], op["vals"]):
                    w = Write(key, name, op, not unknown, bound)
                    self.by_name[name] = w
                    self.by_key[key].append(w)
            elif kind == "delete":
                keys = op["done"] if not unknown else op["ids"]
                for key in keys:
                    self.by_key[key].append(Write(key, None, op, not unknown, bound))

    def observe(self, key, val):
        """A value seen for key (a read, or the final database). Returns the write, or None (phantom)."""
        w = self.by_name.get(val)
        if w is None:
            return None
        if w.key is None:  # an insert with an unknown outcome that did commit: now we know its id
            w.key = key
            self.by_key[key].append(w)
            self.phantom_inserts.pop(val, None)
        if w.key != key:
            return None
        w.observed = True
        return w

    def index(self):
        """Per key: writes known in effect sorted by that time, with prefix maxima of their start times,
        and the earliest such time per rank; once for acknowledged writes only and once for all."""
        self.idx = {}
        for key, ws in self.by_key.items():
            for w in ws:
                w.ke = w.e if w.acked else (w.d if w.observed else INF)
            lists = []
            for only_acked in (True, False):
                known = sorted((w for w in ws if w.ke < INF and (w.acked or not only_acked)), key=lambda w: w.ke)
                kes = [w.ke for w in known]
                pmax, m = [], -INF
                for w in known:
                    m = max(m, w.s)
                    pmax.append(m)
                # first_above[r]: earliest time a write of rank > r was known in effect
                first_above = {r: min((w.ke for w in known if w.rank > r), default=INF) for r in (-1, 0, 1, 2)}
                lists.append((kes, pmax, first_above))
            self.idx[key] = lists

    def superseded_at(self, key, c, t, only_acked):
        """Earliest time a write known to follow c (it started after c ended, or its rank is higher) was known
        in effect, if before t; else None."""
        lists = self.idx.get(key)
        if not lists:
            return None
        kes, pmax, first_above = lists[0 if only_acked else 1]
        best = first_above[c.rank]
        n = bisect.bisect_left(kes, t)
        if n and pmax[n - 1] > c.d:
            j = bisect.bisect_right(pmax, c.d, 0, n)  # first index with pmax > c.d
            best = min(best, kes[j])
        return best if best < t else None

    def superseders(self, key, c, t):
        return [w for w in self.by_key.get(key, []) if (w.s > c.d or w.rank > c.rank) and w.ke < t]

    def latest_acked(self, key, t):
        """The last acknowledged write before t in version order (rank, then acknowledgement)."""
        best = None
        for w in self.by_key.get(key, []):
            if w.acked and w.e < t and (best is None or (w.rank, w.e) > (best.rank, best.e)):
                best = w
        return best

    def candidates(self, key, val):
        if val is None:
            return [Write(key, None, INITIAL, True, 0)] + [w for w in self.by_key.get(key, []) if w.val is None]
        w = self.by_name.get(val)
        return [w] if w is not None and w.key == key else []


def check_value(h, key, val, s_r, e_r):
    """None if a read of key over [s_r, e_r] may return val; else a dict describing the violation."""
    cands = h.candidates(key, val)
    if not cands:
        return {"kind": "phantom"}
    cands = [c for c in cands if c.s < e_r]
    if not cands:
        return {"kind": "future"}
    worst = None
    for only_acked in (True, False):
        times = []
        for c in cands:
            t = h.superseded_at(key, c, s_r, only_acked)
            if t is None:
                times = None
                break
            times.append(t)
        if times is not None:
            worst = (only_acked, max(times))
            break
    if worst is None:
        return None
    only_acked, t_sup = worst
    kind = "stale" if only_acked else "stale-after-unacked"
    if val is None and all(c.kind == "initial" for c in cands):
        kind = "null-after-insert" if only_acked else kind
    return {"kind": kind, "superseded_at": t_sup, "cands": cands}


def analyse(run, faults, instances, final_db, final_cache, t_snapshot):
    a = run.a
    bound = int(a.unknown_bound_s * NS)
    ops = run.log
    h = History(ops, bound)
    rel = lambda t: None if t in (INF, -INF, None) else round((t - run.t_origin) / 1e6, 1)  # noqa: E731

    # Observations (reads, then the final database) give unknown writes their ids and "observed" marks.
    phantoms = []
    for op in ops:
        if op["k"] == "read" and op["st"] == 200:
            for key, val in zip(op["ids"], op["got"]):
                if isinstance(val, dict):
                    phantoms.append({"op": op["i"], "key": key, "row": val["bad"], "why": "not a row any write wrote"})
                elif val is not None and h.observe(key, val) is None:
                    phantoms.append({"op": op["i"], "key": key, "value": val, "why": "value never written to this id"})
    for key, row in final_db.items():
        if h.observe(key, row["name"]) is None:
            phantoms.append({"key": key, "value": row["name"], "why": "database row no write wrote"})
    h.index()

    kills = {i.name: i.kills for i in instances}
    near_lag = int(a.near_cache_lag_ms * 1e6)
    outages = [(inst, t0, t1 + int(1.5 * NS)) for inst, t0, t1 in faults.outages]  # + breaker and retry

    def killed_in_flight(w):
        return not w.acked and any(w.s <= k <= w.e + NS // 10 for k in kills.get(w.inst, []))

    def writer_cut_off(w, t):
        """w's instance could not reach Redis while it wrote, and t (a stale read, or the snapshot) is soon
        enough after that for its retried invalidation to be still due -- or the instance was killed before
        the retry could land (its list of pending invalidations died with it)."""
        for inst, t0, t1 in outages:
            if inst == w.inst and t0 <= w.e and w.s <= t1:
                if t <= t1 + 5 * NS or any(w.e <= k <= t for k in kills.get(w.inst, [])):
                    return True
        return False

    def deferred_unreachable(w, t):
        """The watcher saw w's instance defer invalidations (breaker open or invalidations pending) around w,
        after cache errors that were all timeouts or connection failures (Redis unreachable from it), and
        t is before that backlog cleared."""
        samples = getattr(run, "cache_state", {}).get(w.inst, [])
        if not samples:
            return False
        i = bisect.bisect_left(samples, (w.s - 2 * NS,))
        j = bisect.bisect_left(samples, (w.e + 300_000_000,))
        win = samples[max(0, i - 1):j + 1]
        if not any(x[1] != 0 or x[2] > 0 for x in win if x[0] >= w.s - 30_000_000):
            return False
        unreach = max(x[3] for x in win) - min(x[3] for x in win)
        other = max(x[4] for x in win) - min(x[4] for x in win)
        if unreach <= 0 or other > 0:
            return False
        k = bisect.bisect_left(samples, (w.e,))
        clear = next((x[0] for x in samples[k:] if x[1] == 0 and x[2] == 0), INF)
        return t <= clear + 50_000_000

    def explain(key, val, cands, op):
        """Why the documentation allows this stale value, or None. Both allowances are about cache entries
        left behind, so neither covers a null (never cached) or a read with USE_CACHE false."""
        s_r, reader = op["t0"], op["inst"]
        sup = [w for c in cands for w in h.superseders(key, c, s_r)]
        if not sup or val is None or not op["uc"]:
            return None
        if all(killed_in_flight(w) for w in sup):
            return "known gap: writer killed between commit and invalidation"
        if all(killed_in_flight(w) or (w.inst != reader and (writer_cut_off(w, s_r) or deferred_unreachable(w, s_r)))
               for w in sup):
            return "guarantee 3: the writer could not reach Redis to invalidate"
        if near_lag and all(w.inst != reader and s_r - w.ke <= near_lag for w in sup):
            return "near cache: another instance's write, its invalidation message still on its way"
        return None

    def writer_deferred(w):
        """What the watcher saw of w's instance from w's start to 300 ms after it: its breaker open, or
        invalidations pending."""
        if w is None:
            return None
        samples = getattr(run, "cache_state", {}).get(w.inst, [])
        lo = bisect.bisect_left(samples, (w.s - 30_000_000,))
        seen = [x for x in samples[lo:lo + 200] if x[0] <= w.e + 300_000_000]
        if not seen:
            return "not sampled"
        br = any(x[1] != 0 for x in seen)
        pend = max(x[2] for x in seen)
        i = bisect.bisect_left(samples, (w.s - 2 * NS,))
        win = samples[max(0, i - 1):lo + len(seen)]
        unreach = max(x[3] for x in win) - min(x[3] for x in win)
        other = max(x[4] for x in win) - min(x[4] for x in win)
        return (("breaker open" if br else "breaker closed") + f", up to {int(pend)} invalidations pending; "
                f"cache errors in the 2 s before: {int(unreach)} timeout/connection, {int(other)} other")

    def wdesc(w):
        if w is None:
            return None
        return {"value": w.val, "op": w.op["i"], "inst": w.inst, "kind": w.kind, "acked": w.acked,
                "invoke_ms": rel(w.s), "complete_ms": rel(w.e)}

    stale = []
    n_reads = n_read_values = 0
    for op in ops:
        if op["k"] != "read" or op["st"] != 200:
            continue
        n_reads += 1
        for key, val in zip(op["ids"], op["got"]):
            n_read_values += 1
            if isinstance(val, dict):
                continue
            v = check_value(h, key, val, op["t0"], op["t1"])
            if v is None or v["kind"] in ("phantom", "future"):
                if v is not None:
                    phantoms.append({"op": op["i"], "key": key, "value": val, "why": v["kind"]})
                continue
            exp = h.latest_acked(key, op["t0"])
            why = explain(key, val, v["cands"], op)
            first_sup = min(h.superseders(key, v["cands"][0], op["t0"]), key=lambda w: w.ke, default=None)
            stale.append({
                "kind": v["kind"], "key": key, "op": op["i"], "inst": op["inst"], "use_cache": op["uc"],
                "superseding_write": wdesc(first_sup), "superseding_writer_cache": writer_deferred(first_sup),
                "client": op["c"], "read_ms": [rel(op["t0"]), rel(op["t1"])], "returned": val,
                "returned_write": wdesc(v["cands"][0]) if val is not None else "null",
                "expected": exp.val if exp else None, "expected_write": wdesc(exp),
                "superseded_ms": rel(v["superseded_at"]),
                "stale_for_ms": round((op["t0"] - v["superseded_at"]) / 1e6, 1),
                "explained": why, "phase": phase_of(run, op["t0"])})

    # Episodes: how long each stale value stayed visible.
    episodes = {}
    for s in stale:
        k = (s["key"], s["returned"])
        e = episodes.setdefault(k, {"key": s["key"], "value": s["returned"], "superseded_ms": s["superseded_ms"],
                                    "reads": 0, "last_read_ms": 0, "explained": s["explained"],
                                    "phase": s["phase"], "kind": s["kind"]})
        e["reads"] += 1
        e["last_read_ms"] = max(e["last_read_ms"], s["read_ms"][1])
        e["superseded_ms"] = min(e["superseded_ms"], s["superseded_ms"])
    for e in episodes.values():
        e["visible_for_ms"] = round(e["last_read_ms"] - e["superseded_ms"], 1)

    # Lost writes: the final database, as a read at the end of time.
    lost = []
    keys = set(h.by_key) | set(final_db)
    for key in sorted(keys):
        row = final_db.get(key)
        val = row["name"] if row else None
        v = check_value(h, key, val, t_snapshot, t_snapshot)
        if v is None or v["kind"] in ("phantom", "future"):
            continue
        exp = h.latest_acked(key, t_snapshot)
        lost.append({"key": key, "kind": v["kind"], "db_value": val, "expected": exp.val if exp else None,
                     "expected_write": wdesc(exp), "lost_writes": [wdesc(w) for c in v["cands"]
                                                                  for w in h.superseders(key, c, t_snapshot)][:5]})

    # Batches: all rows or none.
    # (Only the service-kill phase's batches: racers pause then, and nothing else writes their rows.)
    batch_counts = collections.Counter(r["name"].rsplit(".", 1)[0] for r in final_db.values()
                                       if r["name"].startswith("b") and "." in r["name"])
    batch_sizes, acked_batches = {}, set()
    for op in ops:
        if op.get("tag") == "batch" and op["k"] == "insert" and op["vals"][0].startswith("b"):
            m = op["vals"][0].rsplit(".", 1)[0]
            batch_sizes[m] = len(op["vals"])
            if op["st"] == 200:
                acked_batches.add(m)
    # An acknowledged batch is counted by its ids (a row another client renamed is still there).
    deleted = {k for op in ops if op["k"] == "delete" for k in (op.get("done") or (op["ids"] if op["st"] != 200
                                                                                    else []))}
    for op in ops:
        if op.get("tag") == "batch" and op["k"] == "insert" and op["st"] == 200 and op["vals"][0].startswith("b"):
            m = op["vals"][0].rsplit(".", 1)[0]
            batch_counts[m] = sum(1 for k in op["ids"] if k in final_db or k in deleted)
    partial = {m: n for m, n in batch_counts.items() if n != batch_sizes.get(m)}
    missing_batches = [m for m in acked_batches if batch_counts.get(m, 0) != batch_sizes[m]]

    # Final cache vs database.
    mismatches = []
    for key, raw in final_cache.items():
        row = final_db.get(key)
        try:
            cached = json.loads(raw)
        except ValueError:
            cached = raw
        want = dict(row, id=key) if row else None
        if cached != want:
            cval = cached.get("name") if isinstance(cached, dict) else None
            dbw = h.by_name.get(row["name"]) if row else None
            why = None
            last = [w for w in h.by_key.get(key, []) if w.val is None] if row is None else [dbw] if dbw else []
            if last and all(killed_in_flight(w) for w in last):
                why = "known gap: writer killed between commit and invalidation"
            elif last and all(writer_cut_off(w, t_snapshot) for w in last):
                why = "guarantee 3: the writer could not reach Redis to invalidate"
            mismatches.append({"key": key, "cache": cached, "db": want, "cache_write": wdesc(h.by_name.get(cval)),
                               "db_write": wdesc(dbw), "explained": why})

    # Liveness and errors, per phase.
    per_phase = []
    min_ops = a.min_ops
    for ph in run.phases:
        sel = [op for op in ops if ph["t_start"] <= op["t0"] < ph["t_end"]]
        grace = int(GRACE.get(ph["name"], 1.0) * NS)
        errs = collections.Counter()
        errs_fault, errs_after = collections.Counter(), collections.Counter()
        ok_after = collections.Counter()
        for op in sel:
            bad = op["st"] not in (200, 404) or (op["st"] == 404 and op["k"] != "update")
            if op["st"] == 404 and op["k"] == "update" and op.get("tag") not in ("race", "follow"):
                bad = True  # hot rows are never deleted
            key = f"{op['st']} {op['k']}"
            if bad:
                errs[key] += 1
                if op["t0"] >= ph["t_heal"] + grace:
                    errs_after[key] += 1
                elif op["t0"] >= ph["t_fault"]:
                    errs_fault[key] += 1
            elif op["t0"] >= ph["t_heal"] + grace:
                ok_after[op["inst"]] += 1
        st = [s for s in stale if ph["t_start"] <= (s["read_ms"][0] * 1e6 + run.t_origin) < ph["t_end"]]
        per_phase.append({
            "phase": ph["name"], "start_s": round((ph["t_start"] - run.t_origin) / 1e9, 2),
            "fault_s": round((ph["t_fault"] - run.t_origin) / 1e9, 2),
            "heal_s": round((ph["t_heal"] - run.t_origin) / 1e9, 2),
            "end_s": round((ph["t_end"] - run.t_origin) / 1e9, 2),
            "ops": len(sel), "reads": sum(1 for o in sel if o["k"] == "read"),
            "writes": sum(1 for o in sel if o["k"] != "read"),
            "errors": sum(errs.values()), "errors_by_status": dict(errs),
            "errors_during_fault": dict(errs_fault), "errors_after_recovery": dict(errs_after),
            "ok_after_recovery": dict(ok_after),
            "stale_reads": sum(1 for s in st if not s["explained"]),
            "stale_reads_explained": sum(1 for s in st if s["explained"]),
            "notes": ph["notes"]})

    per_client = collections.Counter(op["c"] for op in ops if op["c"] >= 0)
    slow_clients = {c: per_client.get(c, 0) for c in range(a.clients) if per_client.get(c, 0) < min_ops}

    writes_acked = sum(1 for op in ops if op["k"] != "read" and op["st"] == 200)
    writes_unknown = sum(1 for op in ops if op["k"] != "read" and op["st"] not in (200, 400, 404))
    summary = {
        "operations": len(ops), "reads": n_reads, "values_read": n_read_values,
        "writes_acknowledged": writes_acked, "writes_unknown_outcome": writes_unknown,
        "ids": len(keys), "stale_reads": sum(1 for s in stale if not s["explained"]),
        "stale_reads_explained": sum(1 for s in stale if s["explained"]),
        "stale_by_kind": dict(collections.Counter(s["kind"] + (" (explained)" if s["explained"] else "")
                                                  for s in stale)),
        "max_stale_for_ms": max((s["stale_for_ms"] for s in stale if not s["explained"]), default=0),
        "lost_writes": len(lost), "phantoms": len(phantoms),
        "partial_batches": len(partial), "acked_batches_incomplete": len(missing_batches),
        "batches_complete": sum(1 for m, n in batch_counts.items() if n == batch_sizes.get(m)),
        "batches_attempted": len(batch_sizes),
        "cache_entries": len(final_cache),
        "cache_db_mismatches": sum(1 for m in mismatches if not m["explained"]),
        "cache_db_mismatches_explained": sum(1 for m in mismatches if m["explained"]),
        "snapshot_after_s": round((t_snapshot - run.t_origin) / 1e9, 1),
        "clients_below_min_ops": slow_clients, "ops_per_client_min": min(per_client.values(), default=0),
        "errors": sum(p["errors"] for p in per_phase),
    }
    details = {"stale": stale, "episodes": sorted(episodes.values(), key=lambda e: -e["visible_for_ms"]),
               "lost": lost, "phantoms": phantoms, "partial_batches": partial,
               "missing_batches": missing_batches, "mismatches": mismatches}
    return summary, per_phase, details


def watch_caches(run, instances):
    """Samples each instance's circuit breaker and pending invalidations (GET /metrics) every ~25 ms, so that a
    stale read can be told whether its writer had deferred its invalidation."""
    run.cache_state = {i.name: [] for i in instances}
    conns = {}
    while not run.stop_load.is_set():
        for inst in instances:
            try:
                c = conns.get(inst.name) or http.client.HTTPConnection("127.0.0.1", inst.port, timeout=2)
                conns[inst.name] = c
                c.request("GET", "/metrics")
                text = c.getresponse().read().decode()
            except (OSError, http.client.HTTPException):
                conns.pop(inst.name, None)
                continue
            br = pend = unreach = other = 0.0
            for line in text.splitlines():
                if line.startswith("rowcache_cache_breaker_state "):
                    br = float(line.split()[1])
                elif line.startswith("rowcache_pending_invalidations "):
                    pend = float(line.split()[1])
                elif line.startswith("rowcache_cache_errors_by_class_total{"):
                    n = float(line.rsplit(" ", 1)[1])
                    if 'class="timeout"' in line or 'class="connection"' in line:
                        unreach += n
                    else:
                        other += n
            # (time, breaker state, pending invalidations, cache errors: unreachable, other) -- the error
            # counters restart with the process
            run.cache_state[inst.name].append((now_ns(), br, pend, unreach, other))
        time.sleep(0.025)


def phase_of(run, t):
    for ph in run.phases:
        if ph["t_start"] <= t < ph["t_end"]:
            return ph["name"]
    return "final" if run.phases and t >= run.phases[-1]["t_end"] else "setup"


# --------------------------------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "),
                                epilog="Details: the header of tests/fault/checker.py.")
    p.add_argument("--binary", required=True)
    p.add_argument("--duration", type=float, default=60, help="seconds of load (split among the faults)")
    p.add_argument("--clients", type=int, default=64)
    p.add_argument("--faults", default="all", help="all, ci, none, or a comma list of " + ",".join(ALL_FAULTS))
    p.add_argument("--out", default="")
    p.add_argument("--expect-stale", action="store_true",
                   help="succeed only if stale reads or lost writes are found (mutation runs)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mutation", default="", help="ROWCACHE_TEST_MUTATION for both instances (mutation builds)")
    p.add_argument("--hot", type=int, default=48, help="rows in the hot set")
    p.add_argument("--use-cache-p", type=float, default=0.9)
    p.add_argument("--a-delay-ms", type=float, default=20, help="A's cache link delay, each way, always")
    p.add_argument("--delay-ms", type=float, default=40, help="added to it during link-delay")
    p.add_argument("--db-timeout", type=int, default=2)
    p.add_argument("--unknown-bound-s", type=float, default=0,
                   help="a write with an unknown outcome is in effect this long after its error, if ever "
                        "(default 2 x db-timeout + 3)")
    p.add_argument("--cold-rows", type=int, default=0,
                   help="rows loaded before the run for the eviction phases to pull into the cache (default: "
                        "3 x --evict-keys, at least 10000)")
    p.add_argument("--evict-keys", type=int, default=5000,
                   help="evict-volatile, evict-allkeys, cache-full: keys Redis may hold before it must evict (or, "
                        "with noeviction, refuse writes)")
    p.add_argument("--min-ops", type=int, default=20)
    p.add_argument("--serve-args", default="",
                   help="more `rowcache serve` flags for both instances, e.g. --serve-args=--near-cache")
    p.add_argument("--near-cache-lag-ms", type=float, default=-1,
                   help="with --near-cache: how long after another instance's write a near cache may still serve "
                        "the previous value (reliability.md: a bounded delay; default: the service's "
                        "--near-cache-max-lag-ms, 300)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--redis", choices=["plain", "tls", "cluster"], default="plain",
                   help="tls: the Redis serves TLS only and requires AUTH (both instances verify its certificate); "
                        "cluster: a 3+3 Redis Cluster that both instances reach directly (faults: "
                        + ",".join(CLUSTER_FAULTS) + ")")
    a = p.parse_args(argv)
    if a.near_cache_lag_ms < 0:
        sa = shlex.split(a.serve_args)
        a.near_cache_lag_ms = 0
        if "--near-cache" in sa:
            a.near_cache_lag_ms = 300
            for i, f in enumerate(sa):
                if f.startswith("--near-cache-max-lag-ms"):
                    a.near_cache_lag_ms = float(f.split("=", 1)[1] if "=" in f else sa[i + 1])
    if not a.cold_rows:
        a.cold_rows = max(10000, 3 * a.evict_keys)
    if not a.unknown_bound_s:
        a.unknown_bound_s = 2 * a.db_timeout + 3
    cluster = a.redis == "cluster"
    faults_sel = {"all": CLUSTER_FAULTS if cluster else ALL_FAULTS, "ci": CLUSTER_CI_FAULTS if cluster else CI_FAULTS,
                  "none": ["none"]}.get(a.faults)
    if faults_sel is None:
        faults_sel = [f.strip() for f in a.faults.split(",") if f.strip()]
        bad = [f for f in faults_sel if f not in (CLUSTER_FAULTS if cluster else ALL_FAULTS) + ["none"]]
        if bad:
            p.error(f"unknown faults: {bad}")
    t_begin = time.time()
    out = a.out
    if out:
        os.makedirs(out, exist_ok=True)
    logdir = out or None

    servers = make_servers(tls=a.redis == "tls", cluster=a.redis == "cluster")
    logdir = logdir or servers.dir
    pc = pd = None
    instances = []
    run = Run(a)
    try:
        pc = LinkProxy(servers.redis_port)
        pc.delay(a.a_delay_ms)
        pd = LinkProxy(servers.mysql_port, mysql=True)
        servers.sql(f"DROP TABLE IF EXISTS {TABLE}")
        env = dict(os.environ)
        env.pop("ROWCACHE_TEST_MUTATION", None)
        if a.mutation:
            env["ROWCACHE_TEST_MUTATION"] = a.mutation
        per = max(4, a.clients)
        flags = ["--ttl", "300", "--key-prefix", PREFIX, "--db-timeout", str(a.db_timeout), "--threads", str(per),
                 "--db-pool", str(per), "--cache-pool", str(per), *shlex.split(a.serve_args)]
        db = "mysql://rowcache:rowcache@127.0.0.1:{}/rowcache?table=" + TABLE
        A = Instance("A", a.binary, db.format(pd.port), servers.cache_url(pc.port), flags, env, logdir)
        # (With a cluster both reach it directly, and pc stands unused.)
        B = Instance("B", a.binary, db.format(servers.mysql_port), servers.cache_url(servers.redis_port), flags, env,
                     logdir)
        instances = [A, B]
        fl = Faults(run, servers, pc, pd, instances)

        # The hot set, inserted through B, recorded like any write.
        setup = Client(run, -1, instances, "setup")
        names = [f"s-{i:x}" for i in range(a.hot)]
        st, doc, rec = run.op(setup, B, "insert", names=names, use_cache=True)
        if st != 200:
            raise RuntimeError(f"setup insert failed: {st} {doc}")
        run.hot = rec["ids"]
        run.cold = (0, 0)
        if any(f in ("evict-volatile", "evict-allkeys", "cache-full") for f in faults_sel):
            # Rows for the eviction phases to pull into the cache (straight into the database: quicker than
            # the API; recorded as one acknowledged insert like any other).
            n = a.cold_rows
            names = [f"p-{i:x}" for i in range(n)]
            t0 = now_ns()
            for k in range(0, n, 2000):
                values = ",".join("('%s','%s','%s',%d,'%s')" % (r["hero"], r["power"], r["name"], r["xp"], r["color"])
                                  for r in map(derive, names[k:k + 2000]))
                servers.sql(f"INSERT INTO {TABLE} (hero, power, name, xp, color) VALUES {values}")
            got = {nm: int(i) for i, nm in servers.sql(f"SELECT id, name FROM {TABLE} WHERE name LIKE 'p-%'")}
            ids = [got[nm] for nm in names]
            run.log.append({"i": next(run.op_ids), "c": -1, "inst": "B", "k": "insert", "uc": False, "t0": t0,
                            "t1": now_ns(), "st": 200, "ids": ids, "vals": names, "tag": "preload"})
            run.cold = (min(ids), max(ids))
        run.base_id = run.max_id = max(run.hot + [run.cold[1]])
        run.zipf = Zipf(len(run.hot))
        run.client_errors = []

        roles = []
        for c in range(a.clients):
            roles.append("racer" if c % 8 == 7 or (a.clients < 8 and c == a.clients - 1) else
                         "batch" if c % 8 == 6 else "normal")
        run.n_racers = roles.count("racer")
        clients = [Client(run, c, instances, roles[c]) for c in range(a.clients)]
        slot = 0
        for c in clients:
            if c.role == "racer":
                c.slot, slot = slot, slot + 1
        monitor = threading.Thread(target=watch_caches, args=(run, instances), daemon=True)
        monitor.start()
        t_load = now_ns()
        for c in clients:
            c.start()
        length = a.duration / len(faults_sel)
        for name in faults_sel:
            ph = fl.play(name, length)
            run.phases.append(ph)
            if not a.quiet:
                print(f"phase {name:15s} done at {(now_ns() - t_load) / 1e9:6.1f} s {ph['notes'] or ''}",
                      flush=True)
        run.stop_load.set()
        for c in clients:
            c.join(30)
        t_load_end = now_ns()
        t_setup = (t_load - run.t_origin) / 1e9

        # Let failed invalidations drain, and the second invalidations of unknown outcomes fall due: the
        # snapshot and the final sweep come after every write with an unknown outcome must be in effect.
        last_unknown = max((op["t1"] for op in run.log if op["k"] != "read" and op["st"] not in (0, 200, 400, 404)),
                           default=0)
        wait_until = max(time.monotonic() + 1,
                         time.monotonic() + (last_unknown + (a.unknown_bound_s + 0.5) * NS - now_ns()) / NS)
        drained = False
        while time.monotonic() < wait_until + 10:
            pend = 0
            for inst in instances:
                run.op(setup, inst, "read", [run.hot[0]], use_cache=True, tag="drain")
                pend += inst.metrics().get("rowcache_pending_invalidations", 0)
            if pend == 0 and time.monotonic() >= wait_until:
                drained = True
                break
            time.sleep(0.2)

        # Snapshot: database, then cache (an entry is compared with the database as of after it).
        t_snapshot = now_ns()
        final_db = {}
        for i, hero, power, name, xp, color in servers.sql(
                f"SELECT id, hero, power, name, xp, color FROM {TABLE}"):
            final_db[int(i)] = {"hero": hero, "power": power, "name": name, "xp": int(xp), "color": color}
        final_cache = {}
        rd = servers.cluster_client() if servers.cluster_ports else Redis(servers.redis_port, timeout=10,
                                                                                       **faults.REDIS_KW)
        with rd:
            keys = [k for k in rd.keys_matching(PREFIX + "{*}") if k.endswith("}")]
            for n in range(0, len(keys), 500):
                chunk = keys[n:n + 500]
                # (A cluster answers a multi-key MGET only within a slot.)
                values = [rd.cmd("GET", k) for k in chunk] if servers.cluster_ports else rd.cmd("MGET", *chunk)
                for k, v in zip(chunk, values):
                    if v is not None:
                        final_cache[int(k[len(PREFIX) + 1:-1])] = v
        db_after = {}
        for i, name in servers.sql(f"SELECT id, name FROM {TABLE}"):
            db_after[int(i)] = name
        if db_after != {k: r["name"] for k, r in final_db.items()}:
            run.client_errors.append("the database changed during the snapshot")

        # Final sweep: every id through both instances, cached and not (checked as reads).
        # (Preloaded rows nobody wrote again are left out: the comparison of every cache entry with the
        # database above covers them.)
        ids = sorted({k for op in run.log if op["k"] != "read" and op.get("tag") != "preload" for k in op["ids"]} |
                     set(run.hot))
        for inst in instances:
            for uc in (True, False, True):
                for n in range(0, len(ids), 200):
                    run.op(setup, inst, "read", ids[n:n + 200], use_cache=uc, tag="final")
        # Liveness at the end: each instance reads, writes, updates.
        final_ok = {}
        for inst in instances:
            s1, d1, r1 = run.op(setup, inst, "insert", names=[f"z{inst.name}"], use_cache=True, tag="final")
            s2 = run.op(setup, inst, "update", [run.hot[0]], [f"z{inst.name}u"], True, tag="final")[0]
            s3 = run.op(setup, inst, "read", [run.hot[0]] + r1.get("ids", []), use_cache=True, tag="final")[0]
            final_ok[inst.name] = [s1, s2, s3]
        metrics = {i.name: {k: v for k, v in i.metrics().items() if not k.startswith("rowcache_request")}
                   for i in instances}
        proxy_stats = {"cache_link": pc.stats(), "db_link": pd.stats()}

        t_checks = now_ns()
        summary, per_phase, details = analyse(run, fl, instances, final_db, final_cache, t_snapshot)
        summary.update({
            "load_seconds": round((t_load_end - t_load) / 1e9, 1), "wall_seconds": round(time.time() - t_begin, 1),
            "setup_seconds": round(t_setup, 1), "drain_seconds": round((t_snapshot - t_load_end) / 1e9, 1),
            "sweep_seconds": round((t_checks - t_snapshot) / 1e9, 1),
            "analysis_seconds": round((now_ns() - t_checks) / 1e9, 1),
            "final_requests": final_ok, "pending_invalidations_drained": drained,
            "checker_errors": run.client_errors[:20], "kills": {i.name: len(i.kills) for i in instances}})
    finally:
        for inst in instances:
            inst.stop()
        for px in (pc, pd):
            if px:
                px.close()
        servers.stop()

    # --- verdict ------------------------------------------------------------------------------------
    checks = []

    def check(name, ok, detail=""):
        checks.append((name, bool(ok), detail))

    s = summary
    check(f"stale reads: {s['stale_reads']} of {s['values_read']} values read "
          f"({s['stale_reads_explained']} more explained by documented gaps)", s["stale_reads"] == 0,
          json.dumps([x for x in details["stale"] if not x["explained"]][:3]))
    check(f"lost acknowledged writes: {s['lost_writes']}", s["lost_writes"] == 0, json.dumps(details["lost"][:3]))
    check(f"phantom values: {s['phantoms']}", s["phantoms"] == 0, json.dumps(details["phantoms"][:3]))
    check(f"final cache vs database: {s['cache_db_mismatches']} of {s['cache_entries']} entries differ "
          f"({s['cache_db_mismatches_explained']} explained), snapshot {s['snapshot_after_s']} s after start "
          f"(TTL 270..330 s)", s["cache_db_mismatches"] == 0 and s["snapshot_after_s"] < 250,
          json.dumps(details["mismatches"][:3]))
    if s["batches_attempted"]:
        check(f"write batches: {s['batches_complete']} complete, {s['partial_batches']} partial, "
              f"{s['acked_batches_incomplete']} acknowledged but incomplete ({s['batches_attempted']} attempted)",
              s["partial_batches"] == 0 and s["acked_batches_incomplete"] == 0)
    for ph in per_phase:
        ok_after = ph["ok_after_recovery"]
        check(f"liveness after {ph['phase']}: {sum(ph['errors_after_recovery'].values())} errors after recovery, "
              f"ok A {ok_after.get('A', 0)} / B {ok_after.get('B', 0)}",
              not ph["errors_after_recovery"] and ok_after.get("A", 0) > 0 and ok_after.get("B", 0) > 0,
              json.dumps(ph["errors_after_recovery"]))
        if ph["phase"].startswith("evict"):
            check(f"{ph['phase']}: Redis evicted {ph['notes'].get('evicted_keys')} keys "
                  f"(errors it answered: {ph['notes'].get('redis_errors')})", ph["notes"].get("evicted_keys", 0) > 0)
        if ph["phase"] == "cache-full":
            oom = ph["notes"].get("redis_errors", {}).get("OOM", 0)
            check(f"cache-full: Redis refused {oom} writes (OOM)", oom > 0)
    check(f"every client completed >= {a.min_ops} operations (least: {s['ops_per_client_min']})",
          not s["clients_below_min_ops"], json.dumps(s["clients_below_min_ops"]))
    check("both instances read, write and update at the end",
          all(v == [200, 200, 200] for v in s["final_requests"].values()), json.dumps(s["final_requests"]))
    check(f"pending invalidations drained: {s['pending_invalidations_drained']}", s["pending_invalidations_drained"])
    check("checker ran clean", not s["checker_errors"], json.dumps(s["checker_errors"]))

    lines = []
    lines.append(f"rowcache consistency checker: {a.clients} clients, {s['load_seconds']} s of load, faults "
                 f"{','.join(faults_sel)}, seed {a.seed}{', mutation ' + a.mutation if a.mutation else ''}")
    lines.append(f"operations {s['operations']} (reads {s['reads']}, values read {s['values_read']}, "
                 f"writes acknowledged {s['writes_acknowledged']}, unknown outcome {s['writes_unknown_outcome']}), "
                 f"ids {s['ids']}, errors {s['errors']}")
    lines.append(f"stale reads {s['stale_reads']} (+{s['stale_reads_explained']} explained) by kind "
                 f"{s['stale_by_kind']}, longest {s['max_stale_for_ms']} ms; lost writes {s['lost_writes']}; "
                 f"phantoms {s['phantoms']}")
    lines.append("phase            ops    reads  writes errors(fault/after) stale(+expl) notes")
    for ph in per_phase:
        lines.append(f"{ph['phase']:15s} {ph['ops']:6d} {ph['reads']:6d} {ph['writes']:6d} "
                     f"{ph['errors']:5d} ({sum(ph['errors_during_fault'].values())}/"
                     f"{sum(ph['errors_after_recovery'].values())}) {ph['stale_reads']:5d} "
                     f"(+{ph['stale_reads_explained']}) {json.dumps(ph['notes']) if ph['notes'] else ''}")
        if ph["errors_by_status"]:
            lines.append(f"{'':15s} errors: {json.dumps(ph['errors_by_status'])}")
    for e in details["episodes"][:10]:
        lines.append(f"stale episode: id {e['key']} value {e['value']!r} superseded at {e['superseded_ms']} ms, "
                     f"read {e['reads']} times until {e['last_read_ms']} ms ({e['visible_for_ms']} ms) "
                     f"[{e['kind']}; {e['phase']}]{' explained: ' + e['explained'] if e['explained'] else ''}")
    for sr in details["stale"][:5]:
        lines.append("stale read: " + json.dumps(sr))
    for name, ok, detail in checks:
        lines.append(f"{'ok   ' if ok else 'FAIL '} {name}" + (f" {detail[:600]}" if not ok and detail else ""))
    found = s["stale_reads"] + s["lost_writes"] + s["cache_db_mismatches"]
    if a.expect_stale:
        verdict = found > 0
        lines.append(f"{'ok   ' if verdict else 'FAIL '} expected stale reads / lost writes: found {s['stale_reads']} "
                     f"stale reads, {s['lost_writes']} lost writes, {s['cache_db_mismatches']} cache/db mismatches")
    else:
        verdict = all(ok for _, ok, _ in checks)
    lines.append(f"time: setup {s['setup_seconds']} s, load {s['load_seconds']} s, drain {s['drain_seconds']} s, "
                 f"snapshot and final sweep {s['sweep_seconds']} s, analysis {s['analysis_seconds']} s")
    lines.append(f"{sum(1 for c in checks if c[1])} passed, {sum(1 for c in checks if not c[1])} failed; "
                 f"verdict: {'PASS' if verdict else 'FAIL'} ({s['wall_seconds']} s)")
    text = "\n".join(lines)
    print(text, flush=True)

    if out:
        path = os.path.join(out, "ops.jsonl")
        with open(path, "w") as f:
            for op in run.log:
                o = dict(op, t0=round((op["t0"] - run.t_origin) / 1e3), t1=round((op["t1"] - run.t_origin) / 1e3))
                f.write(json.dumps(o, separators=(",", ":")) + "\n")
        for name in ("serve-A.log", "serve-B.log"):  # the services' own logs (one line per failed request)
            log = os.path.join(out, name)
            if os.path.exists(log) and os.path.getsize(log) > 256 * 1024:
                with open(log, "rb") as fi, gzip.open(log + ".gz", "wb") as fo:
                    fo.write(fi.read())
                os.unlink(log)
        if os.path.getsize(path) > 20 * 1024 * 1024:
            with open(path, "rb") as fi, gzip.open(path + ".gz", "wb", compresslevel=6) as fo:
                while True:
                    b = fi.read(1 << 20)
                    if not b:
                        break
                    fo.write(b)
            os.unlink(path)
        doc = {"args": vars(a), "faults": faults_sel, "summary": summary, "phases": per_phase,
               "checks": [{"check": n, "ok": ok} for n, ok, _ in checks], "verdict": verdict,
               "service_metrics": metrics, "proxies": proxy_stats,
               "stale_reads": details["stale"][:500], "stale_episodes": details["episodes"][:200],
               "lost_writes": details["lost"][:200], "phantoms": details["phantoms"][:200],
               "cache_db_mismatches": details["mismatches"][:200],
               "partial_batches": dict(list(details["partial_batches"].items())[:50]),
               "ops_log": "ops.jsonl: one operation a line; t0/t1 in microseconds from the start; st HTTP status "
                          "(0: no answer); vals: names written; got: names read (null: no row)"}
        with open(os.path.join(out, "summary.json"), "w") as f:
            json.dump(doc, f, indent=1, default=str)
        with open(os.path.join(out, "summary.txt"), "w") as f:
            f.write(text + "\n")
    return 0 if verdict else 1


if __name__ == "__main__":
    sys.exit(main())
