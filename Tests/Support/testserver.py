#!/usr/bin/env python3
"""Fault-injecting HTTP/HTTPS test server for phasewatch tests (stdlib only).

Usage:
  python3 testserver.py --listen NAME=KIND[,opt=val...] [--listen ...]

Every listener binds 127.0.0.1 port 0 (http and https listeners: host=ADDR and
port=N choose another loopback address, IPv4 or IPv6, and a fixed port, so
several addresses can serve one port). After all listeners are up, exactly one
JSON line {"NAME": port, ...} is printed to stdout. The server runs until
SIGTERM/SIGINT or until stdin reaches EOF (keep stdin a pipe from the parent!).

KINDs:
  http       plain HTTP/1.1
  https      TLS + HTTP/1.1; opts: cert=PATH key=PATH (required),
             client_ca=PATH (optional client cert, verified against it),
             client_cert=required (with client_ca: a handshake without a
             trusted client cert fails; under TLS 1.3 the client learns it
             from an alert after its side of the handshake is done),
             tls_delay=SECONDS (sleep after TCP accept, before the handshake)
  blackhole  accept TCP, never send anything, hold until the client closes
  backlog    listen(0) with an already-full accept queue: connect() times out

HTTP (http/https listeners; one request per connection, always
"Connection: close"). Query params on any path:
  status=N  body=TEXT  size=N (N bytes of 'x')  header=Name:Value (repeatable)
  location=URL  processing=SECONDS (before anything is sent)
  transfer=SECONDS (headers sent+drained, sleep, then body)
Special paths:
  /redirect/N (302 -> /redirect/N-1?same-query; /redirect/0 = normal)
  /loop (302 -> /loop?same-query)   /echo (JSON: method, path, query (dict),
  raw_query, headers (lower-cased), body)   /client-cert (CN or "none")
  /reset (partial response then TCP RST)   /empty (close, nothing sent)
  /garbage ("THIS IS NOT HTTP")   /hang (never answers)
  /endless (chunked 64 KiB chunks forever)
  /trickle (slowloris: status line and headers sent one byte every
            every=SECONDS (default 1), then the body)
  /big (size=N bytes of 'x', default 1 GiB, with Content-Length, streamed
        as fast as the client reads, never held in memory)
  /drip (chunked body, one 1 KiB chunk every every=SECONDS (default 0.25),
         forever)
  /manyheaders (count=N headers "X-Filler-i: v", default 100000, then ok)
  /bigheader (one header name=NAME (default X-Big) of size=N bytes of 'x',
              default 1 MiB; status=N as usual, e.g. 302 with name=Location)
"""
import argparse
import asyncio
import json
import logging
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import urllib.parse
from http import HTTPStatus

LISTEN_BACKLOG = 1024
CHUNK = 64 * 1024
MAX_LINE = 64 * 1024


def die(msg):
    sys.stderr.write("testserver: %s\n" % msg)
    sys.stderr.flush()
    os._exit(2)


def reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def parse_listen(spec):
    if "=" not in spec:
        die("bad --listen %r (want NAME=KIND[,opt=val...])" % spec)
    name, rest = spec.split("=", 1)
    parts = rest.split(",")
    kind = parts[0].strip()
    opts = {}
    for p in parts[1:]:
        if not p:
            continue
        if "=" not in p:
            die("bad option %r in --listen %r" % (p, spec))
        k, v = p.split("=", 1)
        opts[k.strip()] = v
    if kind not in ("http", "https", "blackhole", "backlog"):
        die("unknown kind %r in --listen %r" % (kind, spec))
    if not name:
        die("empty name in --listen %r" % spec)
    return name, kind, opts


