"""Helpers for end-to-end tests: run the real rowcache binary, talk HTTP,
inspect Redis (RESP over a socket) and MariaDB (the mariadb client).

Every test script takes --binary PATH, prints one line per check and ends with
"N passed, N failed" (and ", N skipped"); it exits non-zero on any failure.
"""
import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok    {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name} {detail}")
        sys.stdout.flush()
        return ok

    def skip(self, name, why):
        self.skipped += 1
        print(f"skip  {name}: {why}")

    def finish(self):
        line = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            line += f", {self.skipped} skipped"
        print(line)
        sys.exit(1 if self.failed else 0)


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    return p.parse_args()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """rowcache serve on a free port; stop() sends SIGTERM and returns the exit code."""

    def __init__(self, binary, *flags, env=None):
        self.proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", *flags],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            err = self.proc.stderr.read() if self.proc.poll() is not None else ""
            raise RuntimeError(f"rowcache did not start: {line!r} {err!r}")
        self.port = int(line.split("http://127.0.0.1:")[1].split()[0])

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def post(self, body, conn=None):
        """POST body (a dict is JSON-encoded); returns (http status, parsed JSON or text)."""
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        c = conn or self.conn()
        c.request("POST", "/", body=data, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read()
        if conn is None:
            c.close()
        try:
            return r.status, json.loads(raw)
        except ValueError:
            return r.status, raw.decode(errors="replace")

    def get(self, path):
        c = self.conn()
        c.request("GET", path)
        r = c.getresponse()
        raw = r.read().decode()
        c.close()
        return r.status, raw

    def metric(self, name):
        _, text = self.get("/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Redis:
    """A minimal RESP client (enough for GET/TTL/SET/DEL/KEYS)."""

    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-"):
            return rest.decode()
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if t == b"*":
            return [self._reply() for _ in range(int(rest))]
        raise RuntimeError(f"bad reply {line!r}")

    def cmd(self, *parts):
        out = b"*%d\r\n" % len(parts)
        for p in parts:
            b = p.encode() if isinstance(p, str) else str(p).encode()
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        self.sock.sendall(out)
        return self._reply()


def mariadb(sql, port=None):
    port = port or os.environ.get("ROWCACHE_TEST_MYSQL_PORT", "13306")
    out = subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", "-urowcache", "-prowcache", "-N", "-B",
                          "rowcache", "-e", sql], capture_output=True, text=True, check=True)
    return out.stdout


def unique(tag):
    return f"{tag}_{os.getpid()}_{random.randrange(10**9)}"


def require_servers():
    """(mysql_url, redis_url) from the environment, or None; exits 1 when
    ROWCACHE_REQUIRE_SERVERS=1 and they are missing."""
    m, r = os.environ.get("ROWCACHE_TEST_MYSQL"), os.environ.get("ROWCACHE_TEST_REDIS")
    if m and r:
        return m, r
    if os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1":
        print("ROWCACHE_TEST_MYSQL / ROWCACHE_TEST_REDIS not set but ROWCACHE_REQUIRE_SERVERS=1")
        print("0 passed, 1 failed")
        sys.exit(1)
    return None
