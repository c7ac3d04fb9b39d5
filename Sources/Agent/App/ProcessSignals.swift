import Dispatch
import Foundation
import Logging
import PhaseWatchCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM, SIGINT and SIGHUP for `phasewatch run`, from its first instructions to its exit
/// (docs/cli.md, "Signals"). One place decides what a signal does at each stage:
///
/// - starting (config, database, bind): SIGTERM/SIGINT exit at once with status 0 — nothing is
///   in flight yet; SIGHUP is remembered and reloads once, when the agent is running (its
///   default action would kill the process).
/// - running: the first SIGTERM/SIGINT starts the graceful shutdown (drain probes, flush);
///   a second one exits at once with status 1; so does a shutdown that has not ended
///   `hardStop` after the first signal. SIGHUP reloads.
public final class ProcessSignals: Sendable {
    enum Stage {
        case starting(reloadPending: Bool)
        case running(shutdown: @Sendable () -> Void, reload: @Sendable () -> Void, unwritten: @Sendable () -> Int)
        case stopping(unwritten: @Sendable () -> Int)
    }

    /// How long a graceful shutdown may take before the process exits anyway, by default
    /// (`--shutdown.timeout`): the bound docs/cli.md promises. The scheduler's drain fits in it;
    /// a last flush stuck behind another process's write lock does not, and is cut short.
    public static let defaultHardStop: Duration = .seconds(5)

    private let stage = Mutex(Stage.starting(reloadPending: false))
    private let logger: Logger
    private let hardStop: Duration
    private let queue = DispatchQueue(label: "phasewatch.signals")
    /// Kept alive for the process's life; set once in `init`, never read.
    nonisolated(unsafe) private var sources: [any DispatchSourceSignal] = []

    /// Takes over SIGTERM, SIGINT and SIGHUP for the rest of the process's life.
    public init(logger: Logger, hardStop: Duration = ProcessSignals.defaultHardStop) {
        self.logger = logger
        self.hardStop = hardStop
        var made: [any DispatchSourceSignal] = []
        for number in [SIGTERM, SIGINT, SIGHUP] {
            signal(number, SIG_IGN)  // the dispatch source sees it; the default action must not
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            // Signals that arrive before the handler runs are coalesced: `data` counts them.
            source.setEventHandler { [weak self, source] in
                for _ in 0..<max(1, min(Int(source.data), 2)) { self?.received(number) }
            }
            source.resume()
            made.append(source)
        }
        sources = made
    }

    /// The agent is serving: from now on SIGTERM/SIGINT call `shutdown` and SIGHUP calls
    /// `reload`; a SIGHUP that came while starting reloads now. `unwritten` counts the results
    /// an exit without draining would lose, for its log line.
    public func running(
        shutdown: @escaping @Sendable () -> Void, reload: @escaping @Sendable () -> Void, unwritten: @escaping @Sendable () -> Int
    ) {
        let pending = stage.withLock { stage -> Bool in
            guard case .starting(let pending) = stage else { return false }
            stage = .running(shutdown: shutdown, reload: reload, unwritten: unwritten)
            return pending
        }
        if pending {
            logger.info("reloading for a SIGHUP received during startup")
            queue.async { reload() }
        }
    }

    /// Results not yet written, when the agent is stopping; 0 before.
    private func unwritten() -> Int {
        let count = stage.withLock { stage -> (@Sendable () -> Int)? in
            if case .stopping(let unwritten) = stage { return unwritten }
            return nil
        }
        return count?() ?? 0
    }

    private func received(_ number: Int32) {
        let name = number == SIGHUP ? "SIGHUP" : number == SIGINT ? "SIGINT" : "SIGTERM"
        enum Action {
            case exitNow(Int32, String), shutdown(@Sendable () -> Void), reload(@Sendable () -> Void), deferReload, none
        }
        let action = stage.withLock { stage -> Action in
            switch (stage, number == SIGHUP) {
            case (.starting, true):
                stage = .starting(reloadPending: true)
                return .deferReload
            case (.starting, false):
                return .exitNow(0, "stopped during startup")
            case (.running(_, let reload, _), true):
                return .reload(reload)
            case (.running(let shutdown, _, let unwritten), false):
                stage = .stopping(unwritten: unwritten)
                return .shutdown(shutdown)
            case (.stopping, true):
                return .none
            case (.stopping, false):
                return .exitNow(1, "second signal during shutdown: exiting without draining")
            }
        }
        switch action {
        case .none:
            break
        case .deferReload:
            logger.info("reload deferred until the agent is running", metadata: ["signal": "\(name)"])
        case .reload(let reload):
            reload()
        case .shutdown(let shutdown):
            logger.info("shutting down", metadata: ["signal": "\(name)"])
            shutdown()
            let limit = hardStop
            queue.asyncAfter(deadline: .now() + limit.seconds) { [self] in
                logger.error("shutdown did not finish in time: exiting without draining", metadata: [
                    "limit": "\(PromDuration.format(limit))", "unwritten_results": .stringConvertible(unwritten()),
                ])
                _exit(1)
            }
        case .exitNow(0, let message):
            logger.info("\(message)", metadata: ["signal": "\(name)"])
            _exit(0)
        case .exitNow(let status, let message):
            logger.error("\(message)", metadata: ["signal": "\(name)", "unwritten_results": .stringConvertible(unwritten())])
            _exit(status)
        }
    }
}
