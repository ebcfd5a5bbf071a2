"""End-to-end: `rowcache serve` under connection and body abuse stays up, small
and responsive.

- 5,000 idle connections and 200 stalled bodies (each announcing
  Content-Length: 1 MiB and sending a few bytes): another client's requests
  are all answered (their latency is printed beside the figure without
  abuse), and the server's RSS (/proc) stays under 256 MB.
- --max-connections: a connection past the limit is answered 503 and closed
  at once, and counted.
- Out of descriptors (a low RLIMIT_NOFILE): accept fails with EMFILE; the
  server pauses before retrying instead of spinning (its CPU time is
  measured), keeps serving the connections it has, and accepts again once
  descriptors are free.
- The workers' queue (--threads 1 --max-queue 1, the database held up by a
  fault proxy): requests past it are answered 503 with Retry-After at once.

The test raises its own RLIMIT_NOFILE (inherited by the server) as far as the
hard limit allows, and scales the abuse down if that is below ~5,600. Run it
with the Release binary: under UBSan the out-of-descriptors part fails for the
sanitizer's sake (its vptr check probes memory through a pipe, cannot get one,
and aborts).
"""
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fault"))
from faultproxy import FaultProxy  # noqa: E402
from rowcache_e2e import Checks, Server, args, mariadb, proc_status_kib, require_servers, unique  # noqa: E402

IDLE, STALLED = 5000, 200
READ = b'{"REQUEST": "read", "SQLS": [1]}'


def rss_mb(pid):
    kib = proc_status_kib(pid, "VmRSS")
    return -1 if kib is None else kib / 1024


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_request(sock, buf=b""):
    """Sends a read on a keep-alive socket; returns (status, seconds, leftover bytes)."""
    t0 = time.perf_counter()
    sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(READ) + READ)
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(buf) < length:
        buf += sock.recv(65536)
    return int(head.split()[1]), time.perf_counter() - t0, buf[length:]


def latencies(port, n=300):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out, codes, buf = [], [], b""
    for _ in range(n):
        code, dt, buf = one_request(s, buf)
        codes.append(code)
        out.append(dt)
    s.close()
    out.sort()
    return codes, out[len(out) // 2], out[int(len(out) * 0.99) - 1]


def connect_many(port, n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    return socks


def abuse(c, binary, tmp):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 16384) if hard != resource.RLIM_INFINITY else 16384
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    idle, stalled = IDLE, STALLED
    if want < idle + stalled + 400:
        scale = (want - 400) / (idle + stalled)
        idle, stalled = int(idle * scale), int(stalled * scale)
        c.skip(f"the full {IDLE} + {STALLED}", f"RLIMIT_NOFILE hard limit {hard}: {idle} + {stalled} instead")
    limit = idle + stalled + 100
    srv = Server(binary, "--db", f"sqlite:{tmp}/limits.db", "--cache", "memory://", "--idle-timeout", "60",
                 "--max-connections", str(limit))
    held = []
    try:
        code, doc = srv.post({"REQUEST": "write", "SQLS": [{"hero": "a", "power": "b", "name": "c", "xp": 1,
                                                             "color": "d"}]})
        codes, p50, p99 = latencies(srv.port)
        c.check(f"normal: 300 reads answered (p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms); RSS "
                f"{rss_mb(srv.proc.pid):.0f} MB", code == 200 and set(codes) == {200}, f"{code} {doc}")

        t0 = time.time()
        held += connect_many(srv.port, idle)
        for _ in range(stalled):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n"
                      b"\r\n" + b'{"REQUEST": "read", "SQLS": [' + b"1, " * 30)
            held.append(s)
        time.sleep(0.5)
        opened = time.time() - t0
        open_now = srv.metric("rowcache_http_connections_open")
        c.check(f"{idle} idle connections and {stalled} stalled 1 MiB bodies open in {opened:.1f} s "
                f"(server: {open_now:.0f} open)", open_now is not None and open_now >= idle + stalled, f"{open_now}")

        codes, p50a, p99a = latencies(srv.port)
        c.check(f"under abuse: 300 reads from another client all answered (p50 {p50a * 1e3:.2f} ms, "
                f"p99 {p99a * 1e3:.2f} ms; normal p99 {p99 * 1e3:.2f} ms)", set(codes) == {200}, f"{set(codes)}")
        rss = rss_mb(srv.proc.pid)
        c.check(f"under abuse: RSS {rss:.0f} MB < 256 MB", 0 < rss < 256, f"{rss}")

        # Past --max-connections: answered 503 and closed at once.
        keep = socket.create_connection(("127.0.0.1", srv.port), timeout=10)  # for /metrics afterwards
        one_request(keep)
        extra = connect_many(srv.port, limit - idle - stalled + 20)
        time.sleep(0.5)
        refused = 0
        for s in extra:
            s.setblocking(False)
            try:
                data = s.recv(4096)
                if data.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in data:
                    refused += 1
            except OSError:  # nothing to read: an accepted connection
                pass
        c.check(f"past --max-connections {limit}: the extra connections answered 503 with Retry-After and closed "
                f"({refused} of {len(extra)})", refused >= 15, f"{refused}")
        for s in extra:
            s.close()
        keep.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = b""
        while chunk := keep.recv(65536):
            text += chunk
        keep.close()
        m = re.search(rb"rowcache_http_connections_rejected_total (\d+)", text)
        c.check("... and counted (rowcache_http_connections_rejected_total)", m and int(m.group(1)) >= refused,
                text[-300:])
        c.check("the server is still up", srv.alive())
    finally:
        for s in held:
            s.close()
        srv.stop()


