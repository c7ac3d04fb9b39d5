import Agent
import Foundation
import Logging
import PhaseWatchCore
import Storage
import TestSupport
import Testing

/// A result the agent could not produce for want of descriptors is the agent's fault: it
/// leaves the target's state, history and series alone and is counted on its own.
struct AgentErrorTests {
    @Test func agentErrorsAreCountedNotHeldAgainstTheTarget() async throws {
        let dir = Scratch.dir.appendingPathComponent("agent-error-\(UUID().uuidString)")
        let store = try ProbeStore(path: dir.appendingPathComponent("pw.db").path)
        let target = Target(name: "api", url: "http://127.0.0.1:9/")
        let runtime = AgentRuntime(
            config: AgentConfig(targets: [target]), source: .text("", name: "test"), store: store, logger: Logger(label: "test"))
        runtime.prepareWithoutProbing()
        for _ in 0..<5 {
            runtime.record(
                ProbeResult(
                    target: "api", url: target.url, startedAt: Date(), success: false,
                    failure: Failure(phase: .connect, reason: .agentError, message: "the agent could not open a socket (EMFILE)"),
                    phases: Phases(), duration: 0, traceId: String(repeating: "a", count: 32)),
                of: target)
        }
        #expect(runtime.targets.status("api")?.state == .unknown)
        #expect(runtime.writer.pendingCount == 0)
        #expect(runtime.latestResults["api"] == nil)
        let text = try await runtime.metrics.render()
        #expect(text.contains(#"phasewatch_probe_agent_errors_total{location="local"} 5"#), "\(text.prefix(3000))")
        #expect(!text.contains(#"probe_success{target="api""#))

        // A real failure still counts against the target.
        runtime.record(
            ProbeResult(
                target: "api", url: target.url, startedAt: Date(), success: false,
                failure: Failure(phase: .connect, reason: .connectRefused, message: "refused"), phases: Phases(), duration: 0,
                traceId: String(repeating: "b", count: 32)),
            of: target)
        #expect(runtime.writer.pendingCount == 1)
        #expect(runtime.latestResults["api"]?.failure?.reason == .connectRefused)
    }
}
