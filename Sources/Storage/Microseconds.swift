import Foundation

/// Times and durations are stored as integer microseconds.
enum Microseconds {
    static func seconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return seconds > 0 ? Int64.max / 2 : 0 }
        return Int64((seconds * 1_000_000).rounded())
    }

    static func duration(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    static func toSeconds(_ micros: Int64) -> Double {
        Double(micros) / 1_000_000
    }

    static func date(_ date: Date) -> Int64 {
        seconds(date.timeIntervalSince1970)
    }

    /// The one way the store turns stored microseconds back into a Date, so that a result read
    /// twice compares equal.
    static func toDate(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}
