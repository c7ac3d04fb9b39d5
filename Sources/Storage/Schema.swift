import GRDB

/// The database schema as a list of named migrations.
///
/// Migrations are frozen history: once released, a migration's SQL never changes (a database
/// that already ran it would not see the change). Changes go into a new migration appended at
/// the end. Plain SQL strings, not GRDB's query builder, so each one reads as the exact schema
/// it produced. Never `eraseDatabaseOnSchemaChange`: that would wipe SLO history.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-schema", migrate: v1)
        migrator.registerMigration("v2-probe-view-compact-trace-ids", migrate: v2)
        migrator.registerMigration("v3-hour-rollup-counts-index", migrate: v3)
        migrator.registerMigration("v4-probe-weights", migrate: v4)
        migrator.registerMigration("v5-connection-series", migrate: v5)
        migrator.registerMigration("v6-tls-resumed", migrate: v6)
        migrator.registerMigration("v7-coverage", migrate: v7)
        migrator.registerMigration("v8-first-attempt", migrate: v8)
        return migrator
    }

    /// Page size used when the file is created: larger pages pack the interleaved per-target
    /// inserts tighter (docs/storage.md, "Bytes per probe", has the measurement).
    static let pageSize = 8192

    static func v1(_ db: Database) throws {
        try db.execute(
            sql: """
                -- Targets by name; probe and rollup rows refer to the small id.
                CREATE TABLE target (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE
                );

                -- The long, rarely changing part of results, stored once and shared by every probe
                -- row that has the same content. `hash` is FNV-1a 64 of that content.
                -- `last_used_us` is the newest probe that used the row (refreshed at most hourly),
                -- which lets retention drop unused rows without an index on probe.detail_id.
                CREATE TABLE detail (
                    id INTEGER PRIMARY KEY,
                    hash INTEGER NOT NULL UNIQUE,
                    last_used_us INTEGER NOT NULL,
                    url TEXT NOT NULL,
                    http_status INTEGER,
                    http_version TEXT,
                    http_redirects INTEGER,
                    attempts INTEGER NOT NULL,
                    connection_reused INTEGER NOT NULL CHECK (connection_reused IN (0, 1)),
                    ip_address TEXT,
                    ip_family INTEGER,
                    failure_message TEXT,
                    tls INTEGER NOT NULL CHECK (tls IN (0, 1)),
                    tls_version TEXT,
                    tls_cipher TEXT,
                    tls_alpn TEXT,
                    cert_not_after_us INTEGER,
                    chain_expiry_us INTEGER,
                    cert_subject TEXT,
                    cert_issuer TEXT,
                    cert_sans TEXT,
                    CHECK ((http_status IS NULL) = (http_version IS NULL)),
                    CHECK ((ip_address IS NULL) = (ip_family IS NULL))
                );

                -- One row per probe, clustered by target and time (WITHOUT ROWID: the primary key
                -- is the only b-tree, no separate index). Times are microseconds since the Unix
                -- epoch; `seq` tells apart two probes of a target that started in the same µs.
                -- Phase and reason are the codes of Codes.swift. good_latency is 1 when the
                -- probe succeeded within the latency threshold in force when it ran.
                CREATE TABLE probe (
                    target_id INTEGER NOT NULL REFERENCES target(id),
                    started_us INTEGER NOT NULL,
                    seq INTEGER NOT NULL,
                    success INTEGER NOT NULL CHECK (success IN (0, 1)),
                    good_latency INTEGER NOT NULL CHECK (good_latency IN (0, 1)),
                    failure_phase INTEGER,
                    failure_reason INTEGER,
                    duration_us INTEGER NOT NULL,
                    resolve_us INTEGER,
                    connect_us INTEGER,
                    tls_us INTEGER,
                    processing_us INTEGER,
                    transfer_us INTEGER,
                    body_bytes INTEGER,
                    content_length INTEGER,
                    detail_id INTEGER NOT NULL,
                    trace_id BLOB NOT NULL,
                    PRIMARY KEY (target_id, started_us, seq),
                    CHECK ((failure_phase IS NULL) = (failure_reason IS NULL))
                ) WITHOUT ROWID;

                -- Per-minute aggregates; start_s is the bucket start in Unix seconds. Sketches are
                -- LatencySketch BLOBs of successful probes (NULL when empty); failure_reasons is
                -- varint pairs (reason code, count), ascending by code, NULL without failures.
                -- WITHOUT ROWID: a minute holds a few probes, so rows are small.
                CREATE TABLE rollup_minute (
                    target_id INTEGER NOT NULL REFERENCES target(id),
                    start_s INTEGER NOT NULL,
                    total INTEGER NOT NULL,
                    success INTEGER NOT NULL,
                    good_latency INTEGER NOT NULL,
                    failed_resolve INTEGER NOT NULL,
                    failed_connect INTEGER NOT NULL,
                    failed_tls INTEGER NOT NULL,
                    failed_processing INTEGER NOT NULL,
                    failed_transfer INTEGER NOT NULL,
                    failed_assert INTEGER NOT NULL,
                    failure_reasons BLOB,
                    sketch_duration BLOB,
                    sketch_resolve BLOB,
                    sketch_connect BLOB,
                    sketch_tls BLOB,
                    sketch_processing BLOB,
                    sketch_transfer BLOB,
                    PRIMARY KEY (target_id, start_s)
                ) WITHOUT ROWID;

                -- Per-hour aggregates, same columns. A rowid table: an hour's sketches run to a
                -- kilobyte or more, too large for a WITHOUT ROWID b-tree to pay off.
                CREATE TABLE rollup_hour (
                    target_id INTEGER NOT NULL REFERENCES target(id),
                    start_s INTEGER NOT NULL,
                    total INTEGER NOT NULL,
                    success INTEGER NOT NULL,
                    good_latency INTEGER NOT NULL,
                    failed_resolve INTEGER NOT NULL,
                    failed_connect INTEGER NOT NULL,
                    failed_tls INTEGER NOT NULL,
                    failed_processing INTEGER NOT NULL,
                    failed_transfer INTEGER NOT NULL,
                    failed_assert INTEGER NOT NULL,
                    failure_reasons BLOB,
                    sketch_duration BLOB,
                    sketch_resolve BLOB,
                    sketch_connect BLOB,
                    sketch_tls BLOB,
                    sketch_processing BLOB,
                    sketch_transfer BLOB,
                    UNIQUE (target_id, start_s)
                );

                -- How far retention has gone: rows of `level` ('raw', 'minute', 'hour') that
                -- start before `start_us` are deleted (or being deleted). Window queries read it
                -- to know which table can answer an edge of the window.
                CREATE TABLE horizon (
                    level TEXT PRIMARY KEY CHECK (level IN ('raw', 'minute', 'hour')),
                    start_us INTEGER NOT NULL
                );

                -- For people with the sqlite3 shell: probe rows with names and readable times.
                CREATE VIEW probe_view AS
                SELECT
                    t.name AS target,
                    strftime('%Y-%m-%dT%H:%M:%fZ', p.started_us / 1000000.0, 'unixepoch') AS started_at,
                    p.success,
                    CASE p.failure_phase WHEN 1 THEN 'resolve' WHEN 2 THEN 'connect' WHEN 3 THEN 'tls'
                        WHEN 4 THEN 'processing' WHEN 5 THEN 'transfer' WHEN 6 THEN 'assert' END AS failure_phase,
                    p.failure_reason,
                    d.failure_message,
                    p.duration_us / 1000000.0 AS duration,
                    p.resolve_us, p.connect_us, p.tls_us, p.processing_us, p.transfer_us,
                    d.http_status, d.http_version, d.ip_address,
                    p.body_bytes,
                    CASE typeof(p.trace_id) WHEN 'blob' THEN lower(hex(p.trace_id)) ELSE p.trace_id END AS trace_id,
                    d.url
                FROM probe p
                JOIN target t ON t.id = p.target_id
                JOIN detail d ON d.id = p.detail_id;
                """)
    }

    /// Trace ids in `TraceID`'s compact form are stored as INTEGER (the column stays `BLOB`: no
    /// affinity, so old BLOB and TEXT ids stay as they are and need no rewrite). `probe_view`
    /// shows them as their 32 hex digits by computing `TraceID.mix` in SQL.
    static func v2(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP VIEW IF EXISTS probe_view;

                -- For people with the sqlite3 shell: probe rows with names and readable times.
                -- trace_id: INTEGER ids are TraceID's compact form: mix(word) then word, in hex,
                -- where mix is splitmix64's finalizer of word XOR 0x6A09E667F3BCC909. Spelled out
                -- step by step below; each `LIMIT 1` keeps SQLite from flattening the steps into
                -- one expression that repeats the earlier ones (a hundred times slower).
                CREATE VIEW probe_view AS
                SELECT
                    t.name AS target,
                    strftime('%Y-%m-%dT%H:%M:%fZ', p.started_us / 1000000.0, 'unixepoch') AS started_at,
                    p.success,
                    CASE p.failure_phase WHEN 1 THEN 'resolve' WHEN 2 THEN 'connect' WHEN 3 THEN 'tls'
                        WHEN 4 THEN 'processing' WHEN 5 THEN 'transfer' WHEN 6 THEN 'assert' END AS failure_phase,
                    p.failure_reason,
                    d.failure_message,
                    p.duration_us / 1000000.0 AS duration,
                    p.resolve_us, p.connect_us, p.tls_us, p.processing_us, p.transfer_us,
                    d.http_status, d.http_version, d.ip_address,
                    p.body_bytes,
                    CASE typeof(p.trace_id)
                    WHEN 'blob' THEN lower(hex(p.trace_id))
                    WHEN 'integer' THEN
                        (WITH
                            -- z = lo XOR 0x6A09E667F3BCC909 (a ^ b = (a | b) - (a & b): SQLite has no XOR)
                            x0(z) AS (SELECT (p.trace_id | 0x6A09E667F3BCC909) - (p.trace_id & 0x6A09E667F3BCC909)),
                            -- z ^= z >> 30 (logical shift: SQLite's >> keeps the sign)
                            x1(z) AS (SELECT (z | ((z >> 30) & 0x3FFFFFFFF)) - (z & ((z >> 30) & 0x3FFFFFFFF)) FROM x0 LIMIT 1),
                            -- z *= 0xBF58476D1CE4E5B9 mod 2^64, on 32-bit halves and 16-bit parts of the constant
                            -- (SQLite turns an integer overflow into a REAL)
                            m1(l, h) AS (SELECT z & 0xFFFFFFFF, (z >> 32) & 0xFFFFFFFF FROM x1 LIMIT 1),
                            n1(l, h, low, carry) AS (SELECT l, h, l * 0xE5B9 + (((l * 0x1CE4) & 0xFFFF) << 16), (l * 0x1CE4) >> 16 FROM m1 LIMIT 1),
                            x2(z) AS (SELECT ((((low >> 32) + carry + l * 0x476D + (((l * 0xBF58) & 0xFFFF) << 16) + h * 0xE5B9
                                + (((h * 0x1CE4) & 0xFFFF) << 16)) & 0xFFFFFFFF) << 32) | (low & 0xFFFFFFFF) FROM n1 LIMIT 1),
                            -- z ^= z >> 27
                            x3(z) AS (SELECT (z | ((z >> 27) & 0x1FFFFFFFFF)) - (z & ((z >> 27) & 0x1FFFFFFFFF)) FROM x2 LIMIT 1),
                            -- z *= 0x94D049BB133111EB mod 2^64
                            m2(l, h) AS (SELECT z & 0xFFFFFFFF, (z >> 32) & 0xFFFFFFFF FROM x3 LIMIT 1),
                            n2(l, h, low, carry) AS (SELECT l, h, l * 0x11EB + (((l * 0x1331) & 0xFFFF) << 16), (l * 0x1331) >> 16 FROM m2 LIMIT 1),
                            x4(z) AS (SELECT ((((low >> 32) + carry + l * 0x49BB + (((l * 0x94D0) & 0xFFFF) << 16) + h * 0x11EB
                                + (((h * 0x1331) & 0xFFFF) << 16)) & 0xFFFFFFFF) << 32) | (low & 0xFFFFFFFF) FROM n2 LIMIT 1),
                            -- z ^= z >> 31
                            x5(z) AS (SELECT (z | ((z >> 31) & 0x1FFFFFFFF)) - (z & ((z >> 31) & 0x1FFFFFFFF)) FROM x4 LIMIT 1)
                        SELECT printf('%016x%016x', z, p.trace_id) FROM x5)
                    ELSE p.trace_id END AS trace_id,
                    d.url
                FROM probe p
                JOIN target t ON t.id = p.target_id
                JOIN detail d ON d.id = p.detail_id;
                """)
    }

    /// The SLO engine sums the counts of up to 720 hour rows per target and window at every
    /// refresh, and an hour row carries kilobytes of sketches: this covering index lets SQLite
    /// read the counts alone (bench/slo measures the refresh with and without it). It costs a few
    /// bytes per hour row, against the row's sketches.
    static func v3(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE INDEX rollup_hour_counts ON rollup_hour (
                    target_id, start_s, total, success, good_latency, failed_resolve, failed_connect,
                    failed_tls, failed_processing, failed_transfer, failed_assert);
                """)
    }

    /// Time-weighted SLIs (docs/slo.md#probing-faster-while-failing): each probe's `weight` is
    /// the share of its target's interval it stands for (1 unless the target was probed faster
    /// while failing), and the rollups sum the weights. Rollup rows written before have NULL
    /// sums, which read as their counts (every probe weighed 1 then): no rewrite of history.
    /// The counts index is replaced by one that covers the sums too, so the SLO refresh still
    /// reads no hour row.
    static func v4(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE probe ADD COLUMN weight REAL NOT NULL DEFAULT 1;
                ALTER TABLE rollup_minute ADD COLUMN weighted_total REAL;
                ALTER TABLE rollup_minute ADD COLUMN weighted_success REAL;
                ALTER TABLE rollup_minute ADD COLUMN weighted_good_latency REAL;
                ALTER TABLE rollup_hour ADD COLUMN weighted_total REAL;
                ALTER TABLE rollup_hour ADD COLUMN weighted_success REAL;
                ALTER TABLE rollup_hour ADD COLUMN weighted_good_latency REAL;
                DROP INDEX rollup_hour_counts;
                CREATE INDEX rollup_hour_counts_weighted ON rollup_hour (
                    target_id, start_s, total, success, good_latency, failed_resolve, failed_connect,
                    failed_tls, failed_processing, failed_transfer, failed_assert,
                    weighted_total, weighted_success, weighted_good_latency);
                """)
    }

    /// Targets with `connection: reuse | both` (docs/probing.md#connections): results of
    /// requests on kept connections are a series of their own, so their rollups and SLO windows
    /// never mix with the target's fresh ones (docs/storage.md#connection-series).
    static func v5(_ db: Database) throws {
        try db.execute(
            sql: """
                -- 'reused': this row is the series of a target's requests on kept connections,
                -- named "<target> reused" (no target name has a space). NULL: a target.
                ALTER TABLE target ADD COLUMN connection TEXT CHECK (connection IN ('reused'));

                -- Which request of its run a probe was: 'fresh' or 'reused' for targets with
                -- connection: reuse | both, NULL for connection: fresh. And why a request meant
                -- for a kept connection had to open one (ConnectionClosedReason), when known.
                ALTER TABLE detail ADD COLUMN connection TEXT CHECK (connection IN ('fresh', 'reused'));
                ALTER TABLE detail ADD COLUMN connection_closed_reason TEXT;

                -- How long the connection had been open when a request reused it.
                ALTER TABLE probe ADD COLUMN connection_age_us INTEGER;
                """)
    }

    /// `tls.resume` (docs/probing.md#tls-resumption): whether a handshake resumed a session.
    static func v6(_ db: Database) throws {
        try db.execute(
            sql: """
                -- 1 or 0 for handshakes of targets with tls.resume, NULL otherwise.
                ALTER TABLE detail ADD COLUMN tls_resumed INTEGER CHECK (tls_resumed IN (0, 1));
                """)
    }

    /// Coverage (docs/slo.md#coverage): when the agent ran and when each target was configured,
    /// so a window knows how much of it was observed.
    static func v7(_ db: Database) throws {
        try db.execute(
            sql: """
                -- One row per agent start. last_seen_us moves forward once a minute while it runs;
                -- stopped_us is set by a clean stop. A run that died ends at last_seen_us.
                CREATE TABLE agent_run (
                    id INTEGER PRIMARY KEY,
                    started_us INTEGER NOT NULL,
                    last_seen_us INTEGER NOT NULL,
                    stopped_us INTEGER
                );

                -- When a target was in the config in force: from a start or reload that has it
                -- to the reload (or the start with another config) that drops it; to_us is NULL
                -- while it is still configured.
                CREATE TABLE target_span (
                    target_id INTEGER NOT NULL REFERENCES target(id),
                    from_us INTEGER NOT NULL,
                    to_us INTEGER,
                    PRIMARY KEY (target_id, from_us)
                ) WITHOUT ROWID;
                """)
    }

    /// First attempt and final (docs/slo.md#first-attempt-and-final): whether a successful probe
    /// needed a retry, and the rollups' sums of probes good at their first attempt. Probe rows
    /// written before read as no retry and rollup rows' NULL sums as the final counts: no rewrite
    /// of history. The counts index is replaced by one that covers the new sums too, so the SLO
    /// refresh still reads no hour row.
    static func v8(_ db: Database) throws {
        try db.execute(
            sql: """
                -- 1: succeeded only after a retry (attempts > 1), so not good at the first attempt.
                ALTER TABLE probe ADD COLUMN success_after_retry INTEGER NOT NULL DEFAULT 0 CHECK (success_after_retry IN (0, 1));
                ALTER TABLE rollup_minute ADD COLUMN success_first_attempt INTEGER;
                ALTER TABLE rollup_minute ADD COLUMN weighted_success_first_attempt REAL;
                ALTER TABLE rollup_hour ADD COLUMN success_first_attempt INTEGER;
                ALTER TABLE rollup_hour ADD COLUMN weighted_success_first_attempt REAL;
                DROP INDEX rollup_hour_counts_weighted;
                CREATE INDEX rollup_hour_counts_first_attempt ON rollup_hour (
                    target_id, start_s, total, success, good_latency, failed_resolve, failed_connect,
                    failed_tls, failed_processing, failed_transfer, failed_assert,
                    weighted_total, weighted_success, weighted_good_latency,
                    success_first_attempt, weighted_success_first_attempt);
                """)
    }
}
