#!/usr/bin/env python3
"""An HTTP server that records every request, for tests that must prove what a client sent
(SecretsTests: the credentials reached the server, and nowhere else).

Any path but /recorded answers `?status=N` (default 200) with the body "ok" and records
{"method", "path", "headers": {lower-cased name: value}, "body": base64 of the body,
"time": Unix seconds it arrived}.
With `?fail_first=K` only the first K requests to that path answer `status`, later ones 204
(a receiver that comes back). With `?pattern=P` (P of "s" and "f") request n of that path answers
`status` when the n-th letter is "f" and 204 when it is "s" or P has ended (a target that fails
for a while and recovers). GET /recorded returns the list of recorded requests as JSON (and
is not recorded itself).

Binds 127.0.0.1 port 0, prints {"http": PORT} on one line, and exits when stdin reaches EOF.
"""
import base64
import json
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
recorded = []
seen = {}  # path → requests so far, for fail_first


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/recorded":
            with lock:
                body = json.dumps(recorded).encode()
            return self.reply(200, body, "application/json")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            recorded.append({
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body": base64.b64encode(body).decode(),
                "time": time.time(),
            })
            seen[self.path] = seen.get(self.path, 0) + 1
            count = seen[self.path]
        query = dict(urllib.parse.parse_qsl(url.query))
        status = int(query.get("status", "200"))
        if "fail_first" in query and count > int(query["fail_first"]):
            status = 204
        pattern = query.get("pattern")
        if pattern is not None and (count > len(pattern) or pattern[count - 1] != "f"):
            status = 204
        self.reply(status, b"ok" if status != 204 else b"", "text/plain")

    do_GET = do_POST = do_HEAD = do_PUT = handle_any

    def reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    # Spawned from a thread that may block signals; let SIGTERM/SIGINT through again.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"http": server.server_address[1]}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    server.shutdown()


if __name__ == "__main__":
    main()
