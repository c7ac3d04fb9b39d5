#!/usr/bin/env python3
"""Database side of bench/soak/kill9: reads phasewatch's SQLite file read-only, never writes it.

  soakdb.py snapshot --db DB --seen SEEN --kill K
      Adds every probe the agent has committed (everything a reader sees is committed) to SEEN,
      our own SQLite file: identity (target_id, started_us, seq) — the primary key of `probe` —
      plus trace_id, success and duration_us to notice a row that changed, and the target names.
      Prints JSON: db_rows, new, seen_total, ms.

  soakdb.py check --db DB --seen SEEN
      In one read transaction of DB: PRAGMA integrity_check == ok; PRAGMA foreign_key_check
      empty; every probe in SEEN still present and unchanged; every target in SEEN keeps its
      name; every probe's detail row exists (probe.detail_id has no REFERENCES clause, so
      foreign_key_check does not cover it); and the minute and hour rollups agree with the raw
      rows (docs/storage.md: "Rollups are written in the same transaction as the raw rows they
      count, so they always agree with them"): for every (target, bucket) whose bucket starts
      at or after the raw-retention horizon, total, success, good_latency, failed_<phase>,
      failure_reasons (decoded) and the number of values in each latency sketch (duration:
      successful probes; a phase: successful probes that reached it) equal those of the raw
      rows in the bucket, and no bucket exists on one side only. Buckets before the horizon are
      skipped (retention deleted their raw rows; the count is printed). Prints JSON; exit 1 if
      any check failed.

  soakdb.py first-write --db DB --t0 EPOCH --pid PID [--timeout S]
      Polls DB until a probe that started at or after t0 (the agent's exec time) is committed,
      checking PRAGMA data_version first so that a poll without a commit costs nothing. Prints
      JSON: first_write_s (seconds since t0, null if the agent died or timeout), upper_bound
      (true when it was already there at the first poll).
"""
import argparse
import json
import os
import sqlite3
import sys
import time
import urllib.parse

PHASES = ["resolve", "connect", "tls", "processing", "transfer", "assert"]  # codes 1..6
NETWORK = ["resolve", "connect", "tls", "processing", "transfer"]


def ro_uri(path):
    return "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"


