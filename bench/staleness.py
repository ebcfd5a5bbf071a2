#!/usr/bin/env python3
"""Bounded cross-instance staleness of the near cache (`rowcache serve --near-cache`).

Two instances, A and B, both with --near-cache, on one table and Redis. While
--clients processes read hot ids on A as fast as they can (the load), a writer
updates one hot id at a time on B, each time to a value never used before (xp
is a global counter), and records when B acknowledged it; a poller reads that
id on A in a tight loop. For each update:

    staleness = (end of A's first read that returned the new value) - (B's acknowledgement)

which includes at least one read round trip on A: after an update the first
read of the id misses everywhere (an update deletes the Redis entry) and goes
to the database, so that read's own round trip is printed too, and the
poller's round trip in general (the floor). The stale window of an update is
how long after its ack A still answered an older value (the last such read's
send time minus the ack; 0 when none): the bound the near cache adds.

A checker then goes over every read made on A (load and poller): a read is
stale if it returned a value older than the latest write to that id
acknowledged before the read was sent; "by" is how long before the read was
sent the first newer write had been acknowledged. It also counts reads that
went back in time for the same client (non-monotonic).

Usage (servers from scripts/servers.sh):

    source /tmp/rowcache-servers/env
    python3 bench/staleness.py                                  # single Redis, 20 s, 8 clients
    python3 bench/staleness.py --cache "$ROWCACHE_TEST_REDIS_CLUSTER" --duration 30
    python3 bench/staleness.py --baseline                       # also A and B without --near-cache

Options: --binary (default build/rowcache), --db (default $ROWCACHE_TEST_MYSQL),
--cache (default $ROWCACHE_TEST_REDIS), --duration seconds of measurement (the
writer also keeps going until it has made --min-updates, default 200),
--clients load processes, --hot number of hot ids (default 16), --baseline,
--detail (the reads around the update with the widest stale window).
Prints one table per mode. Times are CLOCK_MONOTONIC, shared by every process
on the machine; on a shared, busy machine the tails measure the scheduler as
much as rowcache.
"""
import argparse
import array
import bisect
import http.client
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from rowcache_e2e import Server, mariadb  # noqa: E402

NS = 1_000_000


def now():
    return time.monotonic_ns()


def post(conn, body):
    conn.request("POST", "/", body=json.dumps(body), headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read())


def read_xp(conn, i):
    code, doc = post(conn, {"USE_CACHE": "True", "REQUEST": "read", "SQLS": [i]})
    if code != 200:
        raise RuntimeError(f"read {i}: {code} {doc}")
    return doc["body"][0]["xp"]


# ------------------------------------------------------------------ processes


