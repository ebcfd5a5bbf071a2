"""End-to-end: the near cache (`rowcache serve --near-cache`, ROWCACHE_NEAR_CACHE=1
for `rowcache lambda`), an in-process copy of Redis entries kept coherent by
CLIENT TRACKING (BCAST, the key prefix), against MariaDB and Redis.

On the single Redis, the plain cluster and the TLS Redis, with two instances A
and B on one table and prefix: A's repeated reads are near hits with the right
answers; A's own update / delete is seen by A's very next read; B's updates
reach A's reads within 1 s (the time is printed), and A never answers a value
older than one it answered before; killing A's invalidation subscriber (by its
client id, from CLIENT LIST) flushes A's near cache, a B update made then is
seen by A at once, and A serves from its near cache again within 3 s; one log
line says so.

On a private redis-server: tracking refused for a while (ACL -client|tracking
and the subscriber killed: serving 0, every read bypasses the near cache and
sees B's update), a SIGKILL and restart on the same port, FLUSHALL, the
entry and byte bounds (--near-cache-entries 50, --near-cache-bytes 65536),
and the near entry expiring with its Redis entry (--ttl 2 --ttl-jitter 0);
also the tracking (control) connection killed instead of the subscriber.

A silent partition (a proxy between A and Redis that holds every byte, the
connections left open): A must stop answering its near entries within 5 s.

The Lambda front door (fake Runtime API) with ROWCACHE_NEAR_CACHE=1: a read
after another process's update returns the new row, also when many other
rows were changed between the two invocations (more invalidation messages
than one 16 kB read of the channel holds).
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
from fake_lambda import FakeRuntime  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from rowcache_e2e import (Checks, Redis, RedisCluster, Server, args, entry_key, free_port, mariadb,  # noqa: E402
                          require_servers, unique)

LOG_LINE = "near cache off until invalidation tracking is back"


def row(i, xp=0):
    return {"hero": "yes", "power": f"p{i}", "name": f"n{i}", "xp": xp, "color": "c"}


def near(srv, name):
    """A near-cache metric: the counters by their short name ("hits" is rowcache_near_cache_hits_total)."""
    if name not in ("serving", "entries", "bytes"):
        name += "_total"
    v = srv.metric("rowcache_near_cache_" + name)
    return -1 if v is None else v


def read(srv, ids, conn=None):
    code, doc = srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": list(ids)}, conn)
    if code != 200:
        raise RuntimeError(f"read {ids}: {code} {doc}")
    return doc["body"]


def update(srv, i, conn=None, **fields):
    code, doc = srv.post({"REQUEST": "update", "SQLS": [dict(id=i, **fields)]}, conn)
    if code != 200:
        raise RuntimeError(f"update {i}: {code} {doc}")


def settle(srv, i, conn=None):
    """Reads id i on srv until a read is a near hit (at most 2 s): the invalidation of a recent write
    (its own, or a fill's) can drop the first near fill when it arrives. Whether it got there."""
    end = time.time() + 2
    while time.time() < end:
        h0 = near(srv, "hits")
        read(srv, [i], conn)
        if near(srv, "hits") - h0 == 1:
            return True
        time.sleep(0.02)
    return False


def wait_for(pred, timeout, step=0.01):
    end = time.time() + timeout
    while True:
        if pred():
            return True
        if time.time() > end:
            return False
        time.sleep(step)


def local_ports(pid, remote_port):
    """Local ports of pid's TCP connections to remote_port (IPv4 and IPv6, from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[9] in inodes and int(cols[2].rsplit(":", 1)[1], 16) == remote_port:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def subscriber_ids(node, pid):
    """Client ids of pid's pubsub connections on one Redis server (`node`, a Redis)."""
    ports = local_ports(pid, node.port)
    out = []
    for line in (node.cmd("CLIENT", "LIST", "TYPE", "pubsub") or "").splitlines():
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        if int(f["addr"].rsplit(":", 1)[1]) in ports:
            out.append(f["id"])
    return out


def node_of(inspector, key):
    """The Redis connection to the master holding `key`."""
    if isinstance(inspector, RedisCluster):
        return inspector.node(inspector.slot_owner(key))
    return inspector


def log_of(srv):
    srv.stop()
    return srv.proc.stderr.read()


# ---------------------------------------------------------------- one shared Redis shape


def shape(c, a, tag, url, mysql_url, timings):
    table, prefix = unique("near"), unique("near") + ":"
    common = ["--db", f"{mysql_url}?table={table}", "--cache", url, "--key-prefix", prefix, "--ttl", "60",
              "--near-cache"]
    inspector = Redis.from_url(url)
    A = Server(a.binary, *common)
    B = Server(a.binary, *common)
    ca, cb = A.conn(), B.conn()
    try:
        c.check(f"[{tag}] A serves from its near cache from the start", near(A, "serving") == 1)
        code, doc = B.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [row(i) for i in range(10)]})
        ids = doc["ids"]
        want = {i: dict(row(k), id=i) for k, i in enumerate(ids)}

        # Repeated reads: near hits, right answers.
        hot = ids[:5]
        h0, s0 = near(A, "hits"), near(A, "stored")
        answers = [read(A, hot, ca) for _ in range(10)]
        h1, s1 = near(A, "hits"), near(A, "stored")
        c.check(f"[{tag}] A reads 5 ids 10 times: right answers, >= 40 near hits, stored 5",
                all(ans == [want[i] for i in hot] for ans in answers) and h1 - h0 >= 40 and s1 - s0 == 5,
                f"hits +{h1 - h0} stored +{s1 - s0} {answers[-1]}")
        c.check(f"[{tag}] ... near entries and bytes reported", near(A, "entries") >= 5 and near(A, "bytes") > 0)

        # Own writes: the very next read sees them.
        x = ids[0]
        c.check(f"[{tag}] (x is in A's near cache)", settle(A, x, ca))
        update(A, x, ca, xp=111, name="own")
        got = read(A, [x], ca)[0]
        c.check(f"[{tag}] A updates x: A's next read (no sleep) returns the new row",
                got == dict(want[x], xp=111, name="own"), f"{got}")
        want[x] = got
        d = ids[1]
        c.check(f"[{tag}] (d is in A's near cache)", settle(A, d, ca))
        code, doc = A.post({"REQUEST": "delete", "SQLS": [d]}, ca)
        got = read(A, [d], ca)
        c.check(f"[{tag}] A deletes d: A's next read returns null", code == 200 and got == [None], f"{doc} {got}")

        # Cross-instance: B's updates reach A within 1 s, never going back.
        y = ids[2]
        lags, late, regress, not_near, last_xp = [], [], [], [], 0
        for k in range(1, 16):
            if not settle(A, y, ca):  # in A's near cache
                not_near.append(k)
            update(B, y, cb, xp=k)
            t_ack = time.perf_counter()
            while True:
                r = read(A, [y], ca)[0]
                now = time.perf_counter()
                if r["xp"] < last_xp:
                    regress.append((last_xp, r["xp"]))
                last_xp = max(last_xp, r["xp"])
                if r["xp"] == k:
                    lags.append(now - t_ack)
                    break
                if now - t_ack > 1.0:
                    late.append(k)
                    break
        timings[tag] = lags
        c.check(f"[{tag}] 15 updates on B: A's reads converge within 1 s (median {statistics.median(lags) * 1e3:.2f} "
                f"ms, max {max(lags) * 1e3:.2f} ms)", not late and len(lags) == 15, f"late {late}")
        c.check(f"[{tag}] ... and A never answered an older value than one it had answered", not regress,
                f"{regress}")
        c.check(f"[{tag}] ... (y was in A's near cache before each update)", not not_near, f"{not_near}")

        # Tracking lost: A's subscriber killed (by id) on the master of x.
        read(A, [x], ca)
        read(A, [x], ca)
        f0, e0 = near(A, "flushes"), near(A, "entries")
        node = node_of(inspector, entry_key(prefix, x))
        subs = subscriber_ids(node, A.proc.pid)
        c.check(f"[{tag}] (A has one invalidation subscriber on x's master)", len(subs) == 1, f"{subs}")
        for cid in subs:
            node.cmd("CLIENT", "KILL", "ID", cid)
        flushed = wait_for(lambda: near(A, "flushes") > f0, 2)
        c.check(f"[{tag}] subscriber killed: A flushes its near cache", flushed and e0 > 0,
                f"flushes {f0} -> {near(A, 'flushes')}, entries before {e0}")
        update(B, x, cb, xp=222)
        got = read(A, [x], ca)[0]
        c.check(f"[{tag}] ... a B update made then is seen by A's next read", got["xp"] == 222, f"{got}")
        back = wait_for(lambda: near(A, "serving") == 1 and near(A, "flushes") >= f0 + 2, 3)
        c.check(f"[{tag}] ... and A serves from its near cache again within 3 s", back,
                f"serving {near(A, 'serving')} flushes {near(A, 'flushes')}")
        subs2 = subscriber_ids(node, A.proc.pid)
        hit = settle(A, x, ca)
        got = read(A, [x], ca)[0]
        c.check(f"[{tag}] ... with a new subscriber, and near hits again (right answer)",
                len(subs2) == 1 and subs2 != subs and hit and got["xp"] == 222,
                f"{subs} -> {subs2} {got}")
        update(B, x, cb, xp=333)
        ok = wait_for(lambda: read(A, [x], ca)[0]["xp"] == 333, 1, 0.002)
        c.check(f"[{tag}] ... and B's updates reach A through the new subscriber", ok)
    finally:
        ca.close()
        cb.close()
        B.stop()
        log = log_of(A)
        inspector.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")
    lines = [ln for ln in log.splitlines() if LOG_LINE in ln]
    c.check(f"[{tag}] A logged one line for the loss", len(lines) == 1, f"{log[-800:]!r}")


