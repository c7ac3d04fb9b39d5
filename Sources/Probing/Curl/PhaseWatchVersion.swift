import CBuildInfo

/// The version phasewatch reports in its User-Agent, build info and `--version`.
public enum PhaseWatchVersion {
    public static let current = "0.1.0"

    /// The git commit built from (`-dirty` with uncommitted changes; `unknown` without git).
    public static let revision = String(cString: phasewatch_build_revision())

    /// The Swift compiler that built it, as far as `#if compiler` can tell.
    public static let swift: String = {
        #if compiler(>=6.4)
        return "6.4 or later"
        #elseif compiler(>=6.3.1)
        return "6.3.1"
        #elseif compiler(>=6.3)
        return "6.3"
        #else
        return "before 6.3"
        #endif
    }()

    /// `--version`: `0.1.0 (revision 0123abcd4567, Swift 6.3.1)`.
    public static var full: String { "\(current) (revision \(revision), Swift \(swift))" }
}
