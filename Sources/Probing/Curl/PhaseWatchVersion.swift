/// The version phasewatch reports in its User-Agent and build info.
public enum PhaseWatchVersion {
    public static let current = "0.1.0"
}