# ---------------------------------------------------------------- a private redis-server


class PrivateRedis:
    def __init__(self):
        self.port = free_port()
        self.dir = tempfile.mkdtemp()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", self.dir], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                with Redis(self.port) as r:
                    if r.cmd("PING") == "PONG":
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def private(c, a, mysql_url):
    rs = PrivateRedis()
    url = f"redis://127.0.0.1:{rs.port}/0"
    table, prefix = unique("nearp"), unique("nearp") + ":"
    common = ["--db", f"{mysql_url}?table={table}", "--cache", url, "--key-prefix", prefix, "--ttl", "60",
              "--near-cache", "--cache-timeout-ms", "200", "--cache-breaker-open-ms", "200"]
    A = Server(a.binary, *common)
    B = Server(a.binary, *common)
    servers = [A, B]
    r = Redis(rs.port)
    try:
        code, doc = B.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [row(i) for i in range(500)]})
        ids = doc["ids"]
        x = ids[0]

        # Tracking refused for a while: ACL -client|tracking, subscriber killed.
        read(A, [x])
        read(A, [x])
        r.cmd("ACL", "SETUSER", "default", "-client|tracking")
        for cid in subscriber_ids(r, A.proc.pid):
            r.cmd("CLIENT", "KILL", "ID", cid)
        off = wait_for(lambda: near(A, "serving") == 0, 2)
        c.check("[private] tracking refused (ACL) and subscriber killed: rowcache_near_cache_serving 0", off)
        c.check("... and the near cache flushed", near(A, "entries") == 0, f"{near(A, 'entries')}")
        update(B, x, xp=1)
        h0, m0 = near(A, "hits"), near(A, "stored")
        got = [read(A, [x])[0] for _ in range(5)]
        c.check("... a B update is seen by A at once, and A's reads bypass the near cache (no hits, nothing stored)",
                all(g["xp"] == 1 for g in got) and near(A, "hits") == h0 and near(A, "stored") == m0,
                f"{got[0]} hits +{near(A, 'hits') - h0} stored +{near(A, 'stored') - m0}")
        time.sleep(0.5)
        c.check("... still off while tracking is refused", near(A, "serving") == 0)
        r.cmd("ACL", "SETUSER", "default", "+client|tracking")
        t0 = time.time()
        back = wait_for(lambda: near(A, "serving") == 1, 3)
        c.check(f"tracking allowed again: serving 1 within 3 s ({time.time() - t0:.2f} s)", back)
        hit = settle(A, x)
        got = read(A, [x])[0]
        c.check("... near hits again, right answer", hit and got["xp"] == 1, f"{got}")

        # The tracking (control) connection killed instead of the subscriber.
        f0 = near(A, "flushes")
        ports = local_ports(A.proc.pid, rs.port)
        ctl = [f["id"] for f in (dict(kv.split("=", 1) for kv in ln.split() if "=" in kv)
                                 for ln in r.cmd("CLIENT", "LIST").splitlines())
               if "t" in f["flags"] and int(f["addr"].rsplit(":", 1)[1]) in ports]
        for cid in ctl:
            r.cmd("CLIENT", "KILL", "ID", cid)
        flushed = wait_for(lambda: near(A, "flushes") > f0, 2)
        c.check("A's tracking connection (flags t) killed: near cache flushed", len(ctl) == 1 and flushed,
                f"{ctl} flushes {f0} -> {near(A, 'flushes')}")
        update(B, x, xp=11)
        got = read(A, [x])[0]
        back = wait_for(lambda: near(A, "serving") == 1, 3)
        c.check("... a B update then is seen by A at once, and serving again within 3 s", got["xp"] == 11 and back,
                f"{got} serving {near(A, 'serving')}")
        update(B, x, xp=12)
        ok = wait_for(lambda: read(A, [x])[0]["xp"] == 12, 1, 0.002)
        c.check("... and B's updates reach A through the new tracking connection", ok)

        # FLUSHALL. First read until A's near cache holds the entries (after
        # the tracking connection was replaced, and under TSan, the first
        # reads may come before it serves again); the assertion is unchanged.
        wait_for(lambda: read(A, ids[:20]) is not None and near(A, "entries") >= 20, 5, 0.05)
        f0, e0 = near(A, "flushes"), near(A, "entries")
        r.cmd("FLUSHALL")
        flushed = wait_for(lambda: near(A, "flushes") > f0, 1)
        c.check("FLUSHALL: A's near cache flushed", flushed and e0 >= 20 and near(A, "entries") == 0,
                f"flushes {f0} -> {near(A, 'flushes')} entries {e0} -> {near(A, 'entries')}")
        update(B, ids[3], xp=7)
        got = read(A, ids[:20])
        c.check("... reads right after it are right", got[3]["xp"] == 7 and [g["id"] for g in got] == ids[:20]
                and near(A, "serving") == 1, f"{got[3]}")

        # Redis SIGKILLed and restarted on the same port.
        read(A, [x])
        read(A, [x])
        f0 = near(A, "flushes")
        rs.kill()
        off = wait_for(lambda: near(A, "serving") == 0 and near(A, "flushes") > f0, 2)
        c.check("Redis killed: A's near cache flushed and off", off and near(A, "entries") == 0,
                f"serving {near(A, 'serving')} flushes {near(A, 'flushes')}")
        update(B, x, xp=2)
        got = read(A, [x])[0]
        c.check("... a B update while Redis is down is seen by A", got["xp"] == 2, f"{got}")
        rs.start()
        t0 = time.time()
        back = wait_for(lambda: near(A, "serving") == 1, 5)
        c.check(f"Redis restarted: A serves from its near cache again within 5 s ({time.time() - t0:.2f} s)", back)
        got = read(A, ids[:10])
        c.check("... right answers after the restart", got[0]["xp"] == 2 and [g["id"] for g in got] == ids[:10],
                f"{got[0]}")
        wait_for(lambda: near(B, "serving") == 1, 5)
        update(B, x, xp=3)
        ok = wait_for(lambda: read(A, [x])[0]["xp"] == 3, 1, 0.002)
        c.check("... and B's updates reach A again", ok)
        log = log_of(A)
        c.check("A logged the losses (not once per retry)", 1 <= sum(LOG_LINE in ln for ln in log.splitlines()) <= 6,
                f"{log[-1000:]!r}")

        # Memory bounds.
        # (Redis was emptied above: the first pass fills Redis, the second the near cache.)
        E = Server(a.binary, *common, "--near-cache-entries", "50")
        servers.append(E)
        for k in list(range(0, 500, 50)) * 2:
            got = read(E, ids[k:k + 50])
        c.check("--near-cache-entries 50, 500 distinct ids read: rowcache_near_cache_entries <= 50, evictions",
                near(E, "entries") <= 50 and near(E, "evicted") > 0 and [g["id"] for g in got] == ids[450:],
                f"entries {near(E, 'entries')} evicted {near(E, 'evicted')} stored {near(E, 'stored')}")
        Y = Server(a.binary, *common, "--near-cache-bytes", "65536")
        servers.append(Y)
        for k in list(range(0, 500, 50)) * 2:
            got = read(Y, ids[k:k + 50])
        c.check("--near-cache-bytes 65536, 500 distinct ids read: rowcache_near_cache_bytes <= 65536, evictions",
                0 < near(Y, "bytes") <= 65536 and near(Y, "evicted") > 0,
                f"bytes {near(Y, 'bytes')} entries {near(Y, 'entries')} evicted {near(Y, 'evicted')}")

        # TTL: a near entry is not served after its Redis entry expired.
        T = Server(a.binary, *common, "--ttl", "2", "--ttl-jitter", "0")
        servers.append(T)
        code, doc = T.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [row(1000, xp=5)]})
        t = doc["ids"][0]
        c.check("--ttl 2: (the entry is a near hit)", settle(T, t))
        time.sleep(2.5)
        h0, m0 = near(T, "hits"), near(T, "misses")
        got = read(T, [t])[0]
        c.check("... 2.5 s later, no write: not a near hit (a near miss), the right row",
                near(T, "hits") == h0 and near(T, "misses") > m0 and got["xp"] == 5,
                f"hits +{near(T, 'hits') - h0} misses +{near(T, 'misses') - m0} {got}")
    finally:
        for s in servers:
            s.stop()
        r.close()
        rs.stop()
        mariadb(f"DROP TABLE IF EXISTS {table}")


