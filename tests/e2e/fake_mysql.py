"""A fake MySQL server for tests: enough of the client/server protocol
(protocol 41, mysql_native_password, no TLS offered) for MariaDB Connector/C
to connect, run text queries and be asked for a local file.

    srv = FakeMysql(policy)        # listening on 127.0.0.1:srv.port
    srv.connections                # one Conn per client connection, in order
    srv.close()

policy(conn, query) -> None | ("ok", info) | ("error", code, message) |
("infile", filename) | ("kill",): how to answer a COM_QUERY. None means OK.
A LOCAL INFILE request ("infile") is the 0xFB packet the server sends for
LOAD DATA LOCAL INFILE: the client then sends the file's bytes and an empty
packet. What the client sent back is kept in conn.infile_replies as
(filename, bytes); a refusal is an empty packet, b"". After the client's
packets the server answers OK with "Records: N" counting the lines received
(0 for a refusal), as a real server does.

Each Conn records: caps (the capability flags of the client's handshake
response; None if it sent none), user, queries (text), closed_early (the
client closed before authenticating), and ssl_request (the client asked to
start TLS, which this server never offers).
"""
import hashlib
import os
import socket
import struct
import threading

CLIENT_LONG_PASSWORD = 0x1
CLIENT_FOUND_ROWS = 0x2
CLIENT_LONG_FLAG = 0x4
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_LOCAL_FILES = 0x80
CLIENT_PROTOCOL_41 = 0x200
CLIENT_SSL = 0x800
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_MULTI_STATEMENTS = 0x10000
CLIENT_MULTI_RESULTS = 0x20000
CLIENT_PS_MULTI_RESULTS = 0x40000
CLIENT_PLUGIN_AUTH = 0x80000

SERVER_CAPS = (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |
               CLIENT_LOCAL_FILES | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION |
               CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH)

COM_QUIT, COM_INIT_DB, COM_QUERY, COM_PING = 0x01, 0x02, 0x03, 0x0E
COM_STMT_PREPARE, COM_STMT_CLOSE, COM_STMT_RESET = 0x16, 0x19, 0x1A


def lenenc(n):
    if n < 251:
        return bytes([n])
    if n < 1 << 16:
        return b"\xfc" + struct.pack("<H", n)
    if n < 1 << 24:
        return b"\xfd" + struct.pack("<I", n)[:3]
    return b"\xfe" + struct.pack("<Q", n)


def heroes_schema_answer(query):
    """(columns, rows) of information_schema for the heroes table, per query."""
    table = "heroes"
    if "information_schema.COLUMNS" in query:
        cols = ["COLUMN_NAME", "COLUMN_TYPE", "IS_NULLABLE", "COLUMN_DEFAULT", "EXTRA", "CHARACTER_SET_NAME",
                "COLLATION_NAME", "GENERATION_EXPRESSION", "TABLE_NAME"]
        rows = [["id", "int", "NO", None, "auto_increment", None, None, "", table]]
        for name in ("hero", "power", "name", "xp", "color"):
            if name == "xp":
                rows.append(["xp", "int", "NO", None, "", None, None, "", table])
            else:
                rows.append([name, "varchar(20)", "NO", None, "", "utf8mb4", "utf8mb4_bin", "", table])
        return cols, rows
    if "information_schema.STATISTICS" in query:
        return ["COLUMN_NAME", "SUB_PART", "TABLE_NAME"], [["id", None, table]]
    return ["A", "B", "C"], []  # no check constraints, no foreign keys


