#!/usr/bin/env python3
"""Run nginx as an HTTPS + HTTP/2 server on 127.0.0.1 for ALPN and connection tests.

Usage: python3 h2server.py --cert PATH --key PATH [--keepalive-timeout SECONDS]
                           [--session-tickets on|off] [--session-cache on|off]

Prints one JSON line {"h2": PORT, "https": PORT, "http": PORT} once nginx accepts
connections, then waits: "h2" is HTTP/2 over TLS, "https" HTTP/1.1 over TLS, "http" plain
HTTP/1.1. --keepalive-timeout closes idle connections after that long (HTTP/2: a GOAWAY);
--session-tickets and --session-cache let TLS sessions be resumed by ticket or by id.
On SIGTERM/SIGINT or stdin EOF it stops nginx, removes its temp dir, exits 0.
Routes: "/" -> 200 "h2 ok"; "/redirect" -> 302 to "/"; "/close" -> 200 with "Connection: close".
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;

events {{
    worker_connections 1024;
}}

http {{
    access_log off;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type text/plain;
    keepalive_timeout {keepalive};
    http2_idle_timeout {keepalive};
    ssl_session_tickets {tickets};
    ssl_session_cache {cache};

    server {{
        listen 127.0.0.1:{port} ssl http2;
        listen 127.0.0.1:{https_port} ssl;
        listen 127.0.0.1:{http_port};
        server_name localhost;
        absolute_redirect off;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;

        location = /redirect {{
            return 302 /;
        }}
        location = /close {{
            keepalive_timeout 0;
            return 200 "closing";
        }}
        location / {{
            return 200 "h2 ok";
        }}
    }}
}}
"""


def find_nginx():
    if os.access("/usr/sbin/nginx", os.X_OK):
        return "/usr/sbin/nginx"
    p = shutil.which("nginx")
    if p:
        return p
    sys.stderr.write("h2server: nginx not found\n")
    sys.exit(2)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--keepalive-timeout", default="65s")
    ap.add_argument("--session-tickets", choices=["on", "off"], default="on")
    ap.add_argument("--session-cache", choices=["on", "off"], default="off")
    args = ap.parse_args()
    cert = os.path.abspath(args.cert)
    key = os.path.abspath(args.key)
    for p in (cert, key):
        if not os.path.isfile(p):
            sys.stderr.write("h2server: no such file: %s\n" % p)
            sys.exit(2)
    nginx = find_nginx()

    tmp = tempfile.mkdtemp(prefix="pw-h2-")
    # Make the dir usable if nginx drops privileges (running as root).
    os.chmod(tmp, 0o755)
    port, https_port, http_port = free_port(), free_port(), free_port()
    conf = os.path.join(tmp, "nginx.conf")
    cache = "shared:pw:1m" if args.session_cache == "on" else "off"
    with open(conf, "w") as f:
        f.write(CONF.format(
            tmp=tmp, port=port, https_port=https_port, http_port=http_port, cert=cert, key=key,
            keepalive=args.keepalive_timeout, tickets=args.session_tickets, cache=cache))

    proc = None
    done = threading.Event()
    lock = threading.RLock()

    def cleanup_and_exit(code=0):
        try:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:
            pass  # not in main thread
        with lock:
            if proc is not None and proc.poll() is None:
                try:
                    proc.terminate()
                    try:
                        proc.wait(timeout=3)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                except Exception:
                    pass
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                sys.stdout.flush()
            except Exception:
                pass
            os._exit(code)

    def on_signal(signum, frame):
        cleanup_and_exit(0)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        proc = subprocess.Popen(
            [nginx, "-p", tmp + "/", "-c", conf, "-e", os.path.join(tmp, "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(tmp, "stderr.log"), "wb"))
    except Exception as e:
        sys.stderr.write("h2server: cannot start nginx: %s\n" % e)
        cleanup_and_exit(2)

    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            err = ""
            for name in ("stderr.log", "error.log"):
                try:
                    with open(os.path.join(tmp, name), errors="replace") as f:
                        err += f.read()
                except OSError:
                    pass
            sys.stderr.write("h2server: nginx exited (%s): %s\n" % (proc.returncode, err))
            cleanup_and_exit(2)
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            c.close()
            break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.stderr.write("h2server: nginx did not start listening on %d\n" % port)
            cleanup_and_exit(2)
        time.sleep(0.02)

    sys.stdout.write(json.dumps({"h2": port, "https": https_port, "http": http_port}) + "\n")
    sys.stdout.flush()

    def watch_stdin():
        try:
            fd = sys.stdin.fileno()
            while os.read(fd, 4096):
                pass
        except Exception:
            pass
        done.set()

    nginx_died = []

    def watch_nginx():
        proc.wait()
        nginx_died.append(proc.returncode)
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    threading.Thread(target=watch_nginx, daemon=True).start()
    while not done.wait(0.5):
        pass
    if nginx_died:
        sys.stderr.write("h2server: nginx exited unexpectedly (%s)\n" % nginx_died[0])
        cleanup_and_exit(1)
    cleanup_and_exit(0)


if __name__ == "__main__":
    main()
