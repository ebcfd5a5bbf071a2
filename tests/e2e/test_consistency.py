"""CI-sized run of the consistency checker (tests/fault/checker.py) against the release binary.

Two `rowcache serve` instances on one private MariaDB and one private Redis (A through a delay proxy), 16
client threads, about 22 s of load over five phases: A's cache link delayed while racers update and delete
the ids A is inserting (the insert race), FLUSHALL, eviction (volatile-lru, Redis kept at 5000 keys), Redis
restarted empty, and each service instance SIGKILLed in the middle of write batches and restarted.

Passes when the checker finds no stale read, no lost acknowledged write, no phantom value, no partial
batch, no cache entry that differs from the database (compared before any TTL could end), and every
phase recovers (every request succeeds once the fault has healed). Run three times: against a plain Redis,
against a Redis that serves TLS only and requires AUTH (--redis tls: both instances verify its certificate,
A's TLS connections pass through the delay proxy), and against a 3+3 Redis Cluster (--redis cluster: two
failovers of a master, FLUSHALL on every master, the service kills). About 100 s in all.
"""
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import args  # noqa: E402

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault", "checker.py")

if __name__ == "__main__":
    a = args()
    seed = int(os.environ.get("ROWCACHE_CONSISTENCY_SEED") or random.randrange(1, 10**6))
    out = os.environ.get("ROWCACHE_CONSISTENCY_OUT") or tempfile.mkdtemp(prefix="rowcache-consistency-")
    passed = failed = 0
    for redis in ("plain", "tls", "cluster"):
        run_out = os.path.join(out, redis)
        cmd = [sys.executable, CHECKER, "--binary", a.binary, "--duration", "22", "--clients", "16", "--faults",
               "ci", "--seed", str(seed), "--min-ops", "20", "--out", run_out, "--redis", redis]
        print("running: " + " ".join(cmd), flush=True)
        t0 = time.time()
        rc = subprocess.call(cmd)
        print(f"checker ({redis} Redis) exit {rc} after {time.time() - t0:.1f} s (seed {seed}; raw log and summary "
              f"in {run_out})")
        passed, failed = passed + (rc == 0), failed + (rc != 0)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