def poller(port, target, seen, stop, out_q):
    """Reads the id in `target` on A in a tight loop until stop is set; `seen`: the last value read."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ids, xps, sent, done = array.array("q"), array.array("q"), array.array("q"), array.array("q")
    errors = 0
    while not stop.value:
        i = target.value
        if i == 0:
            time.sleep(0.001)
            continue
        t0 = now()
        try:
            xp = read_xp(conn, i)
        except Exception:
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        t1 = now()
        if target.value == i:
            seen.value = xp
        ids.append(i)
        xps.append(xp)
        sent.append(t0)
        done.append(t1)
    out_q.put(("poll", 0, ids.tobytes(), xps.tobytes(), sent.tobytes(), done.tobytes(), errors))


def unpack(msg):
    kind, who, *arrs, errors = msg
    cols = []
    for b in arrs:
        a = array.array("q")
        a.frombytes(b)
        cols.append(a)
    return kind, who, list(zip(*cols)), errors


# ------------------------------------------------------------------ statistics


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


def checker(writes, reads):
    """writes: {id: [(xp, t_ack)] in ack order}; reads: [(client, id, xp, t_sent)].
    Returns (stale [(by_ns, client, id)], non_monotonic count)."""
    acks = {i: [t for _, t in w] for i, w in writes.items()}
    stale = []
    for client, i, xp, t_sent in reads:
        w = writes.get(i)
        if not w:
            continue
        k = bisect.bisect_left(acks[i], t_sent)  # writes acknowledged before the read was sent: w[:k]
        if k == 0 or xp >= w[k - 1][0]:
            continue
        # The first write newer than what was returned, acknowledged before the read.
        first_newer = next(t for x, t in w[:k] if x > xp)
        stale.append((t_sent - first_newer, client, i))
    last = {}
    backwards = 0
    for client, i, xp, t_sent in sorted(reads, key=lambda r: r[3]):
        prev = last.get((client, i))
        if prev is not None and xp < prev:
            backwards += 1
        last[(client, i)] = max(xp, prev or 0)
    return stale, backwards


# ------------------------------------------------------------------ one run


def run(args, near):
    table = f"stale_{os.getpid()}_{random.randrange(10**9)}"
    prefix = table + ":"
    common = ["--db", f"{args.db}?table={table}", "--cache", args.cache, "--key-prefix", prefix, "--ttl", "300"]
    if near:
        common.append("--near-cache")
    A = Server(args.binary, *common)
    B = Server(args.binary, *common)
    procs = []
    try:
        cb = B.conn()
        code, doc = post(cb, {"USE_CACHE": "True", "REQUEST": "write",
                              "SQLS": [{"hero": "h", "power": "p", "name": f"n{k}", "xp": 0, "color": "c"}
                                       for k in range(args.hot)]})
        hot = doc["ids"]
        ca = A.conn()
        for _ in range(3):
            for i in hot:
                read_xp(ca, i)
        metrics0 = {n: A.metric(n) for n in NEAR_METRICS}
        faults0 = {(who, n): srv.metric(n) for who, srv in (("A", A), ("B", B)) for n in FAULT_METRICS}

        out_q = mp.Queue()
        target, seen, stop = mp.Value("q", 0), mp.Value("q", 0), mp.Value("b", 0)
        t_start = now()
        stop_at = t_start + int(args.duration * 1e9)
        # The load runs until the writer is done (set below); give it a generous end.
        load_stop = mp.Value("q", stop_at + 600 * 10**9)
        for k in range(args.clients):
            p = mp.Process(target=load_client_until, args=(A.port, hot, load_stop, out_q, k + 1))
            p.start()
            procs.append(p)
        pp = mp.Process(target=poller, args=(A.port, target, seen, stop, out_q))
        pp.start()
        procs.append(pp)
        time.sleep(0.3)  # the load is running

        writes = {i: [] for i in hot}   # id -> [(xp, t_ack)]
        updates = []                     # (id, xp, t_sent, t_ack)
        xp_counter = 0
        cw = B.conn()
        n = 0
        write_errors = []
        while now() < stop_at or n < args.min_updates:
            i = hot[n % len(hot)]
            target.value = i
            time.sleep(0.001 + random.random() * 0.002)  # the poller is on it, A holds it (near)
            xp_counter += 1
            t0 = now()
            try:
                code, doc = post(cw, {"REQUEST": "update", "SQLS": [{"id": i, "xp": xp_counter}]})
            except (OSError, http.client.HTTPException, ValueError) as e:
                code, doc = None, str(e)
                cw.close()
            t_ack = now()
            if code != 200:
                # Not acknowledged (it may still have committed): not a write the checker holds reads to.
                write_errors.append(f"{code} {doc}"[:200])
                if len(write_errors) > 50:
                    raise RuntimeError(f"updates on B keep failing: {write_errors[-1]}")
                time.sleep(0.05)
                continue
            writes[i].append((xp_counter, t_ack))
            updates.append((i, xp_counter, t0, t_ack))
            n += 1
            # Until the poller has seen it (at most 1 s; measured exactly afterwards from its reads).
            deadline = time.time() + 1
            while seen.value < xp_counter and time.time() < deadline:
                time.sleep(0.0002)
            if n > 100000:
                break
        t_end = now()
        load_stop.value = now()
        time.sleep(0.05)
        stop.value = 1
        results = [unpack(out_q.get(timeout=120)) for _ in procs]
        for p in procs:
            p.join(30)
        metrics1 = {n_: A.metric(n_) for n_ in NEAR_METRICS}
        faults = {(who, n_): (srv.metric(n_) or 0) - (faults0[(who, n_)] or 0)
                  for who, srv in (("A", A), ("B", B)) for n_ in FAULT_METRICS}
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
        A.stop()
        B.stop()
        try:
            mariadb(f"DROP TABLE IF EXISTS {table}")
        except subprocess.CalledProcessError:
            pass

    load_reads = [(f"c{who}", i, xp, t0, t1) for kind, who, rows, _ in results if kind == "load"
                  for i, xp, t0, t1 in rows]
    poll_reads = [("poller", i, xp, t0, t1) for kind, who, rows, _ in results if kind == "poll"
                  for i, xp, t0, t1 in rows]
    errors = sum(e for _, _, _, e in results)

    # Staleness per update: the poller's first read, ending after the ack, that returned >= the new value.
    by_id = {}
    for r in poll_reads:
        by_id.setdefault(r[1], []).append(r)
    for v in by_id.values():
        v.sort(key=lambda r: r[4])
    stal, first_rtt, never = [], [], 0
    for i, xp, t0, t_ack in updates:
        rs = by_id.get(i, [])
        k = bisect.bisect_left([r[4] for r in rs], t_ack)
        hit = next((r for r in rs[k:] if r[2] >= xp), None)
        if hit is None:
            never += 1
            continue
        stal.append(hit[4] - t_ack)
        first_rtt.append(hit[4] - hit[3])
    stal.sort()
    first_rtt.sort()
    # Per update: how long after its ack A still answered an older value (any client; 0 if it never did).
    reads_by_id = {}
    for c, i, xp, t0, t1 in load_reads + poll_reads:
        reads_by_id.setdefault(i, []).append((t0, xp))
    for v in reads_by_id.values():
        v.sort()
    window, with_stale, worst = [], 0, None
    next_ack = {}
    for i, xp, t0, t_ack in reversed(updates):
        nxt = next_ack.get(i, 1 << 62)
        next_ack[i] = t_ack
        rs = reads_by_id.get(i, [])
        lo = bisect.bisect_left(rs, (t_ack, -1))
        hi = bisect.bisect_left(rs, (nxt, -1))
        late = [t for t, x in rs[lo:hi] if x < xp]
        if late:
            with_stale += 1
            if worst is None or max(late) - t_ack > worst[0]:
                worst = (max(late) - t_ack, i, xp, t0, t_ack, nxt)
        window.append(max(late) - t_ack if late else 0)
    window.sort()
    rtt = sorted(r[4] - r[3] for r in poll_reads)
    load_rtt = sorted(r[4] - r[3] for r in load_reads)
    stale, backwards = checker(writes, [(c, i, xp, t0) for c, i, xp, t0, _ in load_reads + poll_reads])
    by = sorted(s[0] for s in stale)
    span = (t_end - t_start) / 1e9
    return {
        "near": near, "updates": len(updates), "window": window, "with_stale": with_stale,
        "worst": worst, "all_reads": load_reads + poll_reads, "never": never, "stal": stal, "first_rtt": first_rtt, "rtt": rtt, "load_rtt": load_rtt,
        "reads": len(load_reads) + len(poll_reads), "load_reads": len(load_reads), "poll_reads": len(poll_reads),
        "stale": stale, "by": by, "backwards": backwards, "errors": errors, "span": span,
        "stale_load": sum(1 for s in stale if s[1] != "poller"),
        "faults": faults, "write_errors": write_errors,
        "metrics": {k: (metrics1[k] or 0) - (metrics0[k] or 0) for k in NEAR_METRICS} if near else {},
    }


def load_client_until(port, hot, stop_value, out_q, seed):
    """load_client, with an end that the writer moves (a shared value)."""
    rnd = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    ids, xps, sent, done = array.array("q"), array.array("q"), array.array("q"), array.array("q")
    errors = 0
    while now() < stop_value.value:
        i = hot[rnd.randrange(len(hot))]
        t0 = now()
        try:
            xp = read_xp(conn, i)
        except Exception:
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        t1 = now()
        ids.append(i)
        xps.append(xp)
        sent.append(t0)
        done.append(t1)
    out_q.put(("load", seed, ids.tobytes(), xps.tobytes(), sent.tobytes(), done.tobytes(), errors))


FAULT_METRICS = ["rowcache_cache_errors_total", "rowcache_cache_short_circuits_total"]
NEAR_METRICS = ["rowcache_near_cache_hits_total", "rowcache_near_cache_misses_total",
                "rowcache_near_cache_stored_total", "rowcache_near_cache_refused_total",
                "rowcache_near_cache_invalidated_total", "rowcache_near_cache_flushes_total"]


def report(args, r):
    mode = "A and B with --near-cache" if r["near"] else "A and B without a near cache (baseline)"
    print(f"\n== {mode}; cache {args.cache}; {args.clients} load clients on {args.hot} hot ids; "
          f"{r['span']:.1f} s")
    print(f"{'':44s}{'n':>8s}{'p50 ms':>10s}{'p90 ms':>10s}{'p99 ms':>10s}{'max ms':>10s}")

    def rowline(name, vals, n=None):
        n = len(vals) if n is None else n
        print(f"{name:44s}{n:8d}" + "".join(f"{pct(vals, p) / NS:10.3f}" for p in (50, 90, 99)) +
              f"{(vals[-1] if vals else float('nan')) / NS:10.3f}")

    rowline("staleness: B's ack -> A returns new value", r["stal"])
    rowline("  of which that read's own round trip", r["first_rtt"])
    rowline("  (floor) poller's read round trip on A", r["rtt"])
    rowline("  load clients' read round trip on A", r["load_rtt"])
    rowline("stale window per update (last stale sent)", r["window"])
    rowline("stale reads on A, by how long (checker)", r["by"])
    reads = r["reads"]
    rate = r["load_reads"] / r["span"] if r["span"] else 0
    if r["write_errors"]:
        print(f"updates on B that failed (not acknowledged, left out): {len(r['write_errors'])}, e.g. "
              f"{r['write_errors'][0]}")
    print(f"updates on B: {r['updates']} ({r['never']} never seen fresh by the poller; {r['with_stale']} with a stale "
          "answer on A sent after the ack)")
    print(f"reads on A: {reads} ({r['load_reads']} load, {rate:.0f}/s; {r['poll_reads']} poller); errors {r['errors']}")
    print(f"stale reads (older than the latest write acknowledged before the read was sent): {len(r['stale'])} "
          f"({100.0 * len(r['stale']) / max(1, reads):.3f}%; {r['stale_load']} of them load reads)")
    print(f"non-monotonic reads (a client got an older value than it had got before): {r['backwards']}")
    f = r["faults"]
    print(f"cache call failures: A {int(f[('A', FAULT_METRICS[0])])} (+{int(f[('A', FAULT_METRICS[1])])} short-circuited), "
          f"B {int(f[('B', FAULT_METRICS[0])])} (+{int(f[('B', FAULT_METRICS[1])])} short-circuited)"
          + ("  <- B's invalidations that failed are retried later (guarantee 3's exception: other instances may "
             "serve the old value meanwhile, near cache or not)" if f[("B", FAULT_METRICS[0])] else ""))
    if args.detail and r["worst"]:
        w, i, xp, t0, t_ack, nxt = r["worst"]
        print(f"worst update: id {i} -> xp {xp}, sent {(t0 - t_ack) / NS:.3f} ms before its ack; reads of it on A "
              "(ms after the ack, client, xp returned, round trip ms):")
        rs = sorted((rd for rd in r["all_reads"] if rd[1] == i and t_ack - 2 * NS <= rd[3] <= min(nxt, t_ack + w + NS)),
                    key=lambda rd: rd[3])
        stale_rs = [rd for rd in rs if rd[3] >= t_ack and rd[2] < xp]
        show = [rd for rd in rs if rd[3] < t_ack][-3:] + stale_rs[:6] + stale_rs[-3:] + \
            [rd for rd in rs if rd[3] >= t_ack and rd[2] >= xp][:3]
        for c, _, x, a, b in sorted(set(show), key=lambda rd: rd[3]):
            print(f"  {(a - t_ack) / NS:10.3f} {c:>7s} xp {x:6d} {(b - a) / NS:8.3f}")
    if r["metrics"]:
        m = {k.replace("rowcache_near_cache_", "").replace("_total", ""): int(v) for k, v in r["metrics"].items()}
        looked = m["hits"] + m["misses"]
        print("A's near cache during the run: " + ", ".join(f"{k} {v}" for k, v in m.items()) +
              (f" (hit ratio {100.0 * m['hits'] / looked:.1f}%)" if looked else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--binary", default=os.path.join(here, "..", "build", "rowcache"))
    ap.add_argument("--db", default=os.environ.get("ROWCACHE_TEST_MYSQL"))
    ap.add_argument("--cache", default=os.environ.get("ROWCACHE_TEST_REDIS"))
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--hot", type=int, default=16)
    ap.add_argument("--min-updates", type=int, default=200)
    ap.add_argument("--baseline", action="store_true", help="also run A and B without --near-cache")
    ap.add_argument("--detail", action="store_true", help="print the reads around the update with the widest window")
    args = ap.parse_args()
    if not args.db or not args.cache:
        ap.error("--db and --cache (or ROWCACHE_TEST_MYSQL and ROWCACHE_TEST_REDIS) are needed")
    mp.set_start_method("fork")
    try:
        load = os.getloadavg()
        print(f"# {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    except OSError:
        pass
    for near in ([True, False] if args.baseline else [True]):
        report(args, run(args, near))


if __name__ == "__main__":
    main()