class TLSConfig:
    """Server SSLContext; rebuilt if cert/key files change on disk."""

    def __init__(self, cert, key, client_ca, required=False):
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self.required = required
        self.stamp = None
        self.ctx = None
        self._reload(initial=True)

    def _stat(self):
        try:
            return tuple((os.stat(p).st_mtime_ns, os.stat(p).st_size, os.stat(p).st_ino)
                         for p in (self.cert, self.key))
        except OSError:
            return None

    def _reload(self, initial=False):
        stamp = self._stat()
        try:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.cert, self.key)
            ctx.set_alpn_protocols(["http/1.1"])
            if self.client_ca:
                ctx.load_verify_locations(cafile=self.client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED if self.required else ssl.CERT_OPTIONAL
            else:
                ctx.verify_mode = ssl.CERT_NONE
        except Exception as e:
            if initial:
                die("cannot load TLS material (cert=%s key=%s client_ca=%s): %s"
                    % (self.cert, self.key, self.client_ca, e))
            return  # keep the old context (e.g. file mid-replacement)
        self.ctx = ctx
        self.stamp = stamp

    def context(self):
        stamp = self._stat()
        if stamp is not None and stamp != self.stamp:
            self._reload()
        return self.ctx


class Request:
    def __init__(self):
        self.method = ""
        self.target = ""
        self.path = ""
        self.raw_query = ""
        self.params = []
        self.headers = []  # (name, value) as received
        self.body = b""

    def get(self, name, default=None):
        for k, v in reversed(self.params):
            if k == name:
                return v
        return default

    def getall(self, name):
        return [v for k, v in self.params if k == name]

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


class Conn:
    def __init__(self, reader, writer, sock, transport):
        self.reader = reader
        self.writer = writer
        self.sock = sock
        self.transport = transport

    async def read_request(self):
        # A TLS ClientHello on a plain port: answer like nginx does (400 in clear text) instead
        # of waiting for a request line that never comes.
        first = await self.reader.read(1)
        if first == b"\x16":
            self.writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await self.writer.drain()
            return None
        line = first + await self.reader.readline() if first else b""
        if not line:
            return None
        line = line.decode("latin-1").rstrip("\r\n")
        parts = line.split(" ")
        if len(parts) < 2:
            return None
        req = Request()
        req.method = parts[0]
        req.target = parts[1]
        u = urllib.parse.urlsplit(req.target)
        req.path = u.path or "/"
        req.raw_query = u.query
        req.params = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
        while True:
            h = await self.reader.readline()
            if not h:
                return None
            h = h.decode("latin-1").rstrip("\r\n")
            if h == "":
                break
            if ":" in h:
                k, v = h.split(":", 1)
                req.headers.append((k.strip(), v.strip()))
        if (req.header("expect") or "").lower() == "100-continue":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await self.writer.drain()
        te = (req.header("transfer-encoding") or "").lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                szline = await self.reader.readline()
                if not szline:
                    return None
                sz = int(szline.split(b";")[0].strip() or b"0", 16)
                if sz == 0:
                    # trailers
                    while True:
                        t = await self.reader.readline()
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    break
                body += await self.reader.readexactly(sz)
                await self.reader.readline()
            req.body = bytes(body)
        else:
            cl = req.header("content-length")
            if cl:
                n = int(cl)
                if n > 0:
                    req.body = await self.reader.readexactly(n)
        return req

    def lost(self):
        return bool(getattr(self.writer._protocol, "_connection_lost", False))

    async def wait_client_close(self):
        try:
            while True:
                data = await self.reader.read(CHUNK)
                if not data:
                    break
        except Exception:
            pass

    def rst_close(self):
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.transport.abort()


def client_cn(transport):
    try:
        cert = transport.get_extra_info("peercert")
    except Exception:
        cert = None
    if not cert:
        return "none"
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return "none"


async def send_response(conn, req, status, headers, body, transfer=0.0):
    w = conn.writer
    no_body = status in (204, 304) or 100 <= status < 200
    head = ["HTTP/1.1 %d %s" % (status, reason(status))]
    names = {k.lower() for k, _ in headers}
    if "content-type" not in names:
        headers = [("Content-Type", "text/plain")] + headers
    if not no_body:
        headers = headers + [("Content-Length", str(len(body)))]
    headers = headers + [("Connection", "close")]
    for k, v in headers:
        head.append("%s: %s" % (k, v))
    w.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    if req.method == "HEAD" or no_body:
        await w.drain()
        return
    if transfer > 0:
        await w.drain()
        await asyncio.sleep(transfer)
    mv = memoryview(body)
    for i in range(0, len(mv), CHUNK):
        w.write(mv[i:i + CHUNK])
        await w.drain()
        if len(mv) > CHUNK:
            await asyncio.sleep(0)
            if conn.lost():
                raise ConnectionResetError("client went away")
    await w.drain()


def fnum(v, default=0.0):
    if v is None or v == "":
        return default
    return float(v)


async def handle_http(conn):
    req = await conn.read_request()
    if req is None:
        return
    processing = fnum(req.get("processing"))
    transfer = fnum(req.get("transfer"))
    path = req.path

    if path == "/hang":
        await conn.wait_client_close()
        return

    if processing > 0:
        await asyncio.sleep(processing)

    w = conn.writer
    if path == "/empty":
        return
    if path == "/garbage":
        w.write(b"THIS IS NOT HTTP\r\n\r\n")
        await w.drain()
        return
    if path == "/reset":
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 100)
        await w.drain()
        conn.rst_close()
        return
    if path == "/endless":
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        await w.drain()
        if transfer > 0:
            await asyncio.sleep(transfer)
        chunk = ("%x\r\n" % CHUNK).encode() + b"x" * CHUNK + b"\r\n"
        while True:
            w.write(chunk)
            await w.drain()
            # drain() does not yield when the transport is not paused; after
            # the peer vanished an SSL transport keeps accepting writes, so
            # yield explicitly or connection_lost (and signals) never run.
            await asyncio.sleep(0)
            if w.transport.is_closing() or conn.lost():
                return

    if path == "/trickle":
        every = fnum(req.get("every"), 1.0)
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                b"Connection: close\r\n\r\n")
        for i in range(len(head)):
            w.write(head[i:i + 1])
            await w.drain()
            await asyncio.sleep(every)
            if w.transport.is_closing() or conn.lost():
                return
        w.write(b"ok")
        await w.drain()
        return
    if path == "/big":
        size = int(req.get("size") or (1 << 30))
        w.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 "Content-Length: %d\r\nConnection: close\r\n\r\n" % size).encode())
        await w.drain()
        if transfer > 0:
            await asyncio.sleep(transfer)
        chunk = memoryview(b"x" * CHUNK)
        left = size
        while left > 0:
            n = min(left, CHUNK)
            w.write(chunk[:n])
            left -= n
            await w.drain()
            await asyncio.sleep(0)  # see /endless
            if w.transport.is_closing() or conn.lost():
                return
        return
    if path == "/drip":
        every = fnum(req.get("every"), 0.25)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        await w.drain()
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        while True:
            w.write(chunk)
            await w.drain()
            await asyncio.sleep(every)
            if w.transport.is_closing() or conn.lost():
                return

    if path == "/manyheaders":
        count = int(req.get("count") or 100000)
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
        for i in range(count):
            w.write(b"X-Filler-%d: v\r\n" % i)
            if i % 1000 == 999:
                await w.drain()
                if w.transport.is_closing() or conn.lost():
                    return
        w.write(b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
        await w.drain()
        return
    if path == "/bigheader":
        status = int(req.get("status", "200") or 200)
        name = req.get("name") or "X-Big"
        size = int(req.get("size") or (1 << 20))
        w.write(("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n%s: " % (status, reason(status), name)).encode("latin-1"))
        chunk = b"x" * CHUNK
        left = size
        while left > 0:
            w.write(chunk[:min(left, CHUNK)])
            left -= CHUNK
            await w.drain()
            if w.transport.is_closing() or conn.lost():
                return
        w.write(b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await w.drain()
        return

    status = int(req.get("status", "200") or 200)
    if "size" in {k for k, _ in req.params}:
        body = b"x" * int(req.get("size") or 0)
    else:
        body = req.get("body", "ok").encode("utf-8")
    headers = []
    for hv in req.getall("header"):
        if ":" in hv:
            k, v = hv.split(":", 1)
            headers.append((k.strip(), v.strip()))
    loc = req.get("location")
    qs = ("?" + req.raw_query) if req.raw_query else ""

    if path.startswith("/redirect/"):
        try:
            n = int(path[len("/redirect/"):])
        except ValueError:
            n = 0
        if n > 0:
            status = 302
            loc = "/redirect/%d%s" % (n - 1, qs)
    elif path == "/loop":
        status = 302
        loc = "/loop" + qs
    elif path == "/echo":
        status = 200
        hdrs = {}
        for k, v in req.headers:
            lk = k.lower()
            hdrs[lk] = (hdrs[lk] + ", " + v) if lk in hdrs else v
        body = json.dumps({
            "method": req.method,
            "path": req.path,
            "query": {k: v for k, v in req.params},
            "raw_query": req.raw_query,
            "headers": hdrs,
            "body": req.body.decode("utf-8", errors="replace"),
        }).encode("utf-8")
        headers = [("Content-Type", "application/json")] + \
                  [h for h in headers if h[0].lower() != "content-type"]
    elif path == "/client-cert":
        status = 200
        body = client_cn(conn.transport).encode("utf-8")

    if loc is not None:
        headers.append(("Location", loc))
    await send_response(conn, req, status, headers, body, transfer)


async def handle_blackhole(conn):
    await conn.wait_client_close()


def serve_strict_tls(sock, ctx):
    """client_cert=required: the handshake on a blocking socket, so OpenSSL writes its alert
    to the client when it rejects the certificate (asyncio's SSL transport drops the alert and
    resets the connection). On success, one "ok" response."""
    sock.setblocking(True)
    sock.settimeout(10)
    conn = ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
    try:
        conn.do_handshake()
    except (ssl.SSLError, OSError):
        # The alert is out. Close without a reset, which could discard it before the client
        # reads it: stop sending, then read what the client sent until it hangs up.
        try:
            conn.shutdown(socket.SHUT_WR)
            while conn.recv(CHUNK):
                pass
        except OSError:
            pass
        conn.close()
        return
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            more = conn.recv(CHUNK)
            if not more:
                break
            data += more
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                     b"Connection: close\r\n\r\nok")
    except OSError:
        pass
    finally:
        conn.close()


async def serve_conn(loop, sock, kind, tls, opts):
    if kind == "https" and tls.required:
        await loop.run_in_executor(None, serve_strict_tls, sock, tls.context())
        return
    transport = None
    failed = False
    try:
        sock.setblocking(False)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        ctx = None
        if kind == "https":
            delay = fnum(opts.get("tls_delay"))
            if delay > 0:
                # Socket not yet registered with the loop: the ClientHello
                # just sits in the kernel buffer, unanswered.
                await asyncio.sleep(delay)
            ctx = tls.context()
        reader = asyncio.StreamReader(limit=MAX_LINE)
        protocol = asyncio.StreamReaderProtocol(reader)
        if ctx is not None:
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, sock, ssl=ctx, ssl_handshake_timeout=60)
        else:
            transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        conn = Conn(reader, writer, sock, transport)
        if kind == "blackhole":
            await handle_blackhole(conn)
        else:
            await handle_http(conn)
    except (Exception, asyncio.CancelledError):
        failed = True
    finally:
        try:
            if transport is not None:
                if failed:
                    # Connection already broken: abort. (A graceful close of
                    # an SSL transport whose peer reset can busy-loop in
                    # Python 3.11's sslproto.)
                    transport.abort()
                elif not transport.is_closing():
                    transport.close()
            else:
                sock.close()
        except Exception:
            pass


