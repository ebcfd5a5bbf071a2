"""End-to-end: cached reads answered on the I/O threads through the pipelined
Redis connection (the default with a redis:// cache), against MariaDB and
Redis: same answers as the blocking path, counted the same, never stale after
an update or delete, concurrent pipelined lookups matched to the right
requests, and a fall back to the blocking path when Redis goes away."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import Checks, Redis, Server, args, free_port, mariadb, require_servers, unique  # noqa: E402


def hung_redis_checks(c, a, mysql_url, table, prefix, ids, mode, tls_dir):
    port = free_port()
    d = tempfile.mkdtemp()
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", d]
    cache = f"redis://127.0.0.1:{port}/0"
    if mode == "tls":
        argv = ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", d, "--tls-cert-file", os.path.join(tls_dir, "redis.crt"),
                "--tls-key-file", os.path.join(tls_dir, "redis.key"), "--tls-ca-cert-file",
                os.path.join(tls_dir, "ca.crt"), "--tls-auth-clients", "no"]
        cache = f"rediss://localhost:{port}/0?ca={os.path.join(tls_dir, 'ca.crt')}"
    rs = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            try:
                if mode == "tls":
                    Redis(port, host="localhost", tls=True, ca=os.path.join(tls_dir, "ca.crt")).cmd("PING")
                else:
                    Redis(port).cmd("PING")
                break
            except OSError:
                time.sleep(0.1)
        hung = Server(a.binary, "--db", f"{mysql_url}?table={table}", "--cache", cache, "--key-prefix", prefix,
                      "--cache-timeout-ms", "200")
        try:
            hung.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[6]]})  # fills the entry
            os.kill(rs.pid, signal.SIGSTOP)
            t0 = time.time()
            code, doc = hung.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[6]]})
            took = time.time() - t0
            os.kill(rs.pid, signal.SIGCONT)
            c.check(f"[{mode}] Redis hung: the read is answered from the database within the cache timeouts",
                    code == 200 and doc["body"][0]["id"] == ids[6] and took < 2, f"{code} {doc} {took:.2f} s")
            # Under load: 4 clients read cached ids while Redis is stopped for 1 s, three times.
            stop, answers, errors = threading.Event(), [0], []

            def reader():
                while not stop.is_set():
                    try:
                        code, doc = hung.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": ids[:3]})
                        if code != 200 or [r["id"] for r in doc["body"]] != ids[:3]:
                            errors.append(f"{code} {str(doc)[:100]}")
                        answers[0] += 1
                    except Exception as e:  # noqa: BLE001 - a dead server shows here
                        errors.append(repr(e))
                        return
            threads = [threading.Thread(target=reader) for _ in range(4)]
            for t in threads:
                t.start()
            for _ in range(3):
                time.sleep(0.3)
                os.kill(rs.pid, signal.SIGSTOP)
                time.sleep(1)
                os.kill(rs.pid, signal.SIGCONT)
            time.sleep(0.3)
            stop.set()
            for t in threads:
                t.join(30)
            c.check(f"[{mode}] Redis stopped for 1 s three times under load: every read answered correctly, "
                    f"the service still serving", not errors and answers[0] > 0 and hung.alive(),
                    f"{answers[0]} answers, errors {errors[:3]}")
        finally:
            os.kill(rs.pid, signal.SIGCONT)
            hung.stop()
    finally:
        rs.terminate()
        rs.wait()


def main():
    a = args()
    c = Checks()
    servers = require_servers()
    if not servers:
        c.skip("fast reads", "ROWCACHE_TEST_MYSQL/ROWCACHE_TEST_REDIS not set")
        c.finish()
    mysql_url, redis_url = servers
    table = unique("fast")
    prefix = unique("fast") + ":"
    redis = Redis(int(os.environ.get("ROWCACHE_TEST_REDIS_PORT", "16379")))
    common = ["--db", f"{mysql_url}?table={table}", "--cache", redis_url, "--key-prefix", prefix, "--ttl", "60"]
    fast = Server(a.binary, *common, "--threads", "4", "--busy-poll-redis-us", "5000")
    slow = Server(a.binary, *common, "--no-fast-reads")
    try:
        rows = [{"hero": f"h{i}", "power": "p", "name": f"n{i}", "xp": i, "color": "c"} for i in range(40)]
        _, doc = fast.post({"USE_CACHE": "True", "REQUEST": "write", "SQLS": rows})
        ids = doc["ids"]
        ask = [ids[3], ids[1], ids[3], ids[0]]
        hits0, q0 = fast.metric("rowcache_cache_hits_total"), fast.metric("rowcache_db_queries_total")
        code_f, doc_f = fast.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": ask})
        code_s, doc_s = slow.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": ask})
        c.check("a cached read: the same answer as the blocking path (order, repeats)",
                code_f == 200 and doc_f == doc_s and [r["id"] for r in doc_f["body"]] == ask, f"{doc_f} {doc_s}")
        c.check("... counted as 3 cache hits and no database query",
                fast.metric("rowcache_cache_hits_total") - hits0 == 3
                and fast.metric("rowcache_db_queries_total") == q0)
        c.check("... and as a read request", fast.metric('rowcache_requests_total{kind="read",outcome="ok"}') >= 1)

        code, doc = fast.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[0], 99999999]})
        c.check("a read with a missing id: null in its place (the blocking path answers)",
                code == 200 and doc["body"][1] is None and doc["body"][0]["id"] == ids[0], f"{doc}")

        fast.post({"REQUEST": "update", "SQLS": [{"id": ids[1], "name": "changed"}]})
        code, doc = fast.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[1]]})
        c.check("after an update, the next read returns the new row", doc["body"][0]["name"] == "changed", f"{doc}")
        slow.post({"REQUEST": "update", "SQLS": [{"id": ids[2], "name": "by-other-process"}]})
        code, doc = fast.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[2]]})
        c.check("after another process's update, too", doc["body"][0]["name"] == "by-other-process", f"{doc}")
        fast.post({"REQUEST": "delete", "SQLS": [ids[4]]})
        code, doc = fast.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": [ids[4]]})
        c.check("after a delete: null", doc["body"] == [None], f"{doc}")

        # Many clients at once: pipelined lookups must go back to their own requests.
        wrong, done = [], []

        def client(k):
            conn = fast.conn()
            for j in range(60):
                want = [ids[5 + (k * 7 + j) % 35], ids[5 + (k + j * 3) % 35]]
                _, d = fast.post({"USE_CACHE": "True", "REQUEST": "read", "SQLS": want}, conn)
                if [r["id"] if r else None for r in d["body"]] != want:
                    wrong.append((want, d))
            done.append(k)

        ts = [threading.Thread(target=client, args=(k,)) for k in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        c.check("16 concurrent clients, 960 reads: every answer matches its request",
                len(done) == 16 and not wrong, f"{wrong[:2]}")

        # A large answer from a worker to a client that reads slowly through
        # a small receive buffer: the worker sends what the socket takes, the
        # I/O thread writes the rest; then the connection carries on.
        # (60,000 ids: an answer of ~5.4 MB, more than a socket buffer holds: tcp_wmem allows 4 MB.)
        big = Server(a.binary, *common, "--max-read-batch", "60000")
        many = [ids[5 + i % 35] for i in range(60000)]
        req = json.dumps({"USE_CACHE": "False", "REQUEST": "read", "SQLS": many}).encode()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(20)
        s.connect(("127.0.0.1", big.port))
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(req)
        s.sendall(head + req)
        time.sleep(0.5)
        answers = []
        buf = b""
        for _ in range(2):
            while b"\r\n\r\n" not in buf:
                buf += s.recv(65536)
            h, buf = buf.split(b"\r\n\r\n", 1)
            length = int([ln.split(b":")[1] for ln in h.split(b"\r\n") if ln.lower().startswith(b"content-length")][0])
            while len(buf) < length:
                buf += s.recv(65536)
            answers.append(json.loads(buf[:length]))
            buf = buf[length:]
            if len(answers) == 1:
                small = json.dumps({"USE_CACHE": "False", "REQUEST": "read", "SQLS": [ids[5]]}).encode()
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(small) + small)
        s.close()
        big.stop()
        c.check("a 5.4 MB answer through a 4 kB receive buffer arrives whole, then the next request on the connection",
                [r["id"] for r in answers[0]["body"]] == many and answers[1]["body"][0]["id"] == ids[5],
                f"{str(answers)[:200]}")

        # Redis hung (a private redis-server, stopped with SIGSTOP): reads
        # fall back to the database, still correct; plain and over TLS (the
        # fast path's TLS connection dropped by its timer while a read is
        # still queued on the socket), alone and under load.
        tls_dir = os.path.dirname(os.environ.get("ROWCACHE_TEST_REDIS_CA", ""))
        modes = ["plain"]
        if tls_dir and os.path.exists(os.path.join(tls_dir, "redis.crt")):
            modes.append("tls")
        elif os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
            c.check("the test CA for a private TLS Redis (scripts/servers.sh)", False, tls_dir)
        for mode in modes:
            hung_redis_checks(c, a, mysql_url, table, prefix + mode + ":", ids, mode, tls_dir)
    finally:
        fast.stop()
        slow.stop()
        mariadb(f"DROP TABLE IF EXISTS {table}")
    c.finish()


if __name__ == "__main__":
    main()
