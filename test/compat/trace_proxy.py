"""A recording reverse proxy for debugging the compatibility suite: with REGATE_COMPAT_TRACE=<file>, the
clients talk to regate through it and every exchange is appended to <file> as one JSON line (method, target,
headers, bodies cut at 2 KiB, status). Off by default; it buffers whole responses, so it is for reading
traffic, not for timing it."""
from __future__ import annotations

import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
CUT = 2048


def _text(body: bytes) -> str:
    return body[:CUT].decode("utf-8", errors="replace") + (f"... ({len(body)} bytes)" if len(body) > CUT else "")


def start_trace_proxy(upstream: str, log_path: str) -> tuple[str, ThreadingHTTPServer]:
    up = urlsplit(upstream)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet: the JSON log is the record
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            conn.request(self.command, self.path, body=body or None, headers=headers)
            res = conn.getresponse()
            data = res.read()
            conn.close()
            self.send_response(res.status, res.reason)
            for k, v in res.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            entry = {
                "method": self.command, "target": self.path, "req_headers": dict(self.headers.items()),
                "req_body": _text(body), "status": res.status, "resp_headers": dict(res.getheaders()),
                "resp_body": _text(data),
            }
            with lock, open(log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="trace-proxy", daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server
