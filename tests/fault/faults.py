"""Fault-injection helpers for the consistency checker (tests/fault/checker.py).

LinkProxy: a TCP proxy in its own process (so its timing does not share a GIL with
the test's client threads), controlled at run time:

    p = LinkProxy(upstream_port)             # listens on p.port, forwards to 127.0.0.1:upstream_port
    p.delay(40)                               # every chunk, each direction, released 40 ms after it
                                              # arrived, order kept (a longer path, not a narrower pipe)
    p.cut()                                   # RST every connection, and every new one, until pass_()/delay()
    p.drop_commits(0.3)                       # MySQL only: 30% of COMMITs reach the server but their
                                              # reply is dropped and the connection reset (unknown outcome)
    p.delay_match("down", b"v1", 500)         # chunks containing b"v1" toward the client held 500 ms more
    p.pass_(); p.stats(); p.close()

make_servers(): a private MariaDB + Redis (tests/fault/chaos.py's Env, through
scripts/servers.sh, on ports below the ephemeral range), with fast kills and restarts
(Redis restarts can add flags, e.g. a maxmemory policy). quiet_port(), redis_info().

Run as a program, this file is the proxy process itself:
    python3 faults.py proxy --to PORT [--mysql]   (prints "listening PORT"; commands on stdin)
"""
import asyncio
import collections
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)


# --------------------------------------------------------------------------------------------------
# The proxy process


_COMMIT = b"\x07\x00\x00\x00\x03COMMIT"  # COM_QUERY "COMMIT": 3-byte length 7, sequence 0, 0x03, the text


class _Direction:
    """One direction of a proxied connection: chunks released at arrival + delay, in order, by one timer."""

    def __init__(self, pair, loop):
        self.pair, self.loop = pair, loop
        self.target = None  # the transport written to
        self.queue = collections.deque()  # (release time, data)
        self.timer = None
        self.last = 0.0
        self.eof = False  # the source closed: close the target once the queue is empty

    def push(self, data, delay):
        if delay <= 0 and not self.queue:
            self.target.write(data)
            return
        release = max(self.loop.time() + delay, self.last)
        self.last = release
        self.queue.append((release, data))
        if self.timer is None:
            self.timer = self.loop.call_at(release, self.fire)

    def fire(self):
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now + 0.0005:
            _, data = self.queue.popleft()
            if not self.pair.closed:
                self.target.write(data)
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self.fire)
        elif self.eof:
            self.pair.close()

    def finish(self):
        self.eof = True
        if not self.queue:
            self.pair.close()


class _Pair:
    def __init__(self, proxy, loop):
        self.proxy, self.loop = proxy, loop
        self.up = _Direction(self, loop)    # client -> server
        self.down = _Direction(self, loop)  # server -> client
        self.client = self.server = None
        self.doomed = False  # a COMMIT went through whose reply is being dropped
        self.closed = False

    def rst(self):
        """Reset both sides (RST, not FIN)."""
        if self.closed:
            return
        self.closed = True
        for t in (self.client, self.server):
            if t is None:
                continue
            sock = t.get_extra_info("socket")
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except (OSError, AttributeError):
                pass
            t.abort()
        self.proxy.conns.discard(self)

    def close(self):
        if self.closed:
            return
        self.closed = True
        for t in (self.client, self.server):
            if t is not None:
                t.close()
        self.proxy.conns.discard(self)

    def from_client(self, data):
        p = self.proxy
        if p.mode == "cut":
            self.rst()
            return
        if p.mysql and p.drop_p > 0 and not self.doomed and data == _COMMIT and p.rng.random() < p.drop_p:
            self.doomed = True
            p.counts["commits_dropped"] += 1
            self.loop.call_later(0.1 + p.delay, self.rst)
        self.up.push(data, p.delay + p.extra_delay("up", data))

    def from_server(self, data):
        p = self.proxy
        if p.mode == "cut":
            self.rst()
            return
        if self.doomed:
            return  # the reply to a dropped COMMIT, and anything after it
        self.down.push(data, p.delay + p.extra_delay("down", data))


class _ClientSide(asyncio.Protocol):
    def __init__(self, proxy):
        self.proxy = proxy

    def connection_made(self, transport):
        loop = asyncio.get_running_loop()
        self.pair = pair = _Pair(self.proxy, loop)
        pair.client = transport
        pair.down.target = transport
        if self.proxy.mode == "cut":
            pair.rst()
            return
        transport.pause_reading()
        self.proxy.conns.add(pair)
        self.proxy.counts["connections"] += 1

        async def connect():
            try:
                await loop.create_connection(lambda: _ServerSide(pair), "127.0.0.1", self.proxy.upstream)
            except OSError:
                pair.rst()
                return
            if not pair.closed:
                transport.resume_reading()

        loop.create_task(connect())

    def data_received(self, data):
        self.pair.from_client(data)

    def eof_received(self):
        self.pair.up.finish()
        return True

    def connection_lost(self, exc):
        self.pair.up.finish()


