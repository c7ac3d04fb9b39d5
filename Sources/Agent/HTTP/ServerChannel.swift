import Hummingbird
import HummingbirdCore
import NIOCore
import Synchronization

/// How many clients the embedded server holds and for how long (docs/web-config.md,
/// "Connections"): an idle or half-sent client must not keep a descriptor the probes need.
public struct ConnectionLimits: Sendable, Equatable {
    /// Connections served at once; more wait in the kernel's accept backlog.
    public var maxConnections: Int
    /// A connection that completes no request part for this long (a request head still
    /// trickling in, or idle between requests) is closed; one whose response is being written
    /// is not.
    public var idleTimeout: Duration

    public static let `default` = ConnectionLimits(maxConnections: 512, idleTimeout: .seconds(30))

    public init(maxConnections: Int, idleTimeout: Duration) {
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 within `limits`.
    static func agentHTTP1(_ limits: ConnectionLimits) -> HTTPServerBuilder {
        let gate = ConnectionGate(limit: limits.maxConnections)
        return .http1(configuration: HTTP1Channel.Configuration(
            additionalChannelHandlers: [ConnectionGate.Handler(gate: gate)],
            idleTimeout: .nanoseconds(Int64(limits.idleTimeout.seconds * 1e9))))
    }
}

/// Counts open connections; at the limit the listening socket stops accepting (as Prometheus's
/// `--web.max-connections` does) and new clients wait in the accept backlog until one closes,
/// rather than being accepted into a process out of descriptors.
final class ConnectionGate: Sendable {
    let limit: Int
    private let open = Mutex(0)

    init(limit: Int) { self.limit = max(1, limit) }

    var count: Int { open.withLock { $0 } }

    /// One per connection, in its pipeline for its whole life.
    /// Inbound only because NIO requires a direction: reads pass through untouched.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
        typealias InboundIn = NIOAny
        let gate: ConnectionGate
        private let counted = Atomic(false)

        init(gate: ConnectionGate) { self.gate = gate }

        func handlerAdded(context: ChannelHandlerContext) {
            guard !counted.exchange(true, ordering: .relaxed) else { return }
            gate.changed(by: 1, listener: context.channel.parent)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            guard counted.exchange(false, ordering: .relaxed) else { return }
            gate.changed(by: -1, listener: context.channel.parent)
        }
    }

    /// Whether to accept flips only between `limit - 1` and `limit` open connections, so a change
    /// that leaves the count below `limit - 1` needs no trip to the listener's loop.
    private func changed(by delta: Int, listener: (any Channel)?) {
        let open = self.open.withLock { open in
            open += delta
            return open
        }
        if open >= limit - 1 { settle(listener) }
    }

    /// Sets the listening socket's accepting to match the count. Decided on its own event loop
    /// from the count at that moment: connections open and close on other loops, and a
    /// decision made where the count changed could arrive after a newer one.
    private func settle(_ listener: (any Channel)?) {
        guard let listener else { return }
        listener.eventLoop.execute {
            let accepting = self.count < self.limit
            listener.setOption(ChannelOptions.autoRead, value: accepting).whenSuccess {
                if accepting { listener.read() }
            }
        }
    }
}
