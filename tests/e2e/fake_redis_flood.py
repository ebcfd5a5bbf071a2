"""A fake Redis that floods: for tests of reply bounds: enough RESP2 for rowcache's Redis client to connect (CLUSTER SLOTS answered
"cluster support disabled": a standalone server; PING, SET, DEL answered as Redis would), and a hostile answer
to every read (EVAL, MGET):

    srv = FloodingRedis(answer) # listening on 127.0.0.1:srv.port
    srv.reads                   # reads answered with `answer` so far
    srv.sent                    # hostile bytes sent, in all
    srv.close()

answer is the hostile reply's header (e.g. b"$2147483648\\r\\n", a 2 GiB bulk string); after it the server
streams filler bytes, 1 MiB at a time, for as long as the client keeps the connection open (at most 4 GiB):
a client that buffers whatever a reply declares grows with them.
"""
import socket
import threading

FILLER = b"x" * (1 << 20)
MOST = 4 << 30


class FloodingRedis:
    def __init__(self, answer):
        self.answer = answer
        self.reads = 0
        self.sent = 0
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _commands(buf):
        """Complete commands (lists of bytes) at the start of buf, and the rest."""
        out = []
        while True:
            if not buf.startswith(b"*") or b"\r\n" not in buf:
                return out, buf
            head, rest = buf.split(b"\r\n", 1)
            parts = []
            for _ in range(int(head[1:])):
                if b"\r\n" not in rest:
                    return out, buf
                ln, after = rest.split(b"\r\n", 1)
                n = int(ln[1:])
                if len(after) < n + 2:
                    return out, buf
                parts.append(after[:n])
                rest = after[n + 2:]
            out.append(parts)
            buf = rest

    def _serve(self, c):
        buf = b""
        try:
            while not self.closed:
                data = c.recv(65536)
                if not data:
                    return
                cmds, buf = self._commands(buf + data)
                for parts in cmds:
                    name = parts[0].upper()
                    if name == b"CLUSTER":
                        c.sendall(b"-ERR This instance has cluster support disabled\r\n")
                    elif name == b"PING":
                        c.sendall(b"+PONG\r\n")
                    elif name in (b"SET", b"AUTH", b"SELECT"):
                        c.sendall(b"+OK\r\n")
                    elif name == b"DEL":
                        c.sendall(b":0\r\n")
                    else:
                        with self.lock:
                            self.reads += 1
                        self._hostile(c)
                        return
        except OSError:
            pass
        finally:
            c.close()

    def _hostile(self, c):
        c.sendall(self.answer)
        sent = 0
        while not self.closed and sent < MOST:
            c.sendall(FILLER)  # raises once the client has closed the connection
            sent += len(FILLER)
            with self.lock:
                self.sent += len(FILLER)

    def close(self):
        self.closed = True
        self.sock.close()