def native_password_token(password, scramble):
    if not password:
        return b""
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(scramble + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


class Conn:
    def __init__(self, number):
        self.number = number  # 1, 2, ... in order of arrival
        self.caps = None
        self.user = None
        self.auth_ok = None
        self.queries = []
        self.infile_replies = []
        self.closed_early = False
        self.ssl_request = False
        self.auth_replies = []  # with auth_switch: the client's packets after the switch

    @property
    def announced_local_files(self):
        return self.caps is not None and bool(self.caps & CLIENT_LOCAL_FILES)


class Closed(Exception):
    pass


class FakeMysql:
    def __init__(self, policy=None, password=None, prepare="error", auth_switch=None):
        """password: when set, the client's mysql_native_password token is
        checked against it (a wrong one gets an access-denied error).
        auth_switch: a hostile server: after the client's handshake it asks
        to switch authentication to "mysql_clear_password" (the password in
        plain text) or "caching_sha2_password" (then "perform full
        authentication", which over plain TCP makes a client ask the server
        for its RSA key, or send the password); every byte the client sends
        after the handshake response is kept in conn.auth_replies, and the
        connection ends.
        prepare: how COM_STMT_PREPARE is answered: "error" (not supported) or
        "kill" (connection killed, so the client reconnects).
        Queries of information_schema are answered (before the policy is
        asked) as MySQL would for a heroes table created by rowcache, so that
        a client's schema discovery at start succeeds."""
        self.policy = policy or (lambda conn, query: None)
        self.password = password
        self.prepare = prepare
        self.auth_switch = auth_switch
        self.connections = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(32)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stopping = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def _accept(self):
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                conn = Conn(len(self.connections) + 1)
                self.connections.append(conn)
            threading.Thread(target=self._serve, args=(s, conn), daemon=True).start()

    # --- packets
    @staticmethod
    def _recv_exact(s, n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise Closed()
            buf += chunk
        return buf

    def _read(self, s):
        head = self._recv_exact(s, 4)
        length = head[0] | head[1] << 8 | head[2] << 16
        return head[3], self._recv_exact(s, length)

    @staticmethod
    def _write(s, seq, payload):
        s.sendall(struct.pack("<I", len(payload))[:3] + bytes([seq & 0xFF]) + payload)

    def _result_set(self, s, columns, rows):
        """A text-protocol result set (no CLIENT_DEPRECATE_EOF: EOF packets)."""
        seq = 1
        self._write(s, seq, lenenc(len(columns)))
        for name in columns:
            seq += 1
            col = b"".join(lenenc(len(x)) + x for x in (b"def", b"information_schema", b"T", b"T",
                                                          name.encode(), name.encode()))
            col += lenenc(0x0C) + struct.pack("<HIBHB", 33, 1024, 0xFD, 0, 0) + b"\x00\x00"
            self._write(s, seq, col)
        seq += 1
        self._write(s, seq, b"\xfe\x00\x00\x02\x00")
        for row in rows:
            seq += 1
            self._write(s, seq, b"".join(b"\xfb" if v is None else lenenc(len(v.encode())) + v.encode()
                                         for v in row))
        seq += 1
        self._write(s, seq, b"\xfe\x00\x00\x02\x00")

    @staticmethod
    def _ok(affected=0, info=b""):
        # The info text as Connector/C reads it: length-encoded.
        return (b"\x00" + lenenc(affected) + lenenc(0) + struct.pack("<HH", 0x0002, 0) +
                (lenenc(len(info)) + info if info else b""))

    @staticmethod
    def _err(code, message, state=b"HY000"):
        return b"\xff" + struct.pack("<H", code) + b"#" + state + message.encode()

    def _hostile_auth(self, s, conn, seq, scramble):
        data = scramble + b"\x00" if self.auth_switch == "caching_sha2_password" else b""
        self._write(s, seq + 1, b"\xfe" + self.auth_switch.encode() + b"\x00" + data)
        seq, reply = self._read(s)
        conn.auth_replies.append(reply)
        if self.auth_switch == "caching_sha2_password":
            self._write(s, seq + 1, b"\x01\x04")  # perform full authentication
            seq, reply = self._read(s)
            conn.auth_replies.append(reply)
        self._write(s, seq + 1, self._err(1045, "Access denied (hostile fake)", b"28000"))

    # --- one connection
    def _serve(self, s, conn):
        try:
            self._session(s, conn)
        except (Closed, OSError):
            if conn.caps is None:
                conn.closed_early = True
        finally:
            try:
                s.close()
            except OSError:
                pass

    def _session(self, s, conn):
        scramble = os.urandom(20).replace(b"\x00", b"\x01")
        greeting = (b"\x0a" + b"8.0.36-rowcache-fake\x00" + struct.pack("<I", conn.number) + scramble[:8] + b"\x00" +
                    struct.pack("<H", SERVER_CAPS & 0xFFFF) + bytes([45]) + struct.pack("<H", 0x0002) +
                    struct.pack("<H", SERVER_CAPS >> 16) + bytes([21]) + b"\x00" * 10 + scramble[8:] + b"\x00" +
                    b"mysql_native_password\x00")
        self._write(s, 0, greeting)
        seq, resp = self._read(s)
        caps = struct.unpack("<I", resp[:4])[0]
        if len(resp) <= 32:  # an SSL request: the client wants TLS, which is not offered
            conn.ssl_request = True
            conn.caps = caps
            return
        conn.caps = caps
        pos = 32
        end = resp.index(b"\x00", pos)
        conn.user = resp[pos:end].decode(errors="replace")
        pos = end + 1
        if caps & CLIENT_SECURE_CONNECTION:
            n = resp[pos]
            token = resp[pos + 1:pos + 1 + n]
        else:
            end = resp.index(b"\x00", pos)
            token = resp[pos:end]
        if self.auth_switch:
            self._hostile_auth(s, conn, seq, scramble)
            return
        if self.password is not None and token != native_password_token(self.password, scramble):
            conn.auth_ok = False
            self._write(s, seq + 1, self._err(1045, f"Access denied for user '{conn.user}'", b"28000"))
            return
        conn.auth_ok = True
        self._write(s, seq + 1, self._ok())
        while True:
            seq, pkt = self._read(s)
            cmd, arg = pkt[0], pkt[1:]
            if cmd == COM_QUIT:
                return
            if cmd in (COM_STMT_CLOSE,):
                continue
            if cmd in (COM_PING, COM_INIT_DB, COM_STMT_RESET):
                self._write(s, 1, self._ok())
                continue
            if cmd == COM_STMT_PREPARE:
                conn.queries.append("PREPARE " + arg.decode(errors="replace"))
                if self.prepare == "kill":
                    self._write(s, 1, self._err(1927, "Connection was killed", b"70100"))
                    return
                self._write(s, 1, self._err(1295, "prepared statements are not supported by this fake"))
                continue
            if cmd != COM_QUERY:
                self._write(s, 1, self._err(1047, f"unknown command {cmd}"))
                continue
            query = arg.decode(errors="replace")
            conn.queries.append(query)
            if "information_schema" in query:
                self._result_set(s, *heroes_schema_answer(query))
                continue
            action = self.policy(conn, query) or ("ok", b"")
            if action[0] == "ok":
                self._write(s, 1, self._ok(info=action[1] if len(action) > 1 else b""))
            elif action[0] == "error":
                self._write(s, 1, self._err(action[1], action[2]))
            elif action[0] == "kill":
                self._write(s, 1, self._err(1927, "Connection was killed", b"70100"))
                return
            elif action[0] == "infile":
                filename = action[1]
                self._write(s, 1, b"\xfb" + filename.encode())
                data = b""
                nseq = 2
                while True:
                    seq, chunk = self._read(s)
                    nseq = seq + 1
                    if not chunk:
                        break
                    data += chunk
                conn.infile_replies.append((filename, data))
                # As a server does: OK, counting the lines (none for an empty reply).
                lines = data.count(b"\n")
                info = f"Records: {lines}  Deleted: 0  Skipped: 0  Warnings: 0".encode()
                self._write(s, nseq, self._ok(affected=lines, info=info))
            else:
                raise ValueError(f"bad policy action {action!r}")
