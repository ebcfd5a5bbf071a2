"""End-to-end: a storm of malformed messages on the near cache's invalidation channel.

Any client allowed to PUBLISH can send messages on `__redis__:invalidate`, the channel Redis uses to tell
`rowcache serve --near-cache` which keys changed. Such a message's payload is a string, which Redis itself
never sends; it used to reset tracking (flushing the near cache) every time, so a client could keep the near
cache empty. Now each one is counted (rowcache_tracking_malformed_messages_total) and ignored.

On the single Redis and the plain cluster: four connections PUBLISH malformed messages (key names under the
prefix, empty strings, 200 bytes of junk; about 16,000 a second: faster, Redis itself would drop the subscriber
when its output buffer overflows, a real loss) for 5 s while the instance reads its hot ids; every read during the
storm has the right answer (a near hit, or read through to Redis while the channel's backlog holds the PING
answers back past the lag bound), no flush happens, the near entries survive (the first read after the
storm is all near hits, nothing stored again), the counter counts every message, and one log line (not
one per message) says they were ignored. After the storm a real change (an update
through a second instance) still reaches the near cache within 1 s.

A Redis mode whose URL variable is unset is skipped, and is a failure when ROWCACHE_REQUIRE_SERVERS=1.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rowcache_e2e import Checks, Redis, Server, args, each_redis_mode, mariadb, parse_redis_url, require_servers, unique  # noqa: E402,E501
from test_near_cache import near, read, row, settle, update, wait_for  # noqa: E402

STORM_SECONDS = 5
CONNECTIONS = 4
BATCH = 200
PACE_SECONDS = 0.05


def publisher(url, payloads, stop, sent):
    """PUBLISHes payloads on the invalidation channel in pipelined batches until stop; adds to sent[0]."""
    kw = parse_redis_url(url)
    r = Redis(**kw)
    wire = b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$20\r\n__redis__:invalidate\r\n$%d\r\n%s\r\n" % (len(p), p)
                    for p in payloads)
    try:
        while not stop.is_set():
            r.sock.sendall(wire)
            for _ in payloads:
                r._reply()
            sent[0] += len(payloads)
            # Paced (about 16,000 messages a second in all): faster than the subscriber reads, Redis itself
            # would drop it (client-output-buffer-limit pubsub), a loss the near cache must flush for.
            time.sleep(PACE_SECONDS)
    finally:
        r.close()


def suite(c, binary, mysql_url, tag, url):
    p = f"[{tag}] "
    table = unique("storm")
    prefix = table + ":"
    common = ["--db", f"{mysql_url}?table={table}", "--cache", url, "--key-prefix", prefix, "--ttl", "60",
              "--near-cache"]
    A = Server(binary, *common)
    B = Server(binary, *common)
    ca = A.conn()
    try:
        code, doc = B.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": [row(i) for i in range(5)]})
        ids = doc["ids"]
        want = [dict(row(k), id=i) for k, i in enumerate(ids)]
        c.check(p + "A serves its hot ids from its near cache", all(settle(A, i, ca) for i in ids))
        f0, s0, m0 = near(A, "flushes"), near(A, "stored"), A.metric("rowcache_tracking_malformed_messages_total")
        c.check(p + "... malformed messages counter exported, 0", m0 == 0, f"{m0}")

        payloads = [f"{prefix}{{{ids[0]}}}".encode(), b"", b"x" * 200, f"{prefix}{{{ids[1]}}}:gen".encode()] * (
            BATCH // 4)
        stop, sent = threading.Event(), [0]
        threads = [threading.Thread(target=publisher, args=(url, payloads, stop, sent)) for _ in range(CONNECTIONS)]
        for t in threads:
            t.start()
        reads = near_misses = wrong = 0
        end = time.time() + STORM_SECONDS
        while time.time() < end:
            h0 = near(A, "hits")
            got = read(A, ids, ca)
            reads += 1
            wrong += got != want
            near_misses += near(A, "hits") - h0 != len(ids)
        stop.set()
        for t in threads:
            t.join()
        per_node = len(Redis.from_url(url).masters) if tag.startswith("cluster") else 1
        c.check(p + f"{sent[0]} malformed messages PUBLISHed in {STORM_SECONDS} s on {CONNECTIONS} connections",
                sent[0] >= 50 * BATCH, f"{sent[0]}")
        # While the channel's backlog holds a PING's answer back past --near-cache-max-lag-ms, A reads
        # through to Redis (the lag bound); the entries stay.
        c.check(p + f"... all {reads} reads during the storm right ({reads - near_misses} all near hits, the rest "
                "read through while the backlog lagged)", reads > 10 and wrong == 0, f"wrong {wrong}")
        counted = wait_for(lambda: A.metric("rowcache_tracking_malformed_messages_total") >= sent[0] * per_node, 10)
        c.check(p + f"... every message counted ({sent[0] * per_node}: each master's subscriber sees each)", counted,
                f"{A.metric('rowcache_tracking_malformed_messages_total')}")
        c.check(p + "... no near-cache flush, serving again",
                near(A, "flushes") == f0 and wait_for(lambda: near(A, "serving") == 1, 2),
                f"flushes +{near(A, 'flushes') - f0} serving {near(A, 'serving')}")
        h0 = near(A, "hits")
        got = read(A, ids, ca)
        c.check(p + "... the entries survived: the next read is all near hits, nothing stored again",
                got == want and near(A, "hits") - h0 == len(ids) and near(A, "stored") == s0,
                f"hits +{near(A, 'hits') - h0} stored +{near(A, 'stored') - s0}")

        # A well-formed invalidation still works after the storm.
        update(B, ids[2], xp=77)
        t0 = time.time()
        seen = wait_for(lambda: read(A, [ids[2]], ca)[0]["xp"] == 77, 1)
        c.check(p + f"a real change after the storm reaches A's near cache ({time.time() - t0:.2f} s)", seen)
        c.check(p + "... without a flush", near(A, "flushes") == f0, f"flushes +{near(A, 'flushes') - f0}")
    finally:
        A.stop()
        B.stop()
        mariadb(f"DROP TABLE IF EXISTS {table}")
    err = A.proc.stderr.read()
    lines = [ln for ln in err.splitlines() if "malformed message" in ln]
    c.check(p + "one log line for the whole storm (not one per message)", len(lines) == 1, err[-800:])


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if servers is None:
        c.skip("tracking storm", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
        c.finish()
    for tag, url in each_redis_mode(c, ("single", "cluster")):
        suite(c, a.binary, servers[0], tag, url)
    c.finish()


if __name__ == "__main__":
    main()
