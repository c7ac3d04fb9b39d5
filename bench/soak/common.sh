# shellcheck shell=bash
# Shared by bench/soak/kill9 and bench/soak/load (sourced, not run). Needs SOAK_NAME, HERE, ROOT.
# Certificates and nginx come from bench/vs_blackbox/local_servers.sh (sourced here too).
# Everything listens on and connects to 127.0.0.1 only.

LS_NAME="$SOAK_NAME"
# shellcheck source=bench/vs_blackbox/local_servers.sh
. "$ROOT/bench/vs_blackbox/local_servers.sh"

log() { echo "$SOAK_NAME: $*" >&2; }
die() { echo "$SOAK_NAME: $*" >&2; exit 1; }

PW_PID=""
SOAK_TMP=""
SOAK_EXTRA_PIDS=()   # background helpers to stop on exit (samplers, pollers, wrk)

# soak_kill_pid PID SIGNAL: signal one process we started, if it still runs, and reap it.
soak_kill_pid() {
    local pid="$1" sig="${2:-TERM}" _
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    { wait "$pid"; } 2>/dev/null || true
}

soak_cleanup() {
    local p
    for p in "${SOAK_EXTRA_PIDS[@]}"; do soak_kill_pid "$p" TERM; done
    soak_kill_pid "$PW_PID" KILL
    ls_stop_nginx
    if [ -n "$SOAK_TMP" ] && [ -d "$SOAK_TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then log "kept $SOAK_TMP"; else rm -rf "$SOAK_TMP"; fi
    fi
}

# soak_prereqs: python3, curl, openssl, nginx (installed when root).
soak_prereqs() {
    command -v python3 >/dev/null || die "python3 not found"
    command -v curl >/dev/null || die "curl not found (apt-get install -y curl)"
    command -v openssl >/dev/null || die "openssl CLI not found (apt-get install -y openssl)"
    ls_need_nginx || exit 1
}

# soak_phasewatch_bin: sets PW_BIN (PHASEWATCH_BIN, or a release build in a separate scratch
# dir so that the debug build in .build stays unlocked for others).
soak_phasewatch_bin() {
    if [ -n "${PHASEWATCH_BIN:-}" ]; then
        PW_BIN="$PHASEWATCH_BIN"
        [ -x "$PW_BIN" ] || die "PHASEWATCH_BIN=$PW_BIN is not executable"
        PW_BUILD_NOTE="PHASEWATCH_BIN=$PW_BIN"
        return
    fi
    command -v swift >/dev/null || die "swift not found: install Swift 6.3 or set PHASEWATCH_BIN"
    local scratch="${SWIFT_SCRATCH_PATH:-/tmp/pw-release-build}"
    log "swift build -c release --product phasewatch --scratch-path $scratch (log: $SOAK_TMP/swift-build.log)"
    if ! (cd "$ROOT" && swift build -c release --product phasewatch --scratch-path "$scratch") \
        >"$SOAK_TMP/swift-build.log" 2>&1; then
        tail -n 20 "$SOAK_TMP/swift-build.log" | sed 's/^/    /' >&2
        die "swift build failed (log above)"
    fi
    PW_BIN="$scratch/release/phasewatch"
    [ -x "$PW_BIN" ] || die "no $PW_BIN after swift build"
    PW_BUILD_NOTE="release build of commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
    if [ -n "$(git -C "$ROOT" status --porcelain -- Sources Package.swift 2>/dev/null)" ]; then
        PW_BUILD_NOTE="$PW_BUILD_NOTE + uncommitted changes in Sources"
    fi
}

# soak_servers: certs, ports and nginx. Sets CAFILE, HTTP_URL, HTTPS_URL, CLOSED_URL, PW_PORT.
soak_servers() {
    ls_make_certs "$SOAK_TMP" || exit 1
    CAFILE="$SOAK_TMP/ca.pem"
    local http_port https_port closed_port
    read -r http_port https_port closed_port PW_PORT < <(ls_free_ports 4)
    ls_start_nginx "$SOAK_TMP" "$http_port" "$https_port" || exit 1
    HTTP_URL="http://127.0.0.1:$http_port/"
    HTTPS_URL="https://127.0.0.1:$https_port/"
    # Nothing listens here: ls_free_ports bound it only to learn a free port. (Another program
    # could take it later; the kill9 rollup check does not depend on what the probes return.)
    CLOSED_URL="http://127.0.0.1:$closed_port/"
}

now() { echo "$EPOCHREALTIME"; }
# elapsed T0 [T1]: seconds from T0 to T1 (default now), 3 decimals.
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.3f", b - a }'; }

# soak_start_agent CONFIG DB LOG: starts the agent in the background; sets PW_PID and PW_T0.
soak_start_agent() {
    PW_T0="$(now)"
    "$PW_BIN" run --config.file="$1" --web.listen-address="127.0.0.1:$PW_PORT" \
        --storage.path="$2" --log.level=warn >>"$3" 2>&1 &
    PW_PID=$!
}

# soak_wait_ready TIMEOUT_S: polls /-/ready every 10 ms. Sets READY_S (seconds since PW_T0) and
# returns 0 once it answers 200; returns 1 when the agent exits or the timeout passes.
soak_wait_ready() {
    local deadline code
    deadline="$(awk -v t="$PW_T0" -v d="$1" 'BEGIN { printf "%.6f", t + d }')"
    READY_S=""
    while awk -v n="$EPOCHREALTIME" -v d="$deadline" 'BEGIN { exit !(n < d) }'; do
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PW_PORT/-/ready" 2>/dev/null || true)"
        if [ "$code" = 200 ]; then READY_S="$(elapsed "$PW_T0")"; return 0; fi
        kill -0 "$PW_PID" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
