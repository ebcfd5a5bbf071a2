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
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse


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


def proc_status_kib(pid, field):
    """A figure of /proc/PID/status in KiB (e.g. "VmRSS", "VmHWM"), or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


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
        self.banner = line.strip()  # "rowcache listening on http://... (db=..., cache=...)"
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

    def get(self, path, token=None):
        c = self.conn()
        c.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
        r = c.getresponse()
        raw = r.read().decode()
        c.close()
        return r.status, raw

    def health_until(self, pred, timeout=6.0):
        """GET /healthz until pred(code, text) holds (it is answered from a
        probe that runs once a second) or timeout; returns the last (code, text)."""
        end = time.time() + timeout
        while True:
            code, text = self.get("/healthz")
            if pred(code, text) or time.time() > end:
                return code, text
            time.sleep(0.1)

    def metric(self, name, token=None):
        """The value of metric `name` (with its labels, e.g. 'x_total{class="a"}'), or None."""
        _, text = self.get("/metrics", token)
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


class RedisError(str):
    """An error reply ("ERR ...", "MOVED 12 127.0.0.1:7001", ...): returned, not raised, as the text after
    the '-'. It is a str, so a test comparing replies keeps working; isinstance(r, RedisError) tells it apart."""


def entry_key(prefix, row_id):
    """The cache key of row `row_id`: the prefix, then the id as a Redis Cluster hash tag, so that an
    entry and its guard share a slot (e.g. "rowcache:heroes:{7}")."""
    return f"{prefix}{{{row_id}}}"


def guard_key(prefix, row_id):
    """The guard (generation) key of row `row_id`: its entry key + ":gen"."""
    return entry_key(prefix, row_id) + ":gen"


def parse_redis_url(url):
    """A cache URL (redis://[user[:password]@]host[:port][/db][?ca=FILE&sni=NAME&insecure=1], rediss:// for
    TLS) as the keyword arguments of Redis() / RedisCluster()."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("redis", "rediss"):
        raise ValueError(f"not a redis:// or rediss:// URL: {url}")
    q = dict(urllib.parse.parse_qsl(u.query))
    path = u.path.strip("/")
    return {
        "host": u.hostname or "127.0.0.1",
        "port": u.port or 6379,
        "tls": u.scheme == "rediss",
        "user": urllib.parse.unquote(u.username) if u.username else None,
        "password": urllib.parse.unquote(u.password) if u.password else None,
        "db": int(path) if path else None,
        "ca": q.get("ca"),
        "server_hostname": q.get("sni"),
        "insecure": q.get("insecure") == "1",
    }


class Redis:
    """A minimal RESP2 client for tests to inspect Redis: one connection to one server.

    Redis(port) is the plain server on 127.0.0.1 (as every test used it). Keywords add TLS (verifying the
    server's certificate against `ca` and `server_hostname`, default the host; insecure=True skips that),
    AUTH (`password`, with `user` for an ACL user) and SELECT `db`. Redis.from_url(url) takes a cache URL and
    answers a RedisCluster when the server is a cluster node.

    cmd() returns str / int / None / list; an error reply is a RedisError (a str), returned, not raised.
    """

    def __init__(self, port=6379, host="127.0.0.1", *, tls=False, ca=None, server_hostname=None, insecure=False,
                 password=None, user=None, db=None, timeout=5):
        self.host, self.port = host, int(port)
        sock = socket.create_connection((host, self.port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context(cafile=ca)
            if insecure:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            try:
                sock = ctx.wrap_socket(sock, server_hostname=server_hostname or host)
            except Exception:
                sock.close()
                raise
        self.sock = sock
        self.buf = b""
        if password is not None:
            r = self.cmd("AUTH", user, password) if user else self.cmd("AUTH", password)
            if r != "OK":
                self.close()
                raise PermissionError(f"AUTH to {host}:{port} failed: {r}")
        if db is not None:
            r = self.cmd("SELECT", db)
            if r != "OK":
                self.close()
                raise RuntimeError(f"SELECT {db} on {host}:{port} failed: {r}")

    @staticmethod
    def from_url(url, cluster=None, timeout=5):
        """A Redis, or a RedisCluster when the server says cluster_enabled:1 (or cluster=True)."""
        kw = parse_redis_url(url)
        if cluster is None:
            probe = Redis(**dict(kw, db=None), timeout=timeout)
            try:
                cluster = "cluster_enabled:1" in (probe.cmd("INFO", "cluster") or "")
            finally:
                probe.close()
        if cluster:
            if kw.pop("db") not in (None, 0):
                raise ValueError(f"a Redis Cluster has only database 0: {url}")
            return RedisCluster([(kw.pop("host"), kw.pop("port"))], timeout=timeout, **kw)
        return Redis(timeout=timeout, **kw)

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"Redis {self.host}:{self.port} closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._recv()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._recv()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise RuntimeError(f"bad reply {line!r}")

    def cmd(self, *parts):
        out = b"*%d\r\n" % len(parts)
        for p in parts:
            b = p if isinstance(p, bytes) else p.encode() if isinstance(p, str) else str(p).encode()
            out += b"$%d\r\n%s\r\n" % (len(b), b)
        self.sock.sendall(out)
        return self._reply()

    def keys_matching(self, pattern):
        """Every key matching `pattern` (SCAN, never KEYS), sorted."""
        keys, cursor = set(), "0"
        while True:
            r = self.cmd("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            if isinstance(r, RedisError):
                raise RuntimeError(f"SCAN on {self.host}:{self.port}: {r}")
            cursor, batch = r
            keys.update(batch)
            if cursor == "0":
                return sorted(keys)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _crc16_table():
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def key_slot(key):
    """The Redis Cluster hash slot of `key` (CRC16/XMODEM of the hash tag, or of the key, mod 16384)."""
    k = key.encode() if isinstance(key, str) else bytes(key)
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1:e]
    crc = 0
    for byte in k:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ byte) & 0xFF]
    return crc % 16384


