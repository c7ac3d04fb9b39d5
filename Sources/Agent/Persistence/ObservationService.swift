import Foundation
import Logging
import PhaseWatchCore
import ServiceLifecycle
import Storage

/// Tells the store when this agent runs and which targets are configured, for coverage
/// (docs/slo.md#coverage): a run row at start, a heartbeat every `heartbeat`, a span per target
/// from the config that adds it to the one that drops it, and a clean end at shutdown.
public final class ObservationService: Service, Sendable {
    private let store: ProbeStore
    private let logger: Logger
    private let heartbeat: Duration
    private let targets: @Sendable () -> [String]
    private let changes: (stream: AsyncStream<(at: Date, targets: [String])>, continuation: AsyncStream<(at: Date, targets: [String])>.Continuation)

    /// `targets` returns the names of the targets in force now.
    public init(store: ProbeStore, logger: Logger, heartbeat: Duration = .seconds(60), targets: @escaping @Sendable () -> [String]) {
        self.store = store
        self.logger = logger
        self.heartbeat = heartbeat
        self.targets = targets
        changes = AsyncStream.makeStream()
    }

    /// A config with `targets` came into force at `at` (start, reload, target file re-read).
    public func configured(_ targets: [String], at: Date) {
        changes.continuation.yield((at, targets))
    }

    public func run() async throws {
        let started = Date()
        // What is in force now already holds every change made before: later ones follow in order.
        await attempt("run start") { try await self.store.beginRun(at: started, targets: self.targets()) }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await change in self.changes.stream where change.at > started {
                        await self.attempt("targets configured") { try await self.store.configure(targets: change.targets, at: change.at) }
                    }
                }
                group.addTask {
                    while (try? await Task.sleep(for: self.heartbeat)) != nil {
                        await self.attempt("heartbeat") { try await self.store.heartbeat(at: Date()) }
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        await attempt("run end") { try await self.store.endRun(at: Date()) }
    }

    /// A failed write is logged, not fatal: coverage then counts less observed time, which is
    /// what happened as far as the database knows.
    private func attempt(_ what: String, _ body: @Sendable () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.warning("could not record \(what) for coverage", metadata: ["error": "\(store.failure(error).explanation)"])
        }
    }
}
