"""End-to-end: a hostile or changing Redis (tests/e2e/fake_redis.py) cannot
send rowcache's client, or its password, anywhere the configured endpoint's
slot map does not name, and the pools of nodes that left the map are closed.

- Standalone and cluster: every data command is answered with a MOVED to a
  foreign address (a second listener). Reads and writes still answer from
  the database; the foreign listener never sees a connection (before this
  defence it received one, and the AUTH password); the cache errors are
  counted in /metrics (class "redirect").
- Cluster, a node departs: the map first gives every slot to node A; A
  answers MOVED to B and the map now names B. The redirect is followed (B is
  in the refreshed map) and A's connections are closed.
"""
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_redis import FakeRedis, error  # noqa: E402
from rowcache_e2e import Checks, Server, args  # noqa: E402

PASSWORD = "peer-secret-7c1d"
ROW = {"hero": "peer", "power": "p", "name": "n", "xp": 1, "color": "c"}


def exercise(srv, n=20):
    """Writes a row and reads it n times with the cache; returns (all answered right, details)."""
    code, doc = srv.post({"REQUEST": "write", "SQLS": [ROW]})
    if code != 200:
        return False, f"write {code} {doc}"
    rid = doc["ids"][0]
    for _ in range(n):
        code, doc = srv.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [rid]})
        if code != 200 or doc["body"][0]["hero"] != "peer":
            return False, f"read {code} {doc}"
    return True, ""


def redirect_errors(srv):
    return srv.metric('rowcache_cache_errors_by_class_total{class="redirect"}') or 0


def foreign_checks(c, binary, tmp, cluster):
    shape = "cluster" if cluster else "standalone"
    fake = FakeRedis(ports=2, slots=(lambda i: [(0, 16383, 0)]) if cluster else None,
                     policy=lambda i, a: error(f"MOVED 1234 127.0.0.1:{fake.ports[1]}"))
    try:
        srv = Server(binary, "--db", f"sqlite:{tmp}/{shape}.db", "--cache",
                     f"redis://:{PASSWORD}@127.0.0.1:{fake.ports[0]}", "--metrics-public")
        try:
            ok, detail = exercise(srv)
            c.check(f"{shape}, MOVED to a foreign address: writes and reads answer from the database", ok, detail)
            c.check(f"{shape}: the foreign address never sees a connection (nor the password)",
                    fake.connections[1] == 0, f"{fake.connections[1]} connections, {fake.commands[1][:3]}")
            n = redirect_errors(srv)
            c.check(f"{shape}: the refused redirects are counted "
                    f"(rowcache_cache_errors_by_class_total{{class=\"redirect\"}} {n:.0f})", n > 0)
        finally:
            srv.stop()
    finally:
        fake.close()


def departed_checks(c, binary, tmp):
    state = {"owner": 1}

    def policy(i, a):
        if i == 1:
            state["owner"] = 2
            return error(f"MOVED 0 127.0.0.1:{fake.ports[2]}")
        return None

    fake = FakeRedis(ports=3, slots=lambda i: [(0, 16383, state["owner"])], policy=policy)
    try:
        # --no-fast-reads: the blocking client's pools only (the fast path's
        # per-thread connections are not pooled).
        srv = Server(binary, "--db", f"sqlite:{tmp}/departed.db", "--cache", f"redis://127.0.0.1:{fake.ports[0]}",
                     "--no-fast-reads")
        try:
            ok, detail = exercise(srv, n=5)
            deadline = time.time() + 5
            while fake.open[1] and time.time() < deadline:
                exercise(srv, n=1)
                time.sleep(0.1)
            c.check("cluster: a node leaves the slot map: reads and writes answer", ok, detail)
            c.check(f"cluster: the redirect to the node that took over is followed ({len(fake.commands[2])} commands "
                    f"there)", len(fake.commands[2]) > 0)
            c.check(f"cluster: the departed node's connections are closed ({fake.connections[1]} opened, "
                    f"{fake.open[1]} still open)", fake.connections[1] > 0 and fake.open[1] == 0)
        finally:
            srv.stop()
    finally:
        fake.close()


def main():
    a = args()
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        foreign_checks(c, a.binary, tmp, cluster=False)
        foreign_checks(c, a.binary, tmp, cluster=True)
        departed_checks(c, a.binary, tmp)
    c.finish()


if __name__ == "__main__":
    main()
