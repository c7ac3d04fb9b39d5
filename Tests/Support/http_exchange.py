#!/usr/bin/env python3
"""Sends HTTP/1.1 requests one after another on ONE keep-alive connection (stdlib only).

Usage: http_exchange.py HOST PORT OUTDIR [--cafile CA.pem --server-name NAME] < requests.json

requests.json: [{"method": "GET", "path": "/metrics", "headers": {"Accept-Encoding": "gzip"}}, ...]

Each body is saved as received (chunked framing undone, content coding NOT undone) in
OUTDIR/N.body; a body with Content-Encoding: gzip is also gunzipped by Python's gzip module
into OUTDIR/N.gunzip. Prints one JSON list: per response its status, headers (name, value
pairs in order), whether it came chunked, its body's size and first two bytes, and the
gunzip error when there was one. A body sent after a HEAD, or a wrong Content-Length, shows
as the next response failing to parse: the script then exits 1 with the error.
"""
import gzip
import http.client
import json
import os
import socket
import ssl
import sys


class PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to HOST with the certificate checked for NAME (curl's --resolve)."""

    def __init__(self, host, port, name, context):
        super().__init__(name, port, context=context, timeout=30)
        self.address = host

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def main():
    host, port, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rest = sys.argv[4:]
    requests = json.load(sys.stdin)
    if "--cafile" in rest:
        context = ssl.create_default_context(cafile=rest[rest.index("--cafile") + 1])
        conn = PinnedHTTPS(host, port, rest[rest.index("--server-name") + 1], context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=30)
    os.makedirs(outdir, exist_ok=True)
    results = []
    for n, request in enumerate(requests):
        # skip_accept_encoding: http.client would otherwise send "Accept-Encoding: identity".
        conn.putrequest(request["method"], request["path"], skip_accept_encoding=True)
        for name, value in request.get("headers", {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            response = conn.getresponse()
            body = response.read()
        except Exception as error:  # noqa: BLE001 - reported to the test as it is
            print(json.dumps({"error": f"request {n} ({request['method']} {request['path']}): {error!r}"}))
            sys.exit(1)
        path = os.path.join(outdir, f"{n}.body")
        with open(path, "wb") as f:
            f.write(body)
        result = {
            "status": response.status,
            "headers": [[k, v] for k, v in response.getheaders()],
            "chunked": bool(response.chunked),
            "size": len(body),
            "magic": body[:2].hex(),
        }
        if (response.getheader("Content-Encoding") or "").lower() == "gzip":
            try:
                with open(os.path.join(outdir, f"{n}.gunzip"), "wb") as f:
                    f.write(gzip.decompress(body))
            except Exception as error:  # noqa: BLE001
                result["gunzip_error"] = repr(error)
        results.append(result)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