# ---------------------------------------------------------------- a silent partition


def partition(c, a, mysql_url, redis_url):
    """A reaches Redis through a proxy that starts holding every byte (connections left open: a partition,
    a dead NAT entry); B, direct, updates x. A must stop answering its near entry within a few seconds."""
    redis_port = int(os.environ.get("ROWCACHE_TEST_REDIS_PORT", "16379"))
    table, prefix = unique("nearb"), unique("nearb") + ":"
    proxy = FaultProxy(redis_port)
    A = Server(a.binary, "--db", f"{mysql_url}?table={table}", "--cache", f"redis://127.0.0.1:{proxy.port}/0",
               "--key-prefix", prefix, "--near-cache", "--cache-timeout-ms", "200")
    B = Server(a.binary, "--db", f"{mysql_url}?table={table}", "--cache", redis_url, "--key-prefix", prefix)
    try:
        code, doc = B.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [row(0)]})
        x = doc["ids"][0]
        c.check("[partition] (x is in A's near cache)", settle(A, x))
        proxy.set_mode("blackhole")
        update(B, x, xp=1)
        t0 = time.time()
        ok = wait_for(lambda: read(A, [x])[0]["xp"] == 1, 5, 0.05)
        c.check("[partition] A's invalidation channel silently stalls, B updates x: A stops answering its stale "
                f"near entry within 5 s ({time.time() - t0:.1f} s)", ok,
                f"serving {near(A, 'serving')}, still answering xp {read(A, [x])[0]['xp']}")
    finally:
        proxy.set_mode("pass")
        A.stop()
        B.stop()
        proxy.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")


