import Foundation

/// The `now` that retention deletes by, from the wall clock checked against the monotonic one
/// between passes (docs/storage.md, "Clock steps").
///
/// trusted₀ = wall₀; trustedₙ = min(wallₙ, trustedₙ₋₁ + (monoₙ − monoₙ₋₁)).
///
/// A wall clock stepped ahead is not believed while the agent runs: retention goes on by the
/// monotonic clock until the wall clock comes back. A clock stepped back is believed at once
/// (it deletes less). A step is the wall clock's own move minus the monotonic time passed;
/// steps beyond `tolerance` are reported for the log. Pure arithmetic: no clock is read here.
struct RetentionClock {
    /// Smaller steps are NTP's ordinary corrections.
    static let tolerance: Duration = .seconds(60)

    private var last: (wall: Date, mono: ContinuousClock.Instant, trusted: Date)?

    /// What a pass should use, and the step since the previous pass when it exceeds the
    /// tolerance (positive: the wall clock jumped ahead).
    mutating func now(wall: Date, mono: ContinuousClock.Instant) -> (trusted: Date, step: TimeInterval?) {
        guard let last else {
            self.last = (wall, mono, wall)
            return (wall, nil)
        }
        let elapsed = (mono - last.mono).seconds
        let step = wall.timeIntervalSince(last.wall) - elapsed
        let trusted = min(wall, last.trusted.addingTimeInterval(elapsed))
        self.last = (wall, mono, trusted)
        return (trusted, abs(step) > Self.tolerance.seconds ? step : nil)
    }
}
