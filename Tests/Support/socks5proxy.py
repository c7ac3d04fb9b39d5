#!/usr/bin/env python3
"""A small SOCKS5 proxy (RFC 1928, CONNECT only; RFC 1929 username/password) for phasewatch's
proxy tests. Stdlib only.

Usage:
  python3 socks5proxy.py --log FILE [--user NAME --password SECRET] [--host 127.0.0.1]

Binds HOST (default 127.0.0.1) port 0 and prints one JSON line {"socks": port}. Runs until stdin reaches EOF
(keep stdin a pipe from the parent) or SIGTERM. Every CONNECT appends one line to FILE:
  CONNECT <ipv4|ipv6|domain> <host> <port> user=<name or -> <ok|refused|failed>
so a test sees whether the client resolved the name itself (socks5://: an address) or left
it to the proxy (socks5h://: a domain). A wrong password appends "AUTH FAILED user=<name>".
"""
import argparse
import asyncio
import ipaddress
import json
import os
import signal
import socket
import struct
import sys


def log(path, line):
    with open(path, "a") as f:
        f.write(line + "\n")


def close(writer):
    try:
        writer.close()
    except Exception:
        pass


async def pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        close(writer)


async def handle(reader, writer, args):
    user = "-"
    try:
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        if version != 5:
            return
        wanted = 2 if args.user is not None else 0
        if wanted not in methods:
            writer.write(b"\x05\xff")
            await writer.drain()
            return
        writer.write(bytes([5, wanted]))
        await writer.drain()
        if wanted == 2:
            _, ulen = await reader.readexactly(2)
            user = (await reader.readexactly(ulen)).decode("utf-8", "replace")
            (plen,) = await reader.readexactly(1)
            password = (await reader.readexactly(plen)).decode("utf-8", "replace")
            ok = user == args.user and password == args.password
            # Logged before the client hears back, so the log is complete when its probe ends.
            if not ok:
                log(args.log, "AUTH FAILED user=%s" % user)
            writer.write(b"\x01\x00" if ok else b"\x01\x01")
            await writer.drain()
            if not ok:
                return
        _, cmd, _, atyp = await reader.readexactly(4)
        if atyp == 1:
            kind, host = "ipv4", str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif atyp == 4:
            kind, host = "ipv6", str(ipaddress.IPv6Address(await reader.readexactly(16)))
        elif atyp == 3:
            (length,) = await reader.readexactly(1)
            kind, host = "domain", (await reader.readexactly(length)).decode("idna")
        else:
            return
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        if cmd != 1:
            log(args.log, "CONNECT %s %s %d user=%s refused" % (kind, host, port, user))
            writer.write(b"\x05\x07\x00\x01" + b"\x00" * 6)  # command not supported
            await writer.drain()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
        except OSError:
            log(args.log, "CONNECT %s %s %d user=%s failed" % (kind, host, port, user))
            writer.write(b"\x05\x05\x00\x01" + b"\x00" * 6)  # connection refused
            await writer.drain()
            return
        log(args.log, "CONNECT %s %s %d user=%s ok" % (kind, host, port, user))
        bound = upstream_writer.get_extra_info("sockname")
        try:
            address = socket.inet_aton(bound[0])
            reply = b"\x05\x00\x00\x01" + address + struct.pack("!H", bound[1])
        except OSError:
            reply = b"\x05\x00\x00\x04" + socket.inet_pton(socket.AF_INET6, bound[0]) + struct.pack("!H", bound[1])
        writer.write(reply)
        await writer.drain()
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        close(writer)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), args.host, 0, backlog=128)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(json.dumps({"socks": port}) + "\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))

    def stdin_closed():
        if not stop.done():
            stop.set_result(None)

    # Exit when the parent's end of stdin closes (the test process ended or stopped us).
    loop.add_reader(sys.stdin.fileno(), lambda: os.read(sys.stdin.fileno(), 4096) or stdin_closed())
    await stop
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
