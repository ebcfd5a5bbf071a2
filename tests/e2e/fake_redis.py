"""A fake Redis for hostile-peer tests: enough RESP2 for rowcache's client to
connect (AUTH, SELECT, PING, CLUSTER SLOTS), on any number of ports, each
answering every other command as its policy says.

    srv = FakeRedis(ports=3, policy=fn, slots=fn)  # srv.ports[i]: listening on 127.0.0.1
    srv.connections[i]        # connections accepted on port i (total)
    srv.open[i]               # connections on port i still open
    srv.commands[i]           # every command received on port i, as lists of bytes
    srv.close()

policy(port_index, args) -> bytes: the raw RESP reply to a command that is
not AUTH/SELECT/PING/CLUSTER; None: "+OK".
slots(port_index) -> None (standalone: CLUSTER SLOTS answers "cluster support
disabled") or a list of (first slot, last slot, port index of its master).
"""
import socket
import threading


def bulk(b):
    return b"$%d\r\n%s\r\n" % (len(b), b)


def error(text):
    return b"-" + text.encode() + b"\r\n"


class FakeRedis:
    def __init__(self, ports=1, policy=None, slots=None):
        self.policy = policy or (lambda i, args: None)
        self.slots = slots or (lambda i: None)
        self.lock = threading.Lock()
        self.socks, self.ports = [], []
        self.connections = [0] * ports
        self.open = [0] * ports
        self.commands = [[] for _ in range(ports)]
        self.stopping = False
        for i in range(ports):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(64)
            self.socks.append(s)
            self.ports.append(s.getsockname()[1])
            threading.Thread(target=self._accept, args=(i,), daemon=True).start()

    def close(self):
        self.stopping = True
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self, i):
        while not self.stopping:
            try:
                conn, _ = self.socks[i].accept()
            except OSError:
                return
            with self.lock:
                self.connections[i] += 1
                self.open[i] += 1
            threading.Thread(target=self._serve, args=(i, conn), daemon=True).start()

    def _serve(self, i, conn):
        buf = b""
        try:
            while True:
                args, buf = self._read_command(conn, buf)
                if args is None:
                    return
                with self.lock:
                    self.commands[i].append(args)
                conn.sendall(self._answer(i, args))
        except OSError:
            pass
        finally:
            with self.lock:
                self.open[i] -= 1
            conn.close()

    @staticmethod
    def _read_command(conn, buf):
        def need(n):
            nonlocal buf
            while len(buf) < n:
                chunk = conn.recv(65536)
                if not chunk:
                    raise EOFError
                buf += chunk

        def line():
            nonlocal buf
            while b"\r\n" not in buf:
                need(len(buf) + 1)
            head, buf = buf.split(b"\r\n", 1)
            return head

        try:
            head = line()
            if not head.startswith(b"*"):
                return head.split(), buf
            args = []
            for _ in range(int(head[1:])):
                n = int(line()[1:])
                need(n + 2)
                args.append(buf[:n])
                buf = buf[n + 2:]
            return args, buf
        except EOFError:
            return None, buf

    def _answer(self, i, args):
        name = args[0].upper() if args else b""
        if name in (b"AUTH", b"SELECT"):
            return b"+OK\r\n"
        if name == b"PING":
            return b"+PONG\r\n"
        if name == b"CLUSTER" and len(args) > 1 and args[1].upper() == b"SLOTS":
            ranges = self.slots(i)
            if ranges is None:
                return error("ERR This instance has cluster support disabled")
            out = b"*%d\r\n" % len(ranges)
            for first, last, owner in ranges:
                out += (b"*3\r\n:%d\r\n:%d\r\n*3\r\n" % (first, last) + bulk(b"127.0.0.1") +
                        b":%d\r\n" % self.ports[owner] + bulk(b"%040d" % owner))
            return out
        reply = self.policy(i, args)
        return b"+OK\r\n" if reply is None else reply