class RedisCluster:
    """A test inspector for a Redis Cluster with the same cmd() as Redis: a command for a key goes to the
    master owning the key's slot, learnt from CLUSTER SLOTS; a -MOVED reply sends it to the node named there,
    which is remembered as the slot's owner; -ASK sends ASKING and the command to that node, once. During a
    failover (TRYAGAIN, CLUSTERDOWN, a lost connection) the command is retried for up to `retry_seconds`.

    Multi-key DEL / UNLINK / EXISTS / TOUCH / MGET across slots are split per key; KEYS and DBSIZE cover every
    master; keys_matching(pattern) SCANs every master. Connection keywords (tls, ca, server_hostname, insecure,
    password, user, timeout) are those of Redis and apply to every node.
    """

    KEYLESS = {"PING", "INFO", "CLUSTER", "SCAN", "CONFIG", "CLIENT", "ACL", "TIME", "ECHO", "AUTH", "HELLO",
               "FLUSHDB", "FLUSHALL", "SCRIPT", "FUNCTION", "MEMORY", "LATENCY", "SLOWLOG", "COMMAND", "LASTSAVE",
               "ROLE", "WAIT", "READONLY", "READWRITE", "RANDOMKEY"}

    def __init__(self, seeds, retry_seconds=10, **conn_kw):
        conn_kw.pop("db", None)
        self.seeds = [(h, int(p)) for h, p in seeds]
        self.conn_kw = conn_kw
        self.retry_seconds = retry_seconds
        self.nodes = {}  # (host, port) -> Redis
        self.slots = [None] * 16384  # slot -> (host, port) of its master
        self.masters = []
        self.redirects = {"MOVED": 0, "ASK": 0}
        self.refresh()

    # --- connections and the slot map
    def node(self, addr):
        """The connection to node `addr` (host, port), opened on first use."""
        if addr not in self.nodes:
            self.nodes[addr] = Redis(addr[1], addr[0], **self.conn_kw)
        return self.nodes[addr]

    def _drop(self, addr):
        conn = self.nodes.pop(addr, None)
        if conn:
            conn.close()

    def refresh(self):
        """Reloads the slot map from CLUSTER SLOTS of the first node that answers."""
        errors = []
        for addr in list(dict.fromkeys(self.masters + self.seeds + list(self.nodes))):
            try:
                r = self.node(addr).cmd("CLUSTER", "SLOTS")
            except (OSError, ConnectionError) as e:
                self._drop(addr)
                errors.append(f"{addr}: {e}")
                continue
            if not isinstance(r, list) or not r:
                errors.append(f"{addr}: {r}")
                continue
            slots, masters = [None] * 16384, []
            for entry in r:
                lo, hi, master = entry[0], entry[1], entry[2]
                host = master[0] if master[0] not in ("", "?") else addr[0]
                m = (host, int(master[1]))
                if m not in masters:
                    masters.append(m)
                for s in range(lo, hi + 1):
                    slots[s] = m
            self.slots, self.masters = slots, masters
            return
        raise ConnectionError(f"no cluster node answered CLUSTER SLOTS: {errors}")

    def slot_owner(self, key):
        return self.slots[key_slot(key)]

    # --- commands
    @staticmethod
    def _addr(text, default_host):
        host, _, port = text.rpartition(":")
        host = host.strip("[]") or default_host
        return host, int(port)

    def _send(self, slot, parts):
        """parts to the owner of `slot` (any master when slot is None), following redirections."""
        deadline = time.time() + self.retry_seconds
        addr = (self.slots[slot] if slot is not None else None) or self.masters[0]
        asking = False
        for _ in range(1000):
            try:
                conn = self.node(addr)
                if asking:
                    conn.cmd("ASKING")
                reply = conn.cmd(*parts)
            except (OSError, ConnectionError):
                self._drop(addr)
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
                try:
                    self.refresh()
                except ConnectionError:
                    pass
                addr = (self.slots[slot] if slot is not None else None) or self.masters[0]
                asking = False
                continue
            asking = False
            if isinstance(reply, RedisError):
                kind = reply.split(" ", 1)[0]
                if kind in ("MOVED", "ASK"):
                    _, s, target = reply.split()
                    self.redirects[kind] += 1
                    addr = self._addr(target, addr[0])
                    if kind == "MOVED":
                        self.slots[int(s)] = addr
                    else:
                        asking = True
                    continue
                if kind in ("TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING") and time.time() < deadline:
                    time.sleep(0.1)
                    if kind != "TRYAGAIN":
                        try:
                            self.refresh()
                        except ConnectionError:
                            pass
                        addr = (self.slots[slot] if slot is not None else None) or self.masters[0]
                    continue
            return reply
        raise RuntimeError(f"too many redirections for {parts[:2]}")

    def on_masters(self, *parts):
        """parts on every master: {(host, port): reply}."""
        self.refresh()
        return {m: self._on(m, parts) for m in self.masters}

    def _on(self, addr, parts):
        try:
            return self.node(addr).cmd(*parts)
        except (OSError, ConnectionError):
            self._drop(addr)
            return self.node(addr).cmd(*parts)

    def cmd(self, *parts):
        name = str(parts[0]).upper()
        if name == "KEYS":
            return self.keys_matching(parts[1])
        if name == "DBSIZE":
            return sum(r for r in self.on_masters("DBSIZE").values() if isinstance(r, int))
        if name in self.KEYLESS or len(parts) < 2:
            return self._send(None, parts)
        if name in ("EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"):
            slot = key_slot(parts[3]) if int(parts[2]) > 0 else None
            return self._send(slot, parts)
        if name in ("DEL", "UNLINK", "EXISTS", "TOUCH", "MGET") and len(parts) > 2:
            keys = parts[1:]
            if len({key_slot(k) for k in keys}) > 1:
                replies = [self._send(key_slot(k), (parts[0], k)) for k in keys]
                if name == "MGET":
                    return [r[0] if isinstance(r, list) else r for r in replies]
                errors = [r for r in replies if isinstance(r, RedisError)]
                return errors[0] if errors else sum(replies)
        return self._send(key_slot(parts[1]), parts)

    def keys_matching(self, pattern):
        """Every key matching `pattern` on every master (SCAN), sorted."""
        self.refresh()
        keys = set()
        for m in self.masters:
            keys.update(self.node(m).keys_matching(pattern))
        return sorted(keys)

    def close(self):
        for addr in list(self.nodes):
            self._drop(addr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# The Redis shapes that scripts/servers.sh starts: (tag, the environment variable holding its cache URL).
REDIS_MODES = [
    ("single", "ROWCACHE_TEST_REDIS"),
    ("tls", "ROWCACHE_TEST_REDIS_TLS"),
    ("tls-user", "ROWCACHE_TEST_REDIS_TLS_USER"),
    ("cluster", "ROWCACHE_TEST_REDIS_CLUSTER"),
    ("cluster-tls", "ROWCACHE_TEST_REDIS_CLUSTER_TLS"),
]


def redis_modes(env=None):
    """[(tag, cache URL)] for every Redis shape: single, tls, tls-user, cluster, cluster-tls. The URL is None
    when its variable (REDIS_MODES) is unset: a test skips that mode, or fails it when
    ROWCACHE_REQUIRE_SERVERS=1."""
    env = os.environ if env is None else env
    return [(tag, env.get(var) or None) for tag, var in REDIS_MODES]


def each_redis_mode(c, only=None):
    """(tag, cache URL) of every Redis shape (or those in `only`) whose URL is set; an unset one is skipped,
    or a failed check when ROWCACHE_REQUIRE_SERVERS=1."""
    required = os.environ.get("ROWCACHE_REQUIRE_SERVERS") == "1"
    var = dict(REDIS_MODES)
    for tag, url in redis_modes():
        if only and tag not in only:
            continue
        if url is None:
            if required:
                c.check(f"[{tag}] {var[tag]} is set (ROWCACHE_REQUIRE_SERVERS=1; scripts/servers.sh start sets it)",
                        False)
            else:
                c.skip(f"[{tag}]", f"{var[tag]} not set")
            continue
        yield tag, url


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
