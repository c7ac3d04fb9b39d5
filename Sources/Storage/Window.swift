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
            let level: String = row["level"]
            let start: Int64 = row["start_us"]
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
        // Raw rows exist from h.raw on, minute rows from h.minute on (minute-aligned); whole
        // minutes can be answered (by either) from `whole` on.
        let whole = min(h.minute, h.raw)
        if f < whole {
            f = floor(f, hr)  // only the hour row covers the start
        } else if f < h.raw, f % m != 0 {
            f = floor(f, m)  // the minute row covers the partial minute
        }
        if t % hr != 0, max(f, floor(t, hr)) < whole {
            t = ceil(t, hr)
        } else if t % m != 0, max(f, floor(t, m)) < h.raw {
            t = ceil(t, m)
        }
        // Now every partial minute left has raw rows, every whole minute outside whole hours
        // has a minute row or raw rows.
        let a = ceil(f, m)
        let b = floor(t, m)
        guard a <= b else {
            raw = [f..<t]  // inside one minute
            return
        }
        if f < a { raw.append(f..<a) }
        if b < t { raw.append(b..<t) }
        guard a < b else { return }
        let h1 = ceil(a, hr)
        let h2 = floor(b, hr)
        if h1 < h2 {
            addMinutes(a..<h1, minuteHorizon: h.minute)
            hours = h1 / 1_000_000..<h2 / 1_000_000
            addMinutes(h2..<b, minuteHorizon: h.minute)
        } else {
            addMinutes(a..<b, minuteHorizon: h.minute)
        }
    }

    /// Whole minutes (µs): minute rows where they exist, raw rows before that (possible only
    /// when minute rollups are kept for less time than raw rows).
    private mutating func addMinutes(_ range: Range<Int64>, minuteHorizon: Int64) {
        guard !range.isEmpty else { return }
        let split = min(max(range.lowerBound, minuteHorizon), range.upperBound)
        if range.lowerBound < split { raw.append(range.lowerBound..<split) }
        if split < range.upperBound { minutes.append(split / 1_000_000..<range.upperBound / 1_000_000) }
    }

    private func floor(_ x: Int64, _ unit: Int64) -> Int64 {
        floorDiv(x, unit) * unit
    }

    private func ceil(_ x: Int64, _ unit: Int64) -> Int64 {
        let f = floor(x, unit)
        return f == x ? x : f + unit
    }
}
