"""The consistency checker (tests/fault/checker.py) must see each consistency bug it is meant to catch.

It runs the checker against a mutation build (cmake -DROWCACHE_TEST_MUTATIONS=ON; its path in the
environment variable ROWCACHE_MUTANT_BINARY), with ROWCACHE_TEST_MUTATION turning one safeguard off, and
requires the checker to REPORT stale reads each time (run with --expect-stale, and the summary is checked):

  insert-guard     inserts write through without a lease: while A's write-through crawls through its
                   delayed cache link, a racer on B updates or deletes the new id; A's entry lands after B's
                   invalidation and holds the inserted row (phase link-delay).
  fill-guard       read fills ignore the lease: a read on A fetches a row, an update on B commits and
                   invalidates, then A's fill lands with the old row (phase link-delay, A's cache link 100 ms
                   each way).
  unknown-outcome  a write whose outcome is unknown is not invalidated: A's database link drops the reply to
                   30% of COMMITs (which did commit); the old entries stay in Redis while the database has the
                   new rows (phase commit-lost; seen as reads of the old value once the write must have taken
                   effect, and as cache entries that differ from the database).

Each run is about 20 s. Without ROWCACHE_MUTANT_BINARY the test is skipped, or fails when
ROWCACHE_REQUIRE_SERVERS=1 (scripts/test.sh builds the mutant and sets it).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import Checks, args  # noqa: E402

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault", "checker.py")

# mutation, checker faults, seconds of load, more checker flags, the stale kinds that prove it was seen
RUNS = [
    ("insert-guard", "link-delay", 10, [], ("stale", "null-after-insert")),
    # (a longer link: a wider window between a fill's database read and its SET landing)
    ("fill-guard", "link-delay", 14, ["--delay-ms", "80"], ("stale",)),
    ("unknown-outcome", "commit-lost", 8, [], ("stale-after-unacked",)),
    # The checker over a TLS-only Redis with AUTH sees it too.
    ("insert-guard", "link-delay", 10, ["--redis", "tls"], ("stale", "null-after-insert")),
    # ... and over a Redis Cluster with a master failing over.
    ("insert-guard", "failover", 10, ["--redis", "cluster"], ("stale", "null-after-insert")),
]

if __name__ == "__main__":
    args()  # --binary (the release build) is accepted and not used: the mutations need the mutant
    c = Checks()
    mutant = os.environ.get("ROWCACHE_MUTANT_BINARY")
    if not mutant:
        if os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
            c.check("ROWCACHE_MUTANT_BINARY is set (a build with -DROWCACHE_TEST_MUTATIONS=ON)", False)
        else:
            c.skip("mutation runs", "ROWCACHE_MUTANT_BINARY is not set")
        c.finish()
    if not os.access(mutant, os.X_OK):
        c.check(f"ROWCACHE_MUTANT_BINARY {mutant} is an executable", False)
        c.finish()
    only = [m for m in os.environ.get("ROWCACHE_MUTATIONS", "").split(",") if m]
    for mutation, faults, seconds, flags, kinds in RUNS:
        if only and mutation not in only:
            continue
        out = tempfile.mkdtemp(prefix=f"rowcache-mutant-{mutation}-")
        cmd = [sys.executable, CHECKER, "--binary", mutant, "--mutation", mutation, "--faults", faults,
               "--duration", str(seconds), "--clients", "16", "--expect-stale", "--quiet", "--out", out, *flags]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        took = time.time() - t0
        try:
            with open(os.path.join(out, "summary.json")) as f:
                s = json.load(f)["summary"]
        except (OSError, ValueError, KeyError):
            print(p.stdout[-4000:] + p.stderr[-4000:])
            c.check(f"{mutation}: the checker ran ({took:.0f} s)", False, f"exit {p.returncode}")
            continue
        seen = {k: n for k, n in s["stale_by_kind"].items() if k.split(" ")[0] in kinds and "explained" not in k}
        ok = p.returncode == 0 and sum(seen.values()) > 0
        c.check(f"{mutation} ({faults}{', ' + ' '.join(flags) if flags else ''}, {seconds} s of load, {took:.0f} s): the checker reports {s['stale_reads']} "
                f"stale reads {s['stale_by_kind']}, {s['lost_writes']} lost writes, {s['cache_db_mismatches']} "
                f"cache entries differing from the database, of {s['values_read']} values read", ok,
                f"exit {p.returncode}; raw log and summary in {out}\n{p.stdout[-3000:]}{p.stderr[-2000:]}")
    c.finish()