def out_of_descriptors(c, binary, tmp):
    # 48 descriptors: a few connections past what the server has left, and
    # more waiting in the backlog, which it cannot accept (EMFILE).
    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db", f"sqlite:{tmp}/fd.db", "--cache",
                          "memory://", "--threads", "2", "--max-connections", "1000", "--busy-poll-us", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=low_limit)
    held = []
    try:
        port = int(p.stdout.readline().split("127.0.0.1:")[1].split()[0])
        held = connect_many(port, 80)
        time.sleep(0.3)
        cpu0, t0 = cpu_seconds(p.pid), time.time()
        time.sleep(2)
        used = (cpu_seconds(p.pid) - cpu0) / (time.time() - t0)
        c.check(f"out of descriptors with connections waiting: the server uses {used * 100:.0f}% of a core "
                f"(pauses between accepts, no busy loop)", used < 0.25, f"{used}")
        first = held[0]
        code, _, _ = one_request(first)
        c.check("... and still answers the connections it has", code == 200, f"{code}")
        for s in held[1:]:
            s.close()
        held = [first]
        time.sleep(0.3)
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        code, _, _ = one_request(s)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        text = b""
        while chunk := s.recv(65536):
            text += chunk
        s.close()
        m = re.search(rb"rowcache_http_accept_errors_total (\d+)", text)
        c.check("descriptors free again: new connections are served, and the failed accepts were counted",
                code == 200 and m and 0 < int(m.group(1)) < 200, f"{code} {m and m.group(1)}")
    finally:
        for s in held:
            s.close()
        p.terminate()
        p.wait(15)


def queue(c, binary, mysql_url, redis_url):
    mysql_port = int(os.environ.get("ROWCACHE_TEST_MYSQL_PORT", "13306"))
    proxy = FaultProxy(mysql_port)
    table = unique("e2e_limits")
    srv = Server(binary, "--db", mysql_url.replace(f":{mysql_port}/", f":{proxy.port}/") + f"?table={table}",
                 "--cache", redis_url, "--key-prefix", table + ":", "--threads", "1", "--max-queue", "1",
                 "--db-timeout", "2")
    try:
        proxy.set_mode("blackhole")  # every database call hangs until its timeout
        results = []
        lock = threading.Lock()

        def write():
            t0 = time.time()
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
            body = b'{"REQUEST": "write", "SQLS": [{"hero": "a", "power": "b", "name": "c", "xp": 1, "color": "d"}]}'
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
                      + body)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            s.close()
            with lock:
                results.append((time.time() - t0, data))

        ts = []
        for _ in range(6):
            ts.append(threading.Thread(target=write))
            ts[-1].start()
            time.sleep(0.05)
        for t in ts:
            t.join(60)
        busy = [(dt, d) for dt, d in results if b'"the server is busy; retry later"' in d]
        c.check(f"--threads 1 --max-queue 1, 6 writes at once on a stuck database: 4 answered 503 'busy' with "
                f"Retry-After at once (in at most {max([dt for dt, _ in busy] or [0]):.2f} s)",
                len(busy) == 4 and all(d.startswith(b"HTTP/1.1 503") and b"Retry-After: 1" in d
                                       and re.search(rb'"request_id": "[0-9a-f]{16}"', d) and dt < 1.0
                                       for dt, d in busy), f"{[(round(dt, 2), d[:12]) for dt, d in results]}")
        proxy.set_mode("pass")
        n = srv.metric("rowcache_http_queue_full_total")
        c.check("... counted (rowcache_http_queue_full_total 4)", n == 4, f"{n}")
    finally:
        srv.stop()
        proxy.close()
        mariadb(f"DROP TABLE IF EXISTS {table}")


def main():
    a = args()
    c = Checks()
    tmp = tempfile.mkdtemp()
    t0 = time.time()
    abuse(c, a.binary, tmp)
    out_of_descriptors(c, a.binary, tmp)
    servers = require_servers()
    if servers is None:
        c.skip("the workers' queue", "ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set")
    else:
        queue(c, a.binary, *servers)
    print(f"({time.time() - t0:.1f} s)")
    c.finish()


if __name__ == "__main__":
    main()
