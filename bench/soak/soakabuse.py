#!/usr/bin/env python3
"""Abusive HTTP clients against the agent, for bench/soak/load's abuse phase (issue #20).

  soakabuse.py --port P --seconds S [--idle N] [--slow N] [--every SECONDS] --out FILE

Keeps N idle connections (connected, sending nothing) and N slowloris connections (one header
line every --every seconds, never finishing the request head) open for S seconds, reconnecting
any the agent closes, all to 127.0.0.1 only. Writes a JSON summary: connections opened, closed
by the agent, refused or timed out while connecting.
"""
import argparse
import json
import selectors
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--idle", type=int, default=600)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    sel = selectors.DefaultSelector()
    stats = {"opened": 0, "closed_by_agent": 0, "connect_errors": 0, "slow_lines_sent": 0}
    conns = {}  # socket -> kind

    def open_one(kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", a.port))
        except BlockingIOError:
            pass
        except OSError:
            stats["connect_errors"] += 1
            s.close()
            return
        conns[s] = kind
        sel.register(s, selectors.EVENT_READ)
        stats["opened"] += 1
        if kind == "slow":
            try:
                s.send(b"GET /metrics HTTP/1.1\r\n")
            except OSError:
                pass

    for _ in range(a.idle):
        open_one("idle")
    for _ in range(a.slow):
        open_one("slow")
    end = time.time() + a.seconds
    next_line = time.time() + a.every
    while time.time() < end:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if not data:  # the agent closed it: open another of the same kind
                kind = conns.pop(s)
                sel.unregister(s)
                s.close()
                stats["closed_by_agent"] += 1
                open_one(kind)
        if time.time() >= next_line:
            next_line += a.every
            for s, kind in list(conns.items()):
                if kind == "slow":
                    try:
                        s.send(b"X-Slow: 1\r\n")
                        stats["slow_lines_sent"] += 1
                    except OSError:
                        pass
    for s in conns:
        s.close()
    stats["open_at_end"] = len(conns)
    with open(a.out, "w") as f:
        json.dump(stats, f)


if __name__ == "__main__":
    main()
