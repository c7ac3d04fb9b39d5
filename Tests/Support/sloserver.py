#!/usr/bin/env python3
"""An HTTP server with a known pattern of failures and delays, for the SLO end-to-end test.

Request i (0-based, in arrival order) to any path but /served waits `delay(i)` seconds, then
answers 503 when i % 5 == 4 and 200 otherwise:  delay(i) = 0.030 for even i, 0.090 for odd i.
GET /served returns what was served so far: [{"status": 200, "delay": 0.03}, ...] (not counted).

Binds 127.0.0.1 port 0, prints {"http": PORT} on one line, and exits when stdin reaches EOF.
With --cert PEM --key PEM it speaks HTTPS instead (and prints {"https": PORT}).
"""
import argparse
import ssl
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
served = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/served":
            with lock:
                body = json.dumps(served).encode()
            return self.reply(200, body)
        with lock:
            i = len(served)
            status = 503 if i % 5 == 4 else 200
            delay = 0.030 if i % 2 == 0 else 0.090
            served.append({"status": status, "delay": delay})
        time.sleep(delay)
        self.reply(status, b"ok" if status == 200 else b"unavailable")

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    # Spawned from a thread that may block signals; let SIGTERM/SIGINT through again.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    scheme = "http"
    if args.cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.cert, args.key)
        # Handshake in the handler thread, not in accept(): a slow client must not stall others.
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({scheme: server.server_address[1]}), flush=True)
    sys.stdin.read()  # until the test process goes away
    server.shutdown()


if __name__ == "__main__":
    main()
