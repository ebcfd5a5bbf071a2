"""A small S3-compatible server for tests that, unlike s3rver, VERIFIES
Signature V4 (an independent implementation of the algorithm) and can fail on
purpose. Path-style GET /bucket/key only.

    srv = FakeS3(access_key, secret_key, region); srv.objects[("bucket", "key")] = b"..."
    srv.cut_after = 1000  # close the connection after 1000 bytes of the next object
    FakeS3(..., tls=(cert_file, key_file))  # HTTPS instead of HTTP
"""
import hashlib
import hmac
import ssl
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def expected_authorization(method, path, headers, secret, access, region, service="s3"):
    auth = headers["authorization"]
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    date = headers["x-amz-date"]
    canonical_headers = "".join(f"{h}:{headers[h].strip()}\n" for h in signed)
    canonical = "\n".join([method, path, "", canonical_headers, ";".join(signed), headers["x-amz-content-sha256"]])
    scope = f"{date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date[:8]), region), service), "aws4_request")
    sig = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access}/{scope},SignedHeaders={';'.join(signed)},Signature={sig}"


class FakeS3:
    def __init__(self, access, secret, region="us-east-1", token="", tls=None):
        self.access, self.secret, self.region, self.token = access, secret, region, token
        self.objects, self.requests, self.cut_after = {}, [], None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def error(self, code, s3code):
                body = f"<?xml version=\"1.0\"?><Error><Code>{s3code}</Code></Error>".encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                headers = {k.lower(): v for k, v in self.headers.items()}
                outer.requests.append(headers)
                try:
                    want = expected_authorization("GET", self.path, headers, outer.secret, outer.access, outer.region)
                except (KeyError, IndexError):
                    return self.error(403, "AccessDenied")
                if headers.get("authorization") != want:
                    return self.error(403, "SignatureDoesNotMatch")
                if outer.token and headers.get("x-amz-security-token") != outer.token:
                    return self.error(403, "InvalidToken")
                parts = urllib.parse.unquote(self.path).lstrip("/").split("/", 1)
                if len(parts) != 2 or not any(b == parts[0] for b, _ in outer.objects):
                    return self.error(404, "NoSuchBucket")
                data = outer.objects.get((parts[0], parts[1]))
                if data is None:
                    return self.error(404, "NoSuchKey")
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if outer.cut_after is not None:
                    self.wfile.write(data[:outer.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                for i in range(0, len(data), 65536):
                    self.wfile.write(data[i:i + 65536])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