class _ServerSide(asyncio.Protocol):
    def __init__(self, pair):
        self.pair = pair

    def connection_made(self, transport):
        self.pair.server = transport
        self.pair.up.target = transport
        if self.pair.closed:
            transport.abort()

    def data_received(self, data):
        self.pair.from_server(data)

    def eof_received(self):
        self.pair.down.finish()
        return True

    def connection_lost(self, exc):
        self.pair.down.finish()


class _ProxyServer:
    def __init__(self, upstream, mysql):
        self.upstream, self.mysql = upstream, mysql
        self.mode, self.delay, self.drop_p = "pass", 0.0, 0.0
        self.conns = set()
        self.rng = random.Random(upstream)
        self.counts = collections.Counter()
        self.matches = []  # (direction, bytes, extra seconds): chunks containing the bytes are held longer

    def extra_delay(self, direction, data):
        for d, pattern, extra in self.matches:
            if d == direction and pattern in data:
                self.counts["matched_" + direction] += 1
                return extra
        return 0.0

    async def main(self):
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _ClientSide(self), "127.0.0.1", 0, backlog=512)
        port = server.sockets[0].getsockname()[1]
        sys.stdout.write(f"listening {port}\n")
        sys.stdout.flush()
        lines = asyncio.Queue()
        buf = bytearray()

        def on_stdin():
            data = os.read(sys.stdin.fileno(), 4096)
            if not data:
                loop.remove_reader(sys.stdin.fileno())
                lines.put_nowait("")
                return
            buf.extend(data)
            while b"\n" in buf:
                i = buf.index(b"\n")
                lines.put_nowait(buf[:i + 1].decode())
                del buf[:i + 1]

        loop.add_reader(sys.stdin.fileno(), on_stdin)
        while True:
            line = await lines.get()
            if not line:
                return  # the test went away
            parts = line.split()
            if not parts:
                continue
            cmd = parts[0]
            if cmd == "delay":
                self.mode, self.delay = "pass", float(parts[1]) / 1000.0
            elif cmd == "pass":
                self.mode, self.delay, self.drop_p = "pass", 0.0, 0.0
            elif cmd == "cut":
                self.mode = "cut"
                for c in list(self.conns):
                    c.rst()
            elif cmd == "drop-commits":
                self.drop_p = float(parts[1])
            elif cmd == "delay-match":  # delay-match up|down HEX-PATTERN MS
                self.matches.append((parts[1], bytes.fromhex(parts[2]), float(parts[3]) / 1000.0))
            elif cmd == "clear-matches":
                self.matches = []
            elif cmd == "quit":
                return
            reply = dict(self.counts, mode=self.mode, delay_ms=self.delay * 1000, drop_p=self.drop_p,
                         open=len(self.conns))
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


