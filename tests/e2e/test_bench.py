"""End-to-end: `rowcache bench` against a running `rowcache serve` (SQLite in a
temporary directory, in-process cache): closed and open loop, JSON sanity,
--plot PNGs; `bench trivial-server`; `bench proxy` adds its delay."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import Checks, Server, args  # noqa: E402


def start(cmd, marker):
    """Starts a helper that prints '<marker> HOST:PORT' first; returns (proc, port)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if marker not in line:
        p.kill()
        raise RuntimeError(f"{cmd[1:3]} did not start: {line!r} {p.stderr.read()!r}")
    return p, int(line.split(marker)[1].split()[0].rsplit(":", 1)[1])


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def bench(binary, *flags, timeout=60):
    r = subprocess.run([binary, "bench", "--quiet", *flags], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def sane_run(c, tag, run, want_hit_ratio):
    lat = run["latency_us"]
    c.check(f"{tag}: requests > 0", run["requests"] > 0, run)
    c.check(f"{tag}: p50 <= p90 <= p99 <= p99.9 <= max",
            0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"], lat)
    c.check(f"{tag}: no errors", run["errors"]["total"] == 0, run["errors"])
    c.check(f"{tag}: throughput = requests / seconds",
            abs(run["throughput"] - run["requests"] / run["seconds"]) < 1e-6 * run["throughput"] + 1e-9, run)
    if want_hit_ratio:
        c.check(f"{tag}: cache hit ratio reported", 0.0 <= run.get("cache_hit_ratio", -1) <= 1.0, run)
        c.check(f"{tag}: db queries per request reported", "db_queries_per_request" in run, run)


def rtt(port, n=5):
    """Median round trip of a GET over one keep-alive connection, in seconds."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = b""
        while not buf.endswith(b"ok"):
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("closed")
            buf += chunk
        times.append(time.monotonic() - t0)
    s.close()
    return sorted(times)[len(times) // 2]


def main():
    a = args()
    c = Checks()
    tmp = tempfile.mkdtemp(prefix="rowcache-bench-e2e-")
    srv = Server(a.binary, "--db", f"sqlite:{tmp}/bench.db", "--cache", "memory://", "--threads", "2")
    try:
        target = f"http://127.0.0.1:{srv.port}/"
        # Closed loop, both cache settings, a write in the mix.
        out_json = os.path.join(tmp, "closed.json")
        rc, out, err = bench(a.binary, "--target", target, "--connections", "4", "--threads", "2",
                             "--duration", "1.5", "--warmup", "0.3", "--hot-set", "200", "--mix", "90:10",
                             "--keys", "zipf", "--use-cache", "both", "--json", out_json,
                             "--csv", os.path.join(tmp, "closed.csv"), "--plot", os.path.join(tmp, "plots"))
        c.check("closed loop: exit 0", rc == 0, err)
        c.check("closed loop: table printed", "p99.9 us" in out and "cached" in out, out)
        doc = json.load(open(out_json))
        runs = doc["runs"]
        c.check("closed loop: two runs (cached, uncached)",
                [r["use_cache"] for r in runs] == [True, False], [r["name"] for r in runs])
        for r in runs:
            sane_run(c, "closed " + r["name"], r, want_hit_ratio=r["use_cache"])
            c.check(f"closed {r['name']}: writes in the mix", r["writes"] > 0, r)
        c.check("closed loop: hit ratio high when cached (rows written in prepare)",
                runs[0].get("cache_hit_ratio", 0) > 0.9, runs[0])
        c.check("closed loop: uncached reads query the database",
                runs[1].get("db_queries_per_request", 0) > 0.5, runs[1])
        c.check("closed loop: ratios reported", "throughput cached / uncached" in doc["ratios"], doc["ratios"])
        csv_lines = open(os.path.join(tmp, "closed.csv")).read().splitlines()
        c.check("closed loop: CSV has a header and two rows", len(csv_lines) == 3, csv_lines)
        pngs = [f for f in os.listdir(os.path.join(tmp, "plots")) if f.endswith(".png")]
        c.check("--plot wrote a PNG", any(f.endswith("-latency.png") for f in pngs), pngs)
        for f in pngs:
            with open(os.path.join(tmp, "plots", f), "rb") as fh:
                c.check(f"{f} is a PNG", fh.read(8) == b"\x89PNG\r\n\x1a\n")

        # Open loop at a modest rate, a sweep of two rates: the rate is held.
        out_json = os.path.join(tmp, "open.json")
        rc, out, err = bench(a.binary, "--target", target, "--connections", "4", "--rates", "300,600",
                             "--duration", "1.5", "--warmup", "0.3", "--hot-set", "200", "--name", "sweep",
                             "--json", out_json, "--plot", os.path.join(tmp, "plots"))
        c.check("open loop: exit 0", rc == 0, err)
        doc = json.load(open(out_json))
        for r in doc["runs"]:
            sane_run(c, "open " + r["name"], r, want_hit_ratio=True)
            c.check(f"open {r['name']}: mode open, rate held within 10%",
                    r["mode"] == "open" and abs(r["throughput"] - r["rate"]) < 0.1 * r["rate"], r)
        c.check("open loop: throughput-latency plot",
                os.path.exists(os.path.join(tmp, "plots", "sweep-throughput-latency.png")))

        # The autograder scenario: cached answers equal uncached ones.
        rc, out, err = bench(a.binary, "--target", target, "--scenario", "autograder", "--rows", "60",
                             "--passes", "2", "--json", os.path.join(tmp, "ag.json"))
        c.check("autograder: exit 0", rc == 0, err + out)
        doc = json.load(open(os.path.join(tmp, "ag.json")))
        c.check("autograder: speed-up reported",
                doc["ratios"].get("autograder speed-up (uncached / cached median pass time)", 0) > 0, doc["ratios"])
        c.check("autograder: answers match", "every cached answer equals" in doc["notes"].get("autograder check", ""),
                doc["notes"])

        # In-process target.
        rc, out, err = bench(a.binary, "--target", "inproc", "--db", f"sqlite:{tmp}/inproc.db", "--cache", "memory://",
                             "--connections", "2", "--duration", "1", "--warmup", "0.2", "--hot-set", "100",
                             "--json", os.path.join(tmp, "inproc.json"))
        c.check("inproc: exit 0", rc == 0, err)
        doc = json.load(open(os.path.join(tmp, "inproc.json")))
        sane_run(c, "inproc", doc["runs"][0], want_hit_ratio=True)

        # Errors are counted by kind, not hidden: a port with nothing on it.
        rc, out, err = bench(a.binary, "--target", "http://127.0.0.1:1/", "--no-prepare", "--connections", "2",
                             "--duration", "0.5", "--warmup", "0", "--json", os.path.join(tmp, "refused.json"))
        doc = json.load(open(os.path.join(tmp, "refused.json")))
        c.check("refused: connect errors counted", doc["runs"][0]["errors"]["connect"] > 0, doc["runs"][0]["errors"])
    finally:
        srv.stop()

    # Trivial server and the delaying proxy.
    triv, tport = start([a.binary, "bench", "trivial-server", "--listen", "127.0.0.1:0"], "listening on")
    try:
        rc, out, err = bench(a.binary, "--target", f"http://127.0.0.1:{tport}/", "--get", "/", "--connections", "4",
                             "--duration", "1", "--warmup", "0.2", "--json", os.path.join(tmp, "triv.json"))
        doc = json.load(open(os.path.join(tmp, "triv.json")))
        sane_run(c, "trivial server", doc["runs"][0], want_hit_ratio=False)
        prox, pport = start([a.binary, "bench", "proxy", "--listen", "127.0.0.1:0", "--to", f"127.0.0.1:{tport}",
                             "--delay-us", "10000"], "listening on")
        try:
            direct, via = rtt(tport), rtt(pport)
            c.check("proxy: round trip >= 2 x 10 ms", via >= 0.020, f"direct {direct:.6f} s, via proxy {via:.6f} s")
            c.check("proxy: and not wildly more", via < 0.200, f"via proxy {via:.6f} s")
        finally:
            stop(prox)
    finally:
        stop(triv)
    c.finish()


if __name__ == "__main__":
    main()
