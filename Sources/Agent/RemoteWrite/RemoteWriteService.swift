import Foundation
import Logging
import PhaseWatchCore
import Probing
import Prometheus
import RemoteWrite
import ServiceLifecycle
import Synchronization

/// Pushes the agent's series to every `remote_write` receiver (docs/remote-write.md): each on
/// its own grid of `send_interval`, collected here and queued to the receiver's
/// `RemoteWriteSender`. A reload (`configure`) keeps the queues of receivers that stay.
public final class RemoteWriteService: Service, Sendable {
    private struct Receiver {
        var settings: RemoteWriteConfig
        let sender: RemoteWriteSender
        let series: RemoteWriteSeries
        var next: ContinuousClock.Instant
    }

    /// How long a shutdown keeps sending what is pending: within `--shutdown.timeout`'s
    /// default, after the probes drained and the results were written.
    static let drainAtShutdown: Duration = .seconds(2)

    private let metrics: AgentMetrics
    private let location: String
    private let slo: @Sendable () -> SLOSnapshot?
    private let logger: Logger
    private let receivers = Mutex<[String: Receiver]>([:])
    private let collector: SeriesCollector
    /// The `instance` label of every pushed series (`identify`), as a scrape would add it:
    /// without it, the agent-wide series of two shards of a location would be one series.
    private let instance = Mutex(RemoteWriteService.hostName())
    /// The `job` label of every pushed series, as Prometheus's examples name the scrape job.
    static let job = "phasewatch"

    init(metrics: AgentMetrics, location: String, logger: Logger, slo: @escaping @Sendable () -> SLOSnapshot?) {
        self.metrics = metrics
        self.location = location
        self.logger = logger
        self.slo = slo
        collector = SeriesCollector(metrics: metrics)
    }

    /// The agent's `host:port`, for the `instance` label.
    public func identify(instance: String) {
        self.instance.withLock { $0 = instance }
    }

    /// The kernel's host name (`gethostname`), never looked up in DNS.
    public static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `external_labels` and the `job` and `instance` labels they do not set, sorted by name.
    private func labels(_ settings: RemoteWriteConfig) -> [RemoteWriteConfig.Label] {
        var labels = settings.externalLabels
        let identity = [("job", Self.job), ("instance", instance.withLock { $0 })]
        for (name, value) in identity where !labels.contains(where: { $0.name == name }) {
            labels.append(.init(name: name, value: value))
        }
        return labels.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }

    /// The receivers of a (re)loaded config: new ones start, changed ones take their new
    /// settings with their queue, removed ones stop and drop what they held.
    func configure(_ configs: [RemoteWriteConfig]) {
        let removed = receivers.withLock { receivers -> [Receiver] in
            var kept: [String: Receiver] = [:]
            for config in configs {
                if var receiver = receivers.removeValue(forKey: config.url) {
                    if receiver.settings != config {
                        receiver.sender.update(config)
                        receiver.next = min(receiver.next, .now + config.sendInterval)
                        receiver.settings = config
                    }
                    kept[config.url] = receiver
                } else {
                    kept[config.url] = makeReceiver(config)
                }
            }
            defer { receivers = kept }
            return Array(receivers.values)
        }
        guard !removed.isEmpty else { return }
        for receiver in removed { receiver.series.unregister(from: metrics.registry) }
        Task {
            for receiver in removed { await receiver.sender.stop(drain: .zero) }
        }
    }

    private func makeReceiver(_ config: RemoteWriteConfig) -> Receiver {
        let series = RemoteWriteSeries(registry: metrics.registry, location: location, url: config.shownURL)
        let sender = RemoteWriteSender(
            settings: config, userAgent: "phasewatch/\(PhaseWatchVersion.current)",
            hooks: SenderHooks(
                sent: {
                    series.sent.increment(by: Int64($0))
                    series.bytes.increment(by: Int64($1))
                }, failed: { series.failed.increment(by: Int64($0)) },
                dropped: { series.dropped.increment(by: Int64($0)) }, pending: { series.pending.set(to: Double($0)) },
                succeeded: { series.lastSuccess.set(to: $0) }),
            logger: logger)
        logger.info("remote write started", metadata: ["url": "\(config.shownURL)", "send_interval": "\(PromDuration.format(config.sendInterval))"])
        // The first collection one interval after start: probes have results by then.
        return Receiver(settings: config, sender: sender, series: series, next: .now + config.sendInterval)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.collectDue()
                try? await Task.sleep(for: self.untilNextDue())
            }
        }
        // A last collection, so that what happened since the previous one arrives too.
        let last = receivers.withLock { Array($0.values) }
        for receiver in last { await collect(for: receiver) }
        for receiver in last { await receiver.sender.stop(drain: Self.drainAtShutdown) }
    }

    private func collectDue() async {
        let now = ContinuousClock.now
        let due = receivers.withLock { receivers -> [Receiver] in
            var due: [Receiver] = []
            for (url, var receiver) in receivers where receiver.next <= now {
                due.append(receiver)
                // On the grid: a late collection does not shift the ones after it.
                while receiver.next <= now { receiver.next += receiver.settings.sendInterval }
                receivers[url] = receiver
            }
            return due
        }
        for receiver in due { await collect(for: receiver) }
    }

    private func collect(for receiver: Receiver) async {
        let settings = receiver.settings
        receiver.sender.enqueue(await collector.collect(slo: slo(), at: Date(), settings: settings, labels: labels(settings)))
    }

    private func untilNextDue() -> Duration {
        let next = receivers.withLock { $0.values.map(\.next).min() }
        // At most a second: a receiver added by a reload is picked up within it.
        guard let next else { return .seconds(1) }
        return max(.milliseconds(10), min(.seconds(1), next - .now))
    }
}

/// `phasewatch_remote_write_*` of one receiver (docs/metrics.md#remote-write).
struct RemoteWriteSeries: Sendable {
    let sent: Counter
    let failed: Counter
    let dropped: Counter
    let bytes: Counter
    let pending: Gauge
    let lastSuccess: Gauge

    init(registry: PrometheusCollectorRegistry, location: String, url: String) {
        let labels = [("location", location), ("url", url)]
        let samplesHelp = "Samples pushed to a remote-write receiver, by result: sent (taken), failed (a request that will be retried), dropped (given up)."
        func samples(_ result: String) -> Counter {
            registry.makeCounter(
                descriptor: .init(metricName: "phasewatch_remote_write_samples", unitName: "total", helpText: samplesHelp),
                labels: labels + [("result", result)])
        }
        sent = samples("sent")
        failed = samples("failed")
        dropped = samples("dropped")
        bytes = registry.makeCounter(
            descriptor: .init(metricName: "phasewatch_remote_write_sent_bytes", unitName: "total",
                              helpText: "Bytes of the requests a remote-write receiver took (snappy-compressed bodies)."),
            labels: labels)
        pending = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_remote_write_pending_samples", unitName: "",
                              helpText: "Samples queued for a remote-write receiver, not yet taken by it."),
            labels: labels)
        lastSuccess = registry.makeGauge(
            descriptor: .init(metricName: "phasewatch_remote_write_last_success_timestamp", unitName: "seconds",
                              helpText: "Unix time of the last request a remote-write receiver took."),
            labels: labels)
    }

    func unregister(from registry: PrometheusCollectorRegistry) {
        registry.unregisterCounter(sent)
        registry.unregisterCounter(failed)
        registry.unregisterCounter(dropped)
        registry.unregisterCounter(bytes)
        registry.unregisterGauge(pending)
        registry.unregisterGauge(lastSuccess)
    }
}
