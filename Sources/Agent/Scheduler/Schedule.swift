import PhaseWatchCore

/// When a target runs: pure arithmetic on times given in, so it is tested without a clock.
///
/// Times are nanoseconds on one monotonic timeline. Each target's runs sit on a fixed grid
/// `offset + k × interval`, where the offset comes from a hash of the target's name: 1,000
/// targets with the same interval spread evenly over it instead of firing together, and a
/// target keeps its slot across restarts and reloads.
enum Schedule {
    /// The first run at or after `now`. `epochNanos` is `now` on the wall clock (Unix time), so
    /// the grid is anchored to wall-clock time and the same on every restart.
    static func firstDue(name: String, interval: Duration, now: Int64, epochNanos: Int64) -> Int64 {
        let period = max(1, interval.nanoseconds)
        let offset = Int64(bitPattern: FNV1a.hash(name) % UInt64(period))
        // Position of `now` on the grid, in wall-clock terms.
        let intoPeriod = ((epochNanos - offset) % period + period) % period
        return intoPeriod == 0 ? now : now + (period - intoPeriod)
    }

    /// The run after the one due at `due`, given that the probe finished at `now`. Runs whose time
    /// passed while the probe was still going are skipped (and counted), never queued up; the
    /// grid never drifts because the next time is computed from the due time, not from `now`.
    static func next(after due: Int64, interval: Duration, now: Int64) -> (due: Int64, skipped: Int) {
        let period = max(1, interval.nanoseconds)
        var next = due + period
        var skipped = 0
        if next <= now {
            let behind = (now - next) / period + 1
            skipped = Int(behind)
            next += behind * period
        }
        return (next, skipped)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