async def accept_loop(loop, lsock, kind, tls, opts, tasks):
    while True:
        try:
            conn, _ = await loop.sock_accept(lsock)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            await asyncio.sleep(0.01)  # e.g. EMFILE; don't spin
            continue
        t = loop.create_task(serve_conn(loop, conn, kind, tls, opts))
        tasks.add(t)
        t.add_done_callback(tasks.discard)


def make_backlog_listener():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except (BlockingIOError, InterruptedError):
            pass
        fillers.append(c)
    return ls, port, fillers


def main():
    ap = argparse.ArgumentParser(description="phasewatch fault-injecting test server")
    ap.add_argument("--listen", action="append", default=[], metavar="NAME=KIND[,opt=val...]")
    args = ap.parse_args()
    if not args.listen:
        die("at least one --listen is required")

    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_exception_handler(lambda l, c: None)

    keep = []  # keep sockets alive
    tasks = set()
    ports = {}
    for spec in args.listen:
        name, kind, opts = parse_listen(spec)
        if name in ports:
            die("duplicate listener name %r" % name)
        if kind == "backlog":
            ls, port, fillers = make_backlog_listener()
            keep.append(ls)
            keep.extend(fillers)
            ports[name] = port
            continue
        tls = None
        if kind == "https":
            if not opts.get("cert") or not opts.get("key"):
                die("https listener %r needs cert=PATH and key=PATH" % name)
            tls = TLSConfig(opts["cert"], opts["key"], opts.get("client_ca"),
                            opts.get("client_cert") == "required")
        host = opts.get("host", "127.0.0.1")
        ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            ls.bind((host, int(opts.get("port", "0"))))
        except OSError as e:
            die("listener %r cannot bind %s port %s: %s" % (name, host, opts.get("port", "0"), e))
        ls.listen(LISTEN_BACKLOG)
        ls.setblocking(False)
        keep.append(ls)
        ports[name] = ls.getsockname()[1]
        t = loop.create_task(accept_loop(loop, ls, kind, tls, opts, tasks))
        tasks.add(t)

    def stop(*_):
        try:
            sys.stdout.flush()
        except Exception:
            pass
        os._exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)

    def watch_stdin():
        try:
            fd = sys.stdin.fileno()
            while True:
                if not os.read(fd, 4096):
                    break
        except Exception:
            pass
        loop.call_soon_threadsafe(stop)

    # Give backlog fillers a moment to complete their handshakes.
    if any(parse_listen(s)[1] == "backlog" for s in args.listen):
        loop.run_until_complete(asyncio.sleep(0.05))

    sys.stdout.write(json.dumps(ports) + "\n")
    sys.stdout.flush()

    threading.Thread(target=watch_stdin, daemon=True).start()
    try:
        loop.run_forever()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