class LinkProxy:
    """The proxy process; each control call waits for its acknowledgement (so the mode is in force on return)."""

    def __init__(self, upstream_port, mysql=False):
        cmd = [sys.executable, os.path.abspath(__file__), "proxy", "--to", str(upstream_port)]
        if mysql:
            cmd.append("--mysql")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line.startswith("listening "):
            raise RuntimeError(f"proxy did not start: {line!r}")
        self.port = int(line.split()[1])

    def _cmd(self, *parts):
        self.proc.stdin.write(" ".join(str(p) for p in parts) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def delay(self, ms):
        return self._cmd("delay", ms)

    def pass_(self):
        return self._cmd("pass")

    def cut(self):
        return self._cmd("cut")

    def drop_commits(self, p):
        return self._cmd("drop-commits", p)

    def delay_match(self, direction, pattern, ms):
        """Chunks going `direction` ("up": to the server, "down": to the client) that contain `pattern`
        (bytes) are held `ms` longer (and, the order being kept, so is what follows them)."""
        return self._cmd("delay-match", direction, pattern.hex(), ms)

    def clear_matches(self):
        return self._cmd("clear-matches")

    def stats(self):
        return self._cmd("stats")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------------------------------
# Private servers


_taken = set()


def quiet_port():
    """A free TCP port below the ephemeral range (so no outgoing connection is ever given it)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    lo, hi = (20000, low - 1) if low > 21000 else (1025, low - 1)
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(lo, hi)
        if port in _taken:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _taken.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


def quiet_cluster_base():
    """A base port for a 3+3 cluster: base..base+5 and their bus ports (+10000) free and below the
    ephemeral range."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 22700)
        ports = [base + i for i in range(6)] + [base + 10000 + i for i in range(6)]
        if any(p in _taken for p in ports):
            continue
        ok = True
        for port in ports:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            _taken.update(ports)
            return base
    raise RuntimeError("no free ports for a cluster below the ephemeral range")


# How the tools connect to the private Redis (rowcache_e2e.Redis keyword
# arguments): empty for plain TCP; TLS and the password with make_servers(tls=True).
REDIS_KW = {}
REDIS_TLS_PASSWORD = "checker-tls-pw"


def make_servers(tls=False, cluster=False):
    """A private MariaDB + Redis (chaos.py's Env: scripts/servers.sh with its own run directory and ports).
    tls: the Redis serves TLS only (the test CA of scripts/servers.sh, hostname localhost) and requires AUTH
    with REDIS_TLS_PASSWORD; REDIS_KW then tells every tool here how to connect, and cache_url() gives
    rowcache's URL for a port (the Redis's own, or a proxy's in front of it).
    cluster: also a private 3 masters + 3 replicas Redis Cluster (scripts/servers.sh); cache_url() then
    names its first node (no proxy can stand in front of a cluster: its redirects name the nodes)."""
    from chaos import Env  # noqa: E402  (chaos.py starts nothing at import)

    class Servers(Env):
        def __init__(self):
            # Env.__init__, but on ports outside the ephemeral range: a port that goes quiet while its server
            # restarts must not be taken by some client's outgoing connection (on loopback a connect to a
            # closed port can even be given that same port as its own, and connect to itself).
            import tempfile
            self.dir = tempfile.mkdtemp(prefix="rowcache-checker-")
            os.chmod(self.dir, 0o755)
            self.mysql_port, self.redis_port = quiet_port(), quiet_port()
            self.env = dict(os.environ, ROWCACHE_RUN_DIR=self.dir, ROWCACHE_MYSQL_PORT=str(self.mysql_port),
                            ROWCACHE_REDIS_PORT=str(self.redis_port), ROWCACHE_SERVERS="mysql redis")
            self.tls = None
            self.cluster_ports = []
            if cluster:
                base = quiet_cluster_base()
                self.cluster_ports = [base + i for i in range(6)]
                self.env.update(ROWCACHE_SERVERS="mysql redis cluster", ROWCACHE_REDIS_CLUSTER_BASE_PORT=str(base))
            self.start()
            if tls:
                # The test CA and certificate (made by servers.sh for MariaDB's TLS).
                d = os.path.join(self.dir, "tls")
                self.tls = {"ca": os.path.join(d, "ca.crt"), "cert": os.path.join(d, "redis.crt"),
                            "key": os.path.join(d, "redis.key")}
                REDIS_KW.clear()
                REDIS_KW.update(tls=True, ca=self.tls["ca"], server_hostname="localhost",
                                password=REDIS_TLS_PASSWORD)
                self.restart_redis()

        def cache_url(self, port):
            if self.cluster_ports:
                return f"redis://127.0.0.1:{self.cluster_ports[0]}"
            if not self.tls:
                return f"redis://127.0.0.1:{port}/0"
            return f"rediss://:{REDIS_TLS_PASSWORD}@localhost:{port}/0?ca={self.tls['ca']}"

        def redis_pid(self):
            try:
                return self.pid("redis")
            except (OSError, ValueError):
                return None

        def redis_alive(self):
            pid = self.redis_pid()
            if pid is None:
                return False
            try:
                os.kill(pid, 0)
                return True
            except OSError:
                return False

        def _kill_fast(self, name):
            """SIGKILL, then wait until the process is dead (a zombie is dead: its sockets are closed; the
            container's init may take seconds to reap it)."""
            try:
                pid = self.pid(name)
            except (OSError, ValueError):
                return
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    with open(f"/proc/{pid}/status") as f:
                        state = [ln for ln in f if ln.startswith("State:")][0]
                    if "Z" in state.split()[1]:
                        break
                except (OSError, IndexError):
                    break
                time.sleep(0.005)
            try:
                os.unlink(os.path.join(self.dir, f"{name}.pid"))
            except OSError:
                pass

        def _our_redis_pids(self):
            """Every live redis-server on our port (its process title names the port), whatever the pid file
            says: a daemonized Redis writes its pid file only after it has started listening."""
            pids = []
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        cmd = f.read()
                    with open(f"/proc/{d}/status") as f:
                        state = [ln for ln in f if ln.startswith("State:")][0].split()[1]
                except (OSError, IndexError):
                    continue
                if cmd.startswith(b"redis-server") and f":{self.redis_port}".encode() in cmd and state != "Z":
                    pids.append(int(d))
            return pids

        def kill_redis(self):
            self._kill_fast("redis")
            for pid in self._our_redis_pids():
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            deadline = time.time() + 10
            while self._our_redis_pids() and time.time() < deadline:
                time.sleep(0.005)

        def start_redis(self, *extra):
            """Redis as servers.sh starts it (no persistence: a restart is empty), plus extra flags."""
            for _ in range(200):  # the port is free once the last one is dead; be sure
                probe = socket.socket()
                try:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    probe.bind(("127.0.0.1", self.redis_port))
                    break
                except OSError:
                    time.sleep(0.01)
                finally:
                    probe.close()
            listen = ["--port", str(self.redis_port)]
            if self.tls:
                listen = ["--port", "0", "--tls-port", str(self.redis_port), "--tls-cert-file", self.tls["cert"],
                          "--tls-key-file", self.tls["key"], "--tls-ca-cert-file", self.tls["ca"],
                          "--tls-auth-clients", "no", "--requirepass", REDIS_TLS_PASSWORD]
            subprocess.run(["redis-server", *listen, "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no", "--daemonize", "yes",
                            "--pidfile", os.path.join(self.dir, "redis.pid"),
                            "--logfile", os.path.join(self.dir, "redis.log"), "--dir", self.dir, *extra],
                           check=True, stdout=subprocess.DEVNULL)
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    from rowcache_e2e import Redis
                    with Redis(self.redis_port, timeout=1, **REDIS_KW) as r:
                        if r.cmd("PING") == "PONG":
                            return
                except OSError:
                    pass
                time.sleep(0.02)
            try:
                with open(os.path.join(self.dir, "redis.log")) as f:
                    tail = f.read()[-1500:]
            except OSError:
                tail = ""
            raise RuntimeError(f"Redis did not restart on port {self.redis_port}: {tail}")

        def restart_redis(self, *extra):
            self.kill_redis()
            self.start_redis(*extra)

        def cluster_client(self):
            from rowcache_e2e import RedisCluster
            return RedisCluster([("127.0.0.1", p) for p in self.cluster_ports], timeout=5)

        def failover(self, timeout=15):
            """CLUSTER FAILOVER on a replica of a master that serves slots: the replica takes over (the
            master's clients get MOVED), the old master becomes its replica. Returns (old, new) ports."""
            from rowcache_e2e import Redis
            for port in self.cluster_ports:
                with Redis(port, timeout=2) as r:
                    role = r.cmd("ROLE")
                if role and role[0] == "slave":
                    master = int(role[2])
                    start = time.time()
                    asked = 0.0
                    while time.time() < start + timeout:
                        with Redis(port, timeout=2) as r:
                            if r.cmd("ROLE")[0] == "master":
                                return master, port
                            if time.time() - asked > 2:
                                # Asked again every 2 s (a replica not yet in sync refuses), FORCE after 6 s.
                                force = ["FORCE"] if time.time() - start > 6 else []
                                r.cmd("CLUSTER", "FAILOVER", *force)
                                asked = time.time()
                        time.sleep(0.05)
                    raise RuntimeError(f"CLUSTER FAILOVER on {port}: still a replica after {timeout} s")
            raise RuntimeError("no replica in the cluster")

        def kill_mysql(self):
            self._kill_fast("mysql")

        def start_mysql(self):
            # servers.sh starts what does not answer, MariaDB only: it would take a TLS-only Redis
            # (which its plain PING cannot reach) for a dead one and start a plain one in its place.
            subprocess.run([os.path.join(ROOT, "scripts", "servers.sh"), "start"],
                           env=dict(self.env, ROWCACHE_SERVERS="mysql"), check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def stop(self):
            self.signal("redis", signal.SIGCONT)
            self.kill_redis()  # (by its port too: a Redis this test restarted is ours to stop)
            super().stop()

    return Servers()


def redis_info(port, section="stats"):
    """INFO section as a dict (numbers as int where they are)."""
    from rowcache_e2e import Redis
    with Redis(port, timeout=2, **REDIS_KW) as r:
        text = r.cmd("INFO", section) or ""
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = int(v) if v.isdigit() else v
    return out


def _proxy_main(argv):
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--to", type=int, required=True)
    p.add_argument("--mysql", action="store_true")
    a = p.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_ProxyServer(a.to, a.mysql).main())


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "proxy":
        _proxy_main(sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
