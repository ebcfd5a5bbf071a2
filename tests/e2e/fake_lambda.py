"""A fake AWS Lambda Runtime API (2018-06-01) for tests: feeds events to a
runtime process and records what it posts back, checking the protocol.

    rt = FakeRuntime()                      # listening on rt.api ("127.0.0.1:PORT")
    rid = rt.invoke({"REQUEST": "read", ...}, deadline_ms=..., trace_id=...)
    kind, body, headers = rt.result(rid)    # kind: "response" | "error"
    rt.init_error                           # (headers, body) of POST /runtime/init/error

Protocol violations (unknown paths, a response for an unknown or already
answered request id, a body that is not JSON on /error) are collected in
rt.violations and answered as the real API does (4xx).

Also a fake Secrets Manager (POST / with X-Amz-Target secretsmanager.GetSecretValue)
that verifies the request's Signature V4 when rt.secrets is set:
    rt.secrets = {"arn:...": "secret string"}; rt.secret_creds = (access, secret, region)

FakeRuntime(tls=(certfile, keyfile)) also serves the same handler over HTTPS
(a server certificate, e.g. scripts/servers.sh's, for localhost and
127.0.0.1), as Secrets Manager is reached: rt.https_port, and
rt.secrets_https_url = "https://localhost:PORT" for ROWCACHE_SECRETS_ENDPOINT.
rt.secret_schemes[i] says how secret request i came: "https" or "http".
"""
import hashlib
import json
import queue
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fake_s3 import expected_authorization

PREFIX = "/2018-06-01/runtime"


class FakeRuntime:
    def __init__(self, tls=None):
        self.events = queue.Queue()
        self.results = {}          # request id -> (kind, body, headers)
        self.pending = set()       # ids handed out and not answered
        self.cond = threading.Condition()
        self.violations = []
        self.init_error = None
        self.next_calls = 0
        self.secrets = {}
        self.secret_creds = None
        self.secret_requests = []
        self.secret_schemes = []   # "https" or "http", one per secret request
        rt = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def _send(self, code, body=b"", headers=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    rt.violations.append(f"GET {self.path}")
                    return self._send(404, b'{"errorMessage": "not found"}')
                with rt.cond:
                    rt.next_calls += 1
                    rt.cond.notify_all()
                rid, event, headers = rt.events.get()
                if rid is None:  # shutdown
                    return self._send(500, b"shutting down")
                with rt.cond:
                    rt.pending.add(rid)
                h = {"Lambda-Runtime-Aws-Request-Id": rid,
                     "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:rowcache"}
                h.update(headers)
                self._send(200, event, h)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("X-Amz-Target") == "secretsmanager.GetSecretValue":
                    return self._secret(body)
                if self.path == PREFIX + "/init/error":
                    rt.init_error = (dict(self.headers), body)
                    with rt.cond:
                        rt.cond.notify_all()
                    return self._send(202, b'{"status": "OK"}')
                parts = self.path[len(PREFIX):].split("/") if self.path.startswith(PREFIX) else []
                # ["", "invocation", id, "response"|"error"]
                if len(parts) != 4 or parts[1] != "invocation" or parts[3] not in ("response", "error"):
                    rt.violations.append(f"POST {self.path}")
                    return self._send(404, b'{"errorMessage": "not found"}')
                rid, kind = parts[2], parts[3]
                with rt.cond:
                    if rid not in rt.pending:
                        rt.violations.append(f"{kind} for unknown or answered request {rid}")
                        return self._send(400, b'{"errorMessage": "invalid request id"}')
                    if kind == "error":
                        try:
                            doc = json.loads(body)
                            assert isinstance(doc.get("errorMessage"), str) and isinstance(doc.get("errorType"), str)
                        except Exception:
                            rt.violations.append(f"error body is not the documented JSON: {body[:100]!r}")
                    rt.pending.discard(rid)
                    rt.results[rid] = (kind, body, dict(self.headers))
                    rt.cond.notify_all()
                self._send(202, b'{"status": "OK"}')

            def _secret(self, body):
                headers = {k.lower(): v for k, v in self.headers.items()}
                scheme = "https" if isinstance(self.connection, ssl.SSLSocket) else "http"
                rt.secret_requests.append((headers, body))
                rt.secret_schemes.append(scheme)
                access, secret, region = rt.secret_creds
                try:
                    ok = (hashlib.sha256(body).hexdigest() == headers["x-amz-content-sha256"] and
                          headers["authorization"] == expected_authorization(
                              "POST", "/", headers, secret, access, region, service="secretsmanager"))
                except KeyError:
                    ok = False
                if not ok:
                    return self._send(400, json.dumps({"__type": "UnrecognizedClientException",
                                                       "message": "The security token included in the request is invalid."}).encode())
                sid = json.loads(body).get("SecretId")
                if sid not in rt.secrets:
                    return self._send(400, json.dumps({"__type": "ResourceNotFoundException",
                                                       "Message": "Secrets Manager can't find the specified secret."}).encode())
                self._send(200, json.dumps({"ARN": sid, "Name": "db", "SecretString": rt.secrets[sid]}).encode(),
                           {"Content-Type": "application/x-amz-json-1.1"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # Runtimes killed by the tests drop their connections; that is not news.
        self.server.handle_error = lambda request, client_address: None
        self.api = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.tls_server = None
        self.https_port = None
        self.secrets_https_url = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(tls[0], tls[1])
            self.tls_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self.tls_server.daemon_threads = True
            self.tls_server.handle_error = lambda request, client_address: None
            # The handshake runs in the request's thread, not in accept().
            self.tls_server.socket = ctx.wrap_socket(self.tls_server.socket, server_side=True,
                                                     do_handshake_on_connect=False)
            tls_server = self.tls_server

            def finish_handshake(request, client_address, _orig=tls_server.finish_request):
                request.do_handshake()
                _orig(request, client_address)

            tls_server.finish_request = finish_handshake
            self.https_port = tls_server.server_address[1]
            self.secrets_https_url = f"https://localhost:{self.https_port}"
            threading.Thread(target=tls_server.serve_forever, daemon=True).start()

    def invoke(self, event, deadline_ms=None, trace_id=None):
        rid = str(uuid.uuid4())
        data = event if isinstance(event, bytes) else json.dumps(event).encode()
        if deadline_ms is None:
            deadline_ms = int(time.time() * 1000) + 10_000
        headers = {"Lambda-Runtime-Deadline-Ms": str(deadline_ms)}
        if trace_id:
            headers["Lambda-Runtime-Trace-Id"] = trace_id
        self.events.put((rid, data, headers))
        return rid

    def result(self, rid, timeout=20):
        with self.cond:
            self.cond.wait_for(lambda: rid in self.results, timeout)
            return self.results.get(rid)

    def wait_init_error(self, timeout=20):
        with self.cond:
            self.cond.wait_for(lambda: self.init_error is not None, timeout)
            return self.init_error

    def wait_waiting(self, n, timeout=20):
        """Waits until the runtime has called invocation/next n times."""
        with self.cond:
            return self.cond.wait_for(lambda: self.next_calls >= n, timeout)

    def close(self):
        for _ in range(4):
            self.events.put((None, b"", {}))
        self.server.shutdown()
        if self.tls_server:
            self.tls_server.shutdown()
