"""A TCP proxy for fault injection, run in a background thread of the test:
pass, delay (each chunk, each direction, order kept), blackhole (accept and
hold, forward nothing) or reset (drop every connection with RST).

    p = FaultProxy(upstream_port)      # listens on p.port
    p.set_mode("delay", ms=200); p.set_mode("pass"); p.close()
"""
import asyncio
import socket
import struct
import threading


class FaultProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.mode, self.delay = "pass", 0.0
        self.loop = asyncio.new_event_loop()
        self.writers = set()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait()

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    def set_mode(self, mode, ms=0):
        assert mode in ("pass", "delay", "blackhole", "reset")
        self.mode, self.delay = mode, ms / 1000.0
        if mode == "reset":
            self.loop.call_soon_threadsafe(self._reset_all)

    def _reset_all(self):
        for w in list(self.writers):
            self._rst(w)

    @staticmethod
    def _rst(writer):
        sock = writer.get_extra_info("socket")
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        writer.transport.abort()

    async def _pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                while self.mode == "blackhole":
                    await asyncio.sleep(0.01)
                if self.mode == "delay" and self.delay > 0:
                    await asyncio.sleep(self.delay)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def _client(self, creader, cwriter):
        if self.mode == "reset":
            self._rst(cwriter)
            return
        try:
            ureader, uwriter = await asyncio.open_connection(*self.upstream)
        except OSError:
            self._rst(cwriter)
            return
        self.writers.update({cwriter, uwriter})
        await asyncio.gather(self._pipe(creader, uwriter), self._pipe(ureader, cwriter))
        self.writers.discard(cwriter)
        self.writers.discard(uwriter)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
