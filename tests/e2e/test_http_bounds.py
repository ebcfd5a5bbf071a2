"""End-to-end: every byte count an HTTP client or an HTTP peer controls is
bounded (docs/reliability.md, "Bounds and hostile peers").

Server (`rowcache serve`, with a bearer token, so all of this happens before
authentication): for 10 s, two connections each keep sending a request whose
request line, header, chunk header line (an endless chunk extension) or
trailer never ends, and one keeps announcing bodies over the limit,
reconnecting whenever the server closes. Each is answered at once (431, 431,
400, 431, 413) and closed, the server's RSS stays within 64 MiB of its start,
the refusals are counted in /metrics, and a normal request is answered after.

Client (`rowcache load --from s3://...`): an S3 endpoint that answers with a
header, a chunk extension or a trailer that never ends; the loader fails
within seconds with an error naming the bound, its peak RSS within 64 MiB.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rowcache_e2e import Checks, Server, args, proc_status_kib  # noqa: E402

TOKEN = "bounds-test-token-0123456789"
FLOOD_SECONDS = 10
SLACK_MB = 64
FILL = b"a" * 65536

# name -> (bytes that start the request, the status it must get)
SERVER_CASES = {
    "request line": (b"GET /", 431),
    "header": (b"POST / HTTP/1.1\r\nHost: x\r\nX-Long: ", 431),
    "chunk extension": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=", 400),
    "trailer": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n0\r\nX-Long: ", 431),
    "chunked body": (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 413),
}


def rss_mb(pid):
    kib = proc_status_kib(pid, "VmRSS")
    return -1 if kib is None else kib / 1024


def flood_once(port, head, chunked_body=False, stop_at=None):
    """Sends head and then endless filler until the server answers or closes;
    returns the answer's status code (0: closed without one)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(0.05)
    got = b""
    try:
        s.sendall(head)
        while stop_at is None or time.time() < stop_at + 30:
            try:
                s.sendall(b"10000\r\n" + FILL + b"\r\n" if chunked_body else FILL)
            except OSError:
                pass
            try:
                piece = s.recv(65536)
                if not piece:
                    break
                got += piece
                if b"\r\n\r\n" in got:
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        if not got:
            try:
                s.settimeout(2)
                got = s.recv(65536)
            except OSError:
                pass
    finally:
        s.close()
    try:
        return int(got.split()[1])
    except (IndexError, ValueError):
        return 0


def server_checks(c, binary, tmp):
    srv = Server(binary, "--db", f"sqlite:{tmp}/b.db", "--cache", "memory://", "--auth-token", TOKEN,
                 "--max-body-bytes", "65536")
    try:
        with open(f"/proc/{srv.proc.pid}/status") as f:
            ignored = int(next(line for line in f if line.startswith("SigIgn:")).split()[1], 16)
        c.check("server: SIGPIPE is ignored (a peer closing mid-write fails the write, not the process)",
                ignored & (1 << (13 - 1)))
        for name, (head, want) in SERVER_CASES.items():
            got = flood_once(srv.port, head, chunked_body=name == "chunked body", stop_at=time.time())
            c.check(f"server: an endless {name} is answered {want}", got == want, f"got {got}")
        start = rss_mb(srv.proc.pid)
        stop_at = time.time() + FLOOD_SECONDS
        codes = {name: set() for name in SERVER_CASES}
        rounds = {name: 0 for name in SERVER_CASES}

        def flood(name):
            head, _ = SERVER_CASES[name]
            while time.time() < stop_at:
                codes[name].add(flood_once(srv.port, head, chunked_body=name == "chunked body", stop_at=stop_at))
                rounds[name] += 1

        threads = [threading.Thread(target=flood, args=(n,)) for n in SERVER_CASES for _ in range(2)]
        for t in threads:
            t.start()
        peak = start
        while any(t.is_alive() for t in threads):
            if srv.alive():
                peak = max(peak, rss_mb(srv.proc.pid))
            time.sleep(0.1)
        for t in threads:
            t.join()
        c.check(f"server: {FLOOD_SECONDS} s of floods on {len(threads)} connections: RSS within {SLACK_MB} MiB "
                f"(start {start:.0f} MiB, peak {peak:.0f} MiB)", srv.alive() and peak - start < SLACK_MB)
        for name, (_, want) in SERVER_CASES.items():
            c.check(f"server: every {name} of the flood answered {want} ({rounds[name]} connections)",
                    codes[name] == {want}, f"got {codes[name]}")
        status, body = srv.post({"REQUEST": "read", "SQLS": [1]})
        c.check("server: a request without the token after the flood: 401", status == 401, f"{status} {body}")
        heads, bad, large = (srv.metric(name, token=TOKEN) or 0 for name in (
            "rowcache_http_heads_too_large_total", "rowcache_http_bad_requests_total",
            "rowcache_http_bodies_too_large_total"))
        c.check("server: /metrics counts the 431s, 400s and 413s",
                heads and heads >= rounds["request line"] + rounds["header"] + rounds["trailer"] and
                bad and bad >= rounds["chunk extension"] and large and large >= rounds["chunked body"],
                f"{heads} {bad} {large} {rounds}")
    finally:
        srv.stop()


class HostilePeer:
    """An HTTP endpoint that answers every request with `head` and then
    endless filler until the client goes away."""

    def __init__(self, head):
        self.head = head
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(self.head)
            while True:
                conn.sendall(FILL)
                self.sent += len(FILL)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


PEER_CASES = {
    "header": b"HTTP/1.1 200 OK\r\nX-Long: ",
    "chunk extension": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=",
    "trailer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n1,a,b\r\n0\r\nX-Long: ",
}


def client_checks(c, binary, tmp):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDBOUNDS", AWS_SECRET_ACCESS_KEY="bounds-secret")
    env.pop("AWS_SESSION_TOKEN", None)
    for name, head in PEER_CASES.items():
        peer = HostilePeer(head)
        try:
            t0 = time.time()
            proc = subprocess.Popen([binary, "load", "--db", f"sqlite:{tmp}/c.db", "--from", "s3://bucket/k.csv",
                                     "--s3-endpoint", f"http://127.0.0.1:{peer.port}"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            done = (0, 0, None)
            while done[0] == 0 and time.time() - t0 < FLOOD_SECONDS:
                time.sleep(0.05)
                done = os.wait4(proc.pid, os.WNOHANG)
            timed_out = done[0] == 0
            if timed_out:
                proc.kill()
                done = os.wait4(proc.pid, 0)
            _, status, usage = done
            proc.returncode = os.waitstatus_to_exitcode(status)
            err = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
            peak = usage.ru_maxrss / 1024
            c.check(f"client: an S3 peer's endless {name} fails the load within {FLOOD_SECONDS} s, naming the bound "
                    f"(peak RSS {peak:.0f} MiB, {peer.sent >> 20} MiB sent)",
                    not timed_out and os.waitstatus_to_exitcode(status) != 0 and "over 65536 bytes" in err and
                    peak < SLACK_MB + 32, err[-300:])
        finally:
            peer.close()


def main():
    a = args()
    c = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        server_checks(c, a.binary, tmp)
        client_checks(c, a.binary, tmp)
    c.finish()


if __name__ == "__main__":
    main()