# ---------------------------------------------------------------- Lambda


def lambda_near(c, a, mysql_url, redis_url):
    table, prefix = unique("nearl"), unique("nearl") + ":"
    B = Server(a.binary, "--db", f"{mysql_url}?table={table}", "--cache", redis_url, "--key-prefix", prefix,
               "--ttl", "60")
    rt = FakeRuntime()
    env = dict(os.environ, ROWCACHE_DB=mysql_url, ROWCACHE_TABLE=table, ROWCACHE_CACHE=redis_url,
               ROWCACHE_KEY_PREFIX=prefix, ROWCACHE_TTL="60", ROWCACHE_NEAR_CACHE="1", AWS_LAMBDA_RUNTIME_API=rt.api)
    proc = subprocess.Popen([a.binary, "lambda"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    cb = B.conn()

    def call(event):
        got = rt.result(rt.invoke(event))
        return json.loads(got[1]) if got and got[0] == "response" else got

    try:
        code, doc = B.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [row(i) for i in range(501)]})
        ids = doc["ids"]
        x = ids[0]
        stale = []
        for k in range(1, 6):
            call({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [x]})
            call({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [x]})  # near, if the cache is on
            update(B, x, cb, xp=k)
            got = call({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [x]})
            if not isinstance(got, dict) or got["body"][0]["xp"] != k:
                stale.append((k, got))
        c.check("[lambda] ROWCACHE_NEAR_CACHE=1: read, another process updates, the next invocation's read returns "
                "the new row (5 times)", not stale, f"{stale}")
        # Many other rows changed between two invocations (each its own
        # invalidation message: more than 16 kB in all), then x.
        for k in range(1, 3):
            B.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": ids[1:]}, cb)  # their entries in Redis
            for _ in range(8):  # takes in what is pending; x settles in the near cache
                call({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [x]})
            for i in ids[1:]:
                update(B, i, cb, xp=k)
            update(B, x, cb, xp=100 + k)
            got = call({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [x]})
            c.check(f"[lambda] 500 other rows updated one by one, then x: the next invocation's read returns the new "
                    f"x (round {k})", isinstance(got, dict) and got["body"][0]["xp"] == 100 + k, f"{got}")
        c.check("[lambda] no protocol violations, still running", not rt.violations and proc.poll() is None,
                f"{rt.violations}")
    finally:
        cb.close()
        proc.kill()
        proc.wait()
        rt.close()
        B.stop()
        mariadb(f"DROP TABLE IF EXISTS {table}")


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if not servers:
        c.skip("near cache", "ROWCACHE_TEST_MYSQL/ROWCACHE_TEST_REDIS not set")
        c.finish()
    mysql_url, redis_url = servers
    t_start = time.time()
    timings = {}
    for tag, var in (("single", "ROWCACHE_TEST_REDIS"), ("cluster", "ROWCACHE_TEST_REDIS_CLUSTER"),
                     ("tls", "ROWCACHE_TEST_REDIS_TLS")):
        url = os.environ.get(var)
        if not url:
            if os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
                c.check(f"[{tag}] {var} set (ROWCACHE_REQUIRE_SERVERS=1)", False)
            else:
                c.skip(f"near cache on {tag}", f"{var} not set")
            continue
        shape(c, a, tag, url, mysql_url, timings)
    private(c, a, mysql_url)
    partition(c, a, mysql_url, redis_url)
    lambda_near(c, a, mysql_url, redis_url)
    for tag, lags in timings.items():
        ms = sorted(x * 1e3 for x in lags)
        print(f"# cross-instance convergence on {tag}: n={len(ms)} min {ms[0]:.2f} median {statistics.median(ms):.2f} "
              f"max {ms[-1]:.2f} ms")
    print(f"# {time.time() - t_start:.1f} s")
    c.finish()


if __name__ == "__main__":
    main()
