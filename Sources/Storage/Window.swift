import GRDB

/// How far retention has deleted each level: rows (or buckets) starting before these
/// microsecond times are gone. `Int64.min` = nothing deleted yet.
struct Horizons: Sendable, Equatable {
    var raw: Int64 = .min
    var minute: Int64 = .min
    var hour: Int64 = .min

    static func read(_ db: Database) throws -> Horizons {
        var h = Horizons()
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT level, start_us FROM horizon")) {
            let level: String = row[0]
            let start: Int64 = row[1]
            switch level {
            case "raw": h.raw = start
            case "minute": h.minute = start
            case "hour": h.hour = start
            default: break
            }
        }
        return h
    }

    /// Moves a horizon forward (never back: what is deleted stays deleted).
    static func advance(_ level: String, to start: Int64, db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO horizon (level, start_us) VALUES (?, ?)
                ON CONFLICT (level) DO UPDATE SET start_us = max(start_us, excluded.start_us)
                """, arguments: [level, start])
    }
}

/// Which stored rows answer a window [from, to) (microseconds): hour rollups for whole hours,
/// minute rollups for the whole minutes around them, raw rows for the partial minutes at the
/// edges. Where retention already removed what an edge needs, the edge widens to the bucket
/// that still covers it: the minute rollup when raw rows are gone, the hour rollup when minute
/// rollups are gone too. With raw rows present the answer is exact for any window.
struct WindowPlan: Sendable, Equatable {
    /// Microseconds.
    var raw: [Range<Int64>] = []
    /// Unix seconds, minute-aligned.
    var minutes: [Range<Int64>] = []
    /// Unix seconds, hour-aligned.
    var hours: Range<Int64>?

    static let minute: Int64 = 60_000_000
    static let hour: Int64 = 3_600_000_000

    init(from f0: Int64, to t0: Int64, horizons h: Horizons) {
        guard f0 < t0 else { return }
        var f = f0
        var t = t0
        let m = Self.minute
        let hr = Self.hour
        // Minute rollups gone at the start: the hour that overlaps it answers for it. (Buckets at
        // or after the minute horizon exist, and the horizon is minute-aligned.)
        if f < h.minute { f = floor(f, hr) }
        if f < h.minute, t % hr != 0, floor(t, hr) < h.minute { t = ceil(t, hr) }
        // Partial minutes whose raw rows are gone: the minute rollup that overlaps them.
        if f % m != 0, f < h.raw { f = floor(f, m) }
        if t % m != 0, max(f, floor(t, m)) < h.raw { t = ceil(t, m) }

        let a = ceil(f, m)
        let b = floor(t, m)
        guard a <= b else {
            raw = [f..<t]  // inside one minute, raw rows present
            return
        }
        if f < a { raw.append(f..<a) }
        if b < t { raw.append(b..<t) }
        guard a < b else { return }
        let h1 = ceil(a, hr)
        let h2 = floor(b, hr)
        if h1 < h2 {
            if a < h1 { minutes.append(a / 1_000_000..<h1 / 1_000_000) }
            hours = h1 / 1_000_000..<h2 / 1_000_000
            if h2 < b { minutes.append(h2 / 1_000_000..<b / 1_000_000) }
        } else {
            minutes.append(a / 1_000_000..<b / 1_000_000)
        }
    }

    private func floor(_ x: Int64, _ unit: Int64) -> Int64 {
        floorDiv(x, unit) * unit
    }

    private func ceil(_ x: Int64, _ unit: Int64) -> Int64 {
        let f = floor(x, unit)
        return f == x ? x : f + unit
    }
}
