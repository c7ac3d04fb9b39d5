import PhaseWatchCore

/// When a target runs: pure arithmetic on times given in, so it is tested without a clock.
///
/// Times are nanoseconds on one monotonic timeline. Each target's runs sit on a fixed grid
/// `anchor + k × interval`, where the anchor is the wall-clock offset from a hash of the
/// target's name: 1,000 targets with the same interval spread evenly over it instead of firing
/// together, and a target keeps its slot across restarts and reloads. While the target is failing
/// (`TargetState.isFailing`) its grid is `anchor + k × interval_while_failing`: the same anchor, so
/// when the interval is a multiple of it every normal slot is also a fast one
/// (docs/probing.md#interval_while_failing).
enum Schedule {
    /// The point of the timeline where the name's wall-clock offset falls: every grid of the
    /// target goes through it. `epochNanos` is `now` on the wall clock (Unix time), so the grid
    /// is anchored to wall-clock time and the same on every restart.
    static func anchor(name: String, interval: Duration, now: Int64, epochNanos: Int64) -> Int64 {
        let offset = Int64(bitPattern: FNV1a.hash(name) % UInt64(max(1, interval.nanoseconds)))
        return now - epochNanos + offset
    }

    /// The first run at or after `now`, on the grid of `interval`.
    static func firstDue(name: String, interval: Duration, now: Int64, epochNanos: Int64) -> Int64 {
        slot(after: now - 1, anchor: anchor(name: name, interval: interval, now: now, epochNanos: epochNanos), every: interval)
    }

    /// The first point `anchor + k × every` strictly after `time`.
    static func slot(after time: Int64, anchor: Int64, every: Duration) -> Int64 {
        let period = max(1, every.nanoseconds)
        let into = ((time - anchor) % period + period) % period
        return time + (period - into)
    }

    /// The run after the one due at `due`, given that the probe finished at `now`, with the same
    /// interval before and after.
    static func next(after due: Int64, interval: Duration, now: Int64) -> (due: Int64, skipped: Int) {
        next(after: due, ranEvery: interval, now: now, anchor: due, every: interval)
    }

    /// The run after the one due at `due` (a slot of the grid of `ranEvery`), given that the
    /// probe finished at `now` and the target now runs `every` (a change of state may have
    /// switched it). The next run is the first slot of the new grid after the result: never
    /// one that passed (no catch-up burst), and computed from the anchor, not from `now`, so
    /// the grid never drifts. Slots of the old grid that passed while the probe was still
    /// going are skipped (and counted), never queued up.
    static func next(after due: Int64, ranEvery: Duration, now: Int64, anchor: Int64, every: Duration) -> (due: Int64, skipped: Int) {
        let skipped = now > due ? Int((now - due) / max(1, ranEvery.nanoseconds)) : 0
        return (slot(after: max(due, now), anchor: anchor, every: every), skipped)
    }

    /// The share of `interval` a run due at `due` stands for in time-weighted SLIs
    /// (docs/slo.md#probing-faster-while-failing): the time since the run before it on the
    /// schedule, at most one interval (skipped runs are not made up for). 1 for a target at its
    /// interval, 1/12 for a run 5s after the one before at a 60s interval; the weights of a
    /// stretch of runs add up to its length in intervals.
    static func weight(due: Int64, previous: Int64, interval: Duration) -> Double {
        let period = max(1, interval.nanoseconds)
        return Double(min(max(0, due - previous), period)) / Double(period)
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