def open_seen(seen, db):
    con = sqlite3.connect("file:" + urllib.parse.quote(os.path.abspath(seen)), uri=True,
                          isolation_level=None, timeout=60)
    con.execute("""CREATE TABLE IF NOT EXISTS seen (
        target_id INTEGER NOT NULL, started_us INTEGER NOT NULL, seq INTEGER NOT NULL,
        trace_id, success INTEGER, duration_us INTEGER, kill INTEGER,
        PRIMARY KEY (target_id, started_us, seq)) WITHOUT ROWID""")
    con.execute("CREATE TABLE IF NOT EXISTS seen_target (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    con.execute("ATTACH DATABASE ? AS pw", (ro_uri(db),))
    con.execute("PRAGMA busy_timeout = 60000")
    return con


def snapshot(a):
    t = time.monotonic()
    con = open_seen(a.seen, a.db)
    con.execute("BEGIN")
    con.execute("""INSERT OR IGNORE INTO main.seen
                   SELECT target_id, started_us, seq, trace_id, success, duration_us, ? FROM pw.probe""", (a.kill,))
    new = con.execute("SELECT changes()").fetchone()[0]
    con.execute("INSERT OR IGNORE INTO main.seen_target SELECT id, name FROM pw.target")
    db_rows = con.execute("SELECT count(*) FROM pw.probe").fetchone()[0]
    con.execute("COMMIT")
    seen_total = con.execute("SELECT count(*) FROM main.seen").fetchone()[0]
    con.close()
    print(json.dumps({"db_rows": db_rows, "new": new, "seen_total": seen_total,
                      "ms": round((time.monotonic() - t) * 1000, 1)}))


def varint(b, pos):
    shift = v = 0
    while True:
        byte = b[pos]
        pos += 1
        v |= (byte & 0x7F) << shift
        if byte < 0x80:
            return v, pos
        shift += 7


def sketch_count(blob):
    """Number of values in a LatencySketch (format version 1, docs/storage.md)."""
    if blob is None:
        return 0
    b = bytes(blob)
    if not b or b[0] != 1:
        raise ValueError(f"sketch: bad version byte {b[:1].hex()}")
    zero, pos = varint(b, 1)
    n, pos = varint(b, pos)
    total = zero
    for _ in range(n):
        key, pos = varint(b, pos)
        if key & 1:
            c, pos = varint(b, pos)
            if c < 2:
                raise ValueError("sketch: explicit count < 2")
        else:
            c = 1
        total += c
    if pos != len(b):
        raise ValueError(f"sketch: {len(b) - pos} trailing bytes")
    return total


def reasons(blob):
    if blob is None:
        return {}
    b, pos, out = bytes(blob), 0, {}
    while pos < len(b):
        code, pos = varint(b, pos)
        n, pos = varint(b, pos)
        out[code] = out.get(code, 0) + n
    return out


def check(a):
    t = time.monotonic()
    con = open_seen(a.seen, a.db)
    res = {"ok": True, "problems": []}

    def problem(name, text):
        res["ok"] = False
        res["problems"].append(f"{name}: {text}")

    con.execute("BEGIN")  # one read snapshot of pw for everything below
    integrity = [r[0] for r in con.execute("PRAGMA pw.integrity_check")]
    res["integrity"] = "ok" if integrity == ["ok"] else "; ".join(integrity[:10])
    if integrity != ["ok"]:
        problem("integrity_check", res["integrity"])
    fk = con.execute("PRAGMA pw.foreign_key_check").fetchall()
    res["foreign_key_violations"] = len(fk)
    if fk:
        problem("foreign_key_check", f"{len(fk)} violations, e.g. {fk[:3]}")

    res["db_rows"] = con.execute("SELECT count(*) FROM pw.probe").fetchone()[0]
    res["seen"] = con.execute("SELECT count(*) FROM main.seen").fetchone()[0]
    missing = con.execute("""SELECT s.target_id, s.started_us, s.seq, s.kill FROM main.seen s
        WHERE NOT EXISTS (SELECT 1 FROM pw.probe p WHERE p.target_id = s.target_id
                          AND p.started_us = s.started_us AND p.seq = s.seq)""").fetchall()
    res["missing"] = len(missing)
    if missing:
        by_kill = {}
        for m in missing:
            by_kill[m[3]] = by_kill.get(m[3], 0) + 1
        problem("lost probes", f"{len(missing)} committed probes are gone (seen before kill: {by_kill}), "
                f"e.g. (target_id, started_us, seq) {[m[:3] for m in missing[:3]]}")
    changed = con.execute("""SELECT s.target_id, s.started_us, s.seq FROM main.seen s
        JOIN pw.probe p ON p.target_id = s.target_id AND p.started_us = s.started_us AND p.seq = s.seq
        WHERE p.trace_id IS NOT s.trace_id OR p.success IS NOT s.success
           OR p.duration_us IS NOT s.duration_us""").fetchall()
    res["changed"] = len(changed)
    if changed:
        problem("changed probes", f"{len(changed)} committed probes differ now, e.g. {changed[:3]}")
    renamed = con.execute("""SELECT s.id, s.name, t.name FROM main.seen_target s
        LEFT JOIN pw.target t ON t.id = s.id WHERE t.name IS NOT s.name""").fetchall()
    if renamed:
        problem("targets", f"{len(renamed)} target ids lost or renamed, e.g. {renamed[:3]}")
    orphans = con.execute("""SELECT count(*) FROM pw.probe p
        WHERE NOT EXISTS (SELECT 1 FROM pw.detail d WHERE d.id = p.detail_id)""").fetchone()[0]
    res["orphan_details"] = orphans
    if orphans:
        problem("detail refs", f"{orphans} probes refer to a missing detail row")

    row = con.execute("SELECT start_us FROM pw.horizon WHERE level = 'raw'").fetchone()
    raw_horizon = row[0] if row else None
    res["raw_horizon_us"] = raw_horizon
    res["rollups"] = {}
    for level, secs in (("minute", 60), ("hour", 3600)):
        res["rollups"][level] = check_rollups(con, level, secs, raw_horizon, problem)
    con.execute("COMMIT")
    con.close()
    res["ms"] = round((time.monotonic() - t) * 1000, 1)
    print(json.dumps(res))
    return 0 if res["ok"] else 1


def check_rollups(con, level, secs, raw_horizon, problem):
    bucket_us = secs * 1_000_000
    phase_sums = ", ".join(f"ifnull(sum(failure_phase = {i + 1}), 0)" for i in range(len(PHASES)))
    reached = ", ".join(f"sum(success = 1 AND {p}_us IS NOT NULL)" for p in NETWORK)
    raw = {}
    for r in con.execute(f"""SELECT target_id, (started_us / {bucket_us}) * {secs} AS b, count(*),
            sum(success), sum(good_latency), {phase_sums}, {reached}
            FROM pw.probe GROUP BY target_id, b"""):
        raw[(r[0], r[1])] = {"counts": list(r[2:5 + len(PHASES)]), "sketches": [r[3]] + list(r[5 + len(PHASES):]),
                             "reasons": {}}
    for tid, b, code, n in con.execute(f"""SELECT target_id, (started_us / {bucket_us}) * {secs} AS b,
            failure_reason, count(*) FROM pw.probe WHERE failure_reason IS NOT NULL
            GROUP BY target_id, b, failure_reason"""):
        raw[(tid, b)]["reasons"][code] = n

    cols = (["total", "success", "good_latency"] + [f"failed_{p}" for p in PHASES] + ["failure_reasons"]
            + ["sketch_duration"] + [f"sketch_{p}" for p in NETWORK])
    compared = skipped = bad = 0
    examples = []
    seen_keys = set()
    for r in con.execute(f"SELECT target_id, start_s, {', '.join(cols)} FROM pw.rollup_{level}"):
        key = (r[0], r[1])
        if raw_horizon is not None and r[1] * 1_000_000 < raw_horizon:
            skipped += 1
            continue
        seen_keys.add(key)
        compared += 1
        counts = list(r[2:2 + 3 + len(PHASES)])
        try:
            got_reasons = reasons(r[2 + 3 + len(PHASES)])
            sketches = [sketch_count(s) for s in r[3 + 3 + len(PHASES):]]
        except (ValueError, IndexError) as e:
            bad += 1
            examples.append(f"{key}: undecodable blob ({e})")
            continue
        want = raw.get(key)
        if want is None:
            bad += 1
            examples.append(f"{key}: rollup row {dict(zip(cols[:3], counts))} but no raw rows")
            continue
        diffs = [f"{c} {g} != raw {w}" for c, g, w in zip(cols, counts, want["counts"]) if g != w]
        if got_reasons != want["reasons"]:
            diffs.append(f"failure_reasons {got_reasons} != raw {want['reasons']}")
        diffs += [f"{c} holds {g} values != raw {w}" for c, g, w in
                  zip(cols[-len(sketches):], sketches, want["sketches"]) if g != w]
        if diffs:
            bad += 1
            examples.append(f"{key}: " + "; ".join(diffs))
    for key, want in raw.items():
        if key in seen_keys or (raw_horizon is not None and key[1] * 1_000_000 < raw_horizon):
            continue
        bad += 1
        examples.append(f"{key}: {want['counts'][0]} raw rows but no rollup row")
    if bad:
        problem(f"rollup_{level}", f"{bad} of {compared} buckets disagree with the raw rows, e.g. " + " | ".join(examples[:3]))
    return {"compared": compared, "skipped_before_raw_horizon": skipped, "disagree": bad}


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2] != "Z"
    except OSError:
        return False


