"""End-to-end: the HTTP layer of `rowcache serve` (keep-alive, limits,
malformed input, health, metrics, graceful shutdown)."""
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import Checks, Server, args  # noqa: E402


def raw(port, data, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    out = b""
    if read:
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except socket.timeout:
            pass
    s.close()
    return out


def main():
    a = args()
    c = Checks()
    tmp = tempfile.mkdtemp()
    srv = Server(a.binary, "--db", f"sqlite:{tmp}/h.db", "--cache", "memory://", "--max-body-bytes", "4096",
                 "--idle-timeout", "2")
    try:
        conn = srv.conn()
        code1, _ = srv.post({"REQUEST": "write", "SQLS": [{"hero": "a", "power": "b", "name": "c", "xp": 1,
                                                          "color": "d"}]}, conn)
        code2, doc = srv.post({"REQUEST": "read", "SQLS": [1]}, conn)
        c.check("two requests on one keep-alive connection", code1 == 200 and code2 == 200
                and doc["body"][0]["hero"] == "a")
        conn.close()

        code, doc = srv.post("y" * 5000)
        c.check("body over --max-body-bytes -> 413 JSON", code == 413 and doc["statusCode"] == 413, f"{code}")
        out = raw(srv.port, b"GARBAGE / HTTP/9.9\r\n\r\n")
        c.check("malformed HTTP -> 400", out.startswith(b"HTTP/1.1 400"), out[:80])
        random.seed(7)
        for _ in range(20):
            raw(srv.port, bytes(random.randrange(256) for _ in range(random.randrange(1, 2000))), read=False)
        c.check("still serving after random bytes", srv.alive() and srv.post({"REQUEST": "read", "SQLS": [1]})[0]
                == 200)
        code, text = srv.get("/healthz")
        c.check("/healthz 200 with db and cache ok", code == 200 and '"db": "ok"' in text and '"cache": "ok"' in text,
                text)
        code, text = srv.get("/metrics")
        c.check("/metrics has request counters and HTTP counters", code == 200
                and 'rowcache_requests_total{kind="read",outcome="ok"}' in text
                and "rowcache_http_connections_accepted_total" in text
                and "rowcache_http_bodies_too_large_total 1" in text, text[:200])
        code, text = srv.get("/nope")
        c.check("unknown path -> 404 JSON", code == 404 and '"statusCode": 404' in text, text)
        code, text = srv.get("/")
        c.check("GET / -> 405", code == 405, text)
        # Expect: 100-continue is answered (curl sends it for larger bodies).
        body = b'{"REQUEST": "read", "SQLS": [1]}'
        out = raw(srv.port, b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n" % len(body) + body)
        c.check("Expect: 100-continue handled", b"100 Continue" in out and b'"statusCode": 200' in out, out[:200])
        # Framing: the body in a later segment than the head, two requests in
        # one segment, a chunked body, and a chunked body over the limit.
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        time.sleep(0.2)
        s.sendall(body)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
        s.close()
        c.check("a body that arrives after the head", out.startswith(b"HTTP/1.1 200") and b'"hero": "a"' in out,
                out[:200])
        one = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        last = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"x\": 1"
        out = raw(srv.port, one + last)
        c.check("two pipelined requests in one segment: two answers, in order",
                out.count(b"HTTP/1.1 ") == 2 and out.index(b'"hero": "a"') < out.index(b'"statusCode": 400'),
                out[:400])
        chunked = (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                   b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (10, body[:10], len(body) - 10, body[10:]))
        out = raw(srv.port, chunked)
        c.check("a chunked body", out.startswith(b"HTTP/1.1 200") and b'"hero": "a"' in out, out[:200])
        big = b"x" * 3000
        out = raw(srv.port, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(big), big, len(big), big))
        c.check("a chunked body over --max-body-bytes -> 413", out.startswith(b"HTTP/1.1 413"), out[:200])

        # Idle keep-alive connections are closed after --idle-timeout.
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        t0 = time.time()
        closed = s.recv(1) == b""
        c.check("idle connection closed after the idle timeout", closed and 1 <= time.time() - t0 < 8)
        s.close()

        # Graceful stop: an idle keep-alive connection does not hold it up.
        idle = srv.conn()
        srv.post({"REQUEST": "read", "SQLS": [1]}, idle)
        t0 = time.time()
        rc = srv.stop()
        c.check("SIGTERM: exit 0 promptly with an idle keep-alive connection open", rc == 0 and time.time() - t0 < 5,
                f"rc={rc} {time.time() - t0:.1f}s")

        # Busy polling on and off: the same answers; a bad value is refused.
        for poll in ("0", "1000"):
            p = Server(a.binary, "--db", f"sqlite:{tmp}/h.db", "--cache", "memory://", "--busy-poll-us", poll)
            conn = p.conn()
            answers = [p.post({"REQUEST": "read", "SQLS": [1, 1]}, conn) for _ in range(50)]
            c.check(f"--busy-poll-us {poll}: 50 reads on one connection answered",
                    all(code == 200 and [r["id"] for r in d["body"]] == [1, 1] for code, d in answers))
            c.check(f"--busy-poll-us {poll}: SIGTERM exits 0", p.stop() == 0)
        for flag in ("--busy-poll-us", "--busy-poll-redis-us"):
            bad = subprocess.run([a.binary, "serve", flag, "-5"], capture_output=True, text=True, timeout=30)
            c.check(f"{flag} -5 -> exit 2 naming the flag", bad.returncode == 2 and flag[2:] in bad.stderr,
                    bad.stderr)
    finally:
        srv.stop()
    c.finish()


if __name__ == "__main__":
    main()
