import Foundation
import PhaseWatchCore
import Probing
import TestSupport
import Testing

/// A probe that fails for want of a descriptor on the agent's side is the agent's fault, not
/// the target's: `agent_error`, never `connect_error` (docs/probing.md, "Agent errors").
@Suite(.serialized)
struct AgentFaultTests {
    @Test func outOfFileDescriptorsIsAnAgentError() async throws {
        let prober = Prober()
        let target = Target(name: "healthy", url: TestServer.http("/"))
        #expect(await prober.probe(target).success)  // the loop and the server are up

        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        // Fill every descriptor up to a low soft limit, as 1 100 idle clients once did.
        var lowered = limit
        lowered.rlim_cur = 256
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lowered)
        var held: [Int32] = []
        while true {
            let fd = open("/dev/null", O_RDONLY)
            if fd < 0 { break }
            held.append(fd)
        }
        let starved = await prober.probe(target)
        for fd in held { close(fd) }
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

        #expect(starved.failure?.reason == .agentError, "\(String(describing: starved.failure))")
        #expect(starved.failure?.message.contains("EMFILE") == true, "\(String(describing: starved.failure))")
        #expect(await prober.probe(target).success)  // and probing recovers with the descriptors
    }
}