def first_write(a):
    t0_us = int(a.t0 * 1e6)
    deadline = time.time() + a.timeout
    con = None
    version = None
    polls = 0
    while time.time() < deadline and alive(a.pid):
        try:
            if con is None:
                con = sqlite3.connect(ro_uri(a.db), uri=True, isolation_level=None, timeout=5)
            v = con.execute("PRAGMA data_version").fetchone()[0]
            if v != version:
                version = v
                polls += 1
                if con.execute("SELECT 1 FROM probe WHERE started_us >= ? LIMIT 1", (t0_us,)).fetchone():
                    now = time.time()
                    print(json.dumps({"first_write_s": round(now - a.t0, 3), "upper_bound": polls == 1}))
                    return 0
        except sqlite3.Error:
            con = None
        time.sleep(0.02)
    print(json.dumps({"first_write_s": None, "upper_bound": False}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("--db", required=True)
    s.add_argument("--seen", required=True)
    s.add_argument("--kill", type=int, required=True)
    c = sub.add_parser("check")
    c.add_argument("--db", required=True)
    c.add_argument("--seen", required=True)
    f = sub.add_parser("first-write")
    f.add_argument("--db", required=True)
    f.add_argument("--t0", type=float, required=True)
    f.add_argument("--pid", type=int, required=True)
    f.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    if a.cmd == "snapshot":
        snapshot(a)
        return 0
    if a.cmd == "check":
        return check(a)
    return first_write(a)


if __name__ == "__main__":
    sys.exit(main())
