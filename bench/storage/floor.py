#!/usr/bin/env python3
"""The floor for bench/storage/run: the same raw `probe` rows written straight through the
sqlite3 C library (Python's stdlib module, executemany, one transaction per batch), with the
same page size, WAL and synchronous=NORMAL, and nothing else: no rollups, no detail
deduplication, no target lookups. What phasewatch adds on top of this is the cost of its
rollups and of building rows from ProbeResults.

usage: floor.py PATH PROBES TARGETS BATCH
prints: FLOOR rate=<probes/s> seconds=<s> bytes_per_probe=<b>
"""
import os
import random
import sqlite3
import sys
import time

# Same table as migration "v1-schema" in Sources/Storage/Schema.swift (later migrations leave it as is).
PROBE_DDL = """
CREATE TABLE probe (
    target_id INTEGER NOT NULL, started_us INTEGER NOT NULL, seq INTEGER NOT NULL,
    success INTEGER NOT NULL CHECK (success IN (0, 1)), good_latency INTEGER NOT NULL CHECK (good_latency IN (0, 1)),
    failure_phase INTEGER, failure_reason INTEGER, duration_us INTEGER NOT NULL,
    resolve_us INTEGER, connect_us INTEGER, tls_us INTEGER, processing_us INTEGER, transfer_us INTEGER,
    body_bytes INTEGER, content_length INTEGER, detail_id INTEGER NOT NULL, trace_id BLOB NOT NULL,
    PRIMARY KEY (target_id, started_us, seq),
    CHECK ((failure_phase IS NULL) = (failure_reason IS NULL))
) WITHOUT ROWID
"""


def lognormal(rng, median, sigma):
    return int(median * 1e6 * rng.lognormvariate(0, sigma))


def main():
    path, probes, targets, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    for suffix in ("", "-wal", "-shm"):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA page_size = 8192")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(PROBE_DDL)
    rng = random.Random(2026)
    start_us = 1_795_305_600_000_000
    interval = 30_000_000
    insert = "INSERT INTO probe VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    elapsed = 0.0
    rows = []
    for i in range(probes):
        target = i % targets
        at = start_us + (i // targets) * interval + target * interval // targets
        https = target % 4 != 0
        scale = 1 + (target % 7) / 3
        phases = [lognormal(rng, 0.0008, 0.5), lognormal(rng, 0.002 * scale, 0.3),
                  lognormal(rng, 0.012 * scale, 0.3) if https else 0,
                  lognormal(rng, 0.04 * scale, 0.6), lognormal(rng, 0.0004, 0.8)]
        duration = sum(phases) + 50
        good = 1 if duration <= 250_000 else 0
        # The trace id as phasewatch stores the ids it makes: one random 64-bit word, as an
        # 8-byte INTEGER (TraceID's compact form; the column is declared BLOB, no affinity).
        trace = rng.getrandbits(64) or 1
        rows.append((target + 1, at, 1, good, None, None, duration, *phases, 15, 15, target + 1,
                     trace - (1 << 64) if trace >= 1 << 63 else trace))
        if len(rows) == batch or i == probes - 1:
            t0 = time.perf_counter()
            db.execute("BEGIN")
            db.executemany(insert, rows)
            db.execute("COMMIT")
            elapsed += time.perf_counter() - t0
            rows = []
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    print(f"FLOOR rate={int(probes / elapsed)} seconds={elapsed:.1f} bytes_per_probe={size / probes:.1f}")


if __name__ == "__main__":
    main()
