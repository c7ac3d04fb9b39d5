# shellcheck shell=bash
# Local test servers for the benchmarks, to be sourced (not run): a throwaway CA and server
# certificate, and one nginx with an HTTP and an HTTPS+h2 listener on 127.0.0.1 returning
# 200 "ok\n". The same setup as bench/probe_cpu (which still has its own copy inline; it can
# source this file instead).
#
#   . bench/vs_blackbox/local_servers.sh
#   ls_need_nginx || exit 1            # installs nginx-light when root, else explains
#   ls_make_certs DIR                  # DIR/ca.pem, DIR/server.pem, DIR/server.key
#   read -r P1 P2 < <(ls_free_ports 2) # free 127.0.0.1 TCP ports
#   ls_start_nginx DIR HTTP_PORT HTTPS_PORT   # sets LS_NGINX_PID; config/logs under DIR/nginx
#   ls_stop_nginx
#
# Everything listens on 127.0.0.1 only.

LS_NGINX_PID=""

ls_log() { echo "${LS_NAME:-bench}: $*" >&2; }

# nginx on PATH or in /usr/sbin; installs nginx-light with apt-get when running as root.
ls_need_nginx() {
    if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
        if [ "$(id -u)" = 0 ]; then
            ls_log "nginx not found; installing nginx-light"
            DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null ||
                { ls_log "apt-get install nginx-light failed"; return 1; }
        else
            ls_log "nginx not found. Install it first: sudo apt-get install -y nginx-light"
            return 1
        fi
    fi
    LS_NGINX="$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"
}

# ls_free_ports N: N distinct free TCP ports on 127.0.0.1, on one line.
ls_free_ports() {
    python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])
PY
}

# ls_make_certs DIR: EC P-256 CA (DIR/ca.pem) and a server certificate for
# DNS:localhost and IP:127.0.0.1 (DIR/server.pem, DIR/server.key), valid 2 days.
ls_make_certs() {
    local dir="$1"
    (
        cd "$dir" || exit 1
        openssl ecparam -name prime256v1 -genkey -noout -out ca.key
        openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=bench throwaway CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
        openssl ecparam -name prime256v1 -genkey -noout -out server.key
        openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
        printf '%s\n' \
            "basicConstraints=CA:FALSE" \
            "keyUsage=critical,digitalSignature" \
            "extendedKeyUsage=serverAuth" \
            "subjectAltName=DNS:localhost,IP:127.0.0.1" >server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -days 2 -sha256 -extfile server.ext -out server.pem
    ) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; ls_log "certificate generation failed"; return 1; }
}

# ls_start_nginx DIR HTTP_PORT HTTPS_PORT: one nginx process (no master, access log off) with
# DIR/server.pem on the HTTPS port (HTTP/2 by ALPN); waits until both ports accept.
# LS_SSL_PROTOCOLS (e.g. "TLSv1.2 TLSv1.3") sets ssl_protocols; unset = nginx's default
# (nginx 1.22, Debian 12: up to TLS 1.2 only). LS_STATIC_ROOT=DIR serves DIR's files under /static/.
ls_start_nginx() {
    local dir="$1" http_port="$2" https_port="$3" ngx="$1/nginx" static_location=""
    if [ -n "${LS_STATIC_ROOT:-}" ]; then
        static_location="location /static/ { alias $LS_STATIC_ROOT/; default_type text/plain; }"
    fi
    mkdir -p "$ngx/logs" "$ngx/tmp"
    cat >"$ngx/nginx.conf" <<NGX
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $ngx/nginx.pid;
error_log $ngx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    default_type text/plain;
    server {
        listen 127.0.0.1:$http_port;
        listen 127.0.0.1:$https_port ssl http2;
        server_name localhost;
        ssl_certificate $dir/server.pem;
        ssl_certificate_key $dir/server.key;
        ${LS_SSL_PROTOCOLS:+ssl_protocols $LS_SSL_PROTOCOLS;}
        location / { return 200 "ok\n"; }
        $static_location
    }
}
NGX
    ulimit -n 8192 2>/dev/null || true
    "${LS_NGINX:-nginx}" -p "$ngx" -e "$ngx/logs/error.log" -c "$ngx/nginx.conf" \
        >"$ngx/logs/stdout.log" 2>&1 &
    LS_NGINX_PID=$!
    local _
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$https_port") 2>/dev/null \
            && (exec 3<>"/dev/tcp/127.0.0.1/$http_port") 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$LS_NGINX_PID" 2>/dev/null; then
            cat "$ngx/logs/"*.log >&2
            ls_log "nginx failed to start"
            return 1
        fi
        sleep 0.05
    done
    ls_log "nginx did not start listening on 127.0.0.1:$http_port/$https_port"
    return 1
}

ls_stop_nginx() {
    if [ -n "$LS_NGINX_PID" ] && kill -0 "$LS_NGINX_PID" 2>/dev/null; then
        kill "$LS_NGINX_PID" 2>/dev/null || true
        wait "$LS_NGINX_PID" 2>/dev/null || true
    fi
    LS_NGINX_PID=""
}
