/// Waits between retries of one request (docs/remote-write.md#retries): doubling from `base`
/// up to `max`, each wait drawn in [half, whole] of its step so that agents a receiver turned
/// away together do not come back together.
public struct Backoff: Sendable, Equatable {
    public let base: Duration
    public let max: Duration
    /// Failed attempts since the last success.
    public private(set) var failures = 0

    public init(base: Duration = .milliseconds(100), max: Duration = .seconds(5)) {
        self.base = base
        self.max = max
    }

    /// The step after `failures` failures, before jitter.
    public var step: Duration {
        guard failures > 0 else { return .zero }
        let doublings = min(failures - 1, 30)
        let grown = base * (1 << doublings)
        return grown > max ? max : grown
    }

    /// Records a failure and returns how long to wait; `unit` is a random number in [0, 1).
    public mutating func fail(unit: Double) -> Duration {
        failures += 1
        let step = self.step
        return step / 2 + step / 2 * unit
    }

    public mutating func succeed() { failures = 0 }
}
