import Foundation
import PhaseWatchCore
@testable import Probing
import TestSupport
import Testing

/// `ip_policy: all` (docs/probing.md#addresses) against real servers on loopback addresses: a
/// name pinned with `resolve` (never the machine's resolver) to 127.0.0.2 and 127.0.0.4, which
/// have a server, 127.0.0.3 and 127.0.0.5, which have none, and ::1, which has one when the
/// machine has IPv6.
@Suite(.serialized)
struct AddressPolicyTests {
    let prober = Prober()

    /// Servers on one port of 127.0.0.2, 127.0.0.4 (and ::1); that port is closed on 127.0.0.3 and 127.0.0.5.
    final class Servers {
        let server: ServerProcess
        let port: Int
        let ipv6: Bool

        init() throws {
            ipv6 = Self.hasIPv6
            var lastError: (any Error)?
            // The port is free on 127.0.0.1; another process may take it on the others first.
            for _ in 0..<5 {
                let port = TestServer.closedPort()
                var arguments = ["--listen", "a=http,host=127.0.0.2,port=\(port)", "--listen", "b=http,host=127.0.0.4,port=\(port)"]
                if ipv6 { arguments += ["--listen", "v6=http,host=::1,port=\(port)"] }
                do {
                    server = try ServerProcess(script: "testserver.py", arguments: arguments)
                    self.port = port
                    return
                } catch {
                    lastError = error
                }
            }
            throw lastError!
        }

        deinit { server.stop() }

        /// Whether ::1 can be bound (containers without IPv6 cannot).
        static var hasIPv6: Bool {
            let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_addr = in6addr_loopback
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
            }
        }

        func target(_ addresses: [String], success: AddressSuccess = .all, query: String = "?processing=0.02") -> Target {
            var target = Target(name: "svc", url: "http://svc.test:\(port)/\(query)")
            target.resolve = ["svc.test:\(port):" + addresses.joined(separator: ",")]
            target.ipPolicy = .all
            target.addressSuccess = success
            target.timeouts = Timeouts(total: .seconds(2))
            return target
        }
    }

    @Test func everyAddressGetsItsOwnResult() async throws {
        let servers = try Servers()
        let addresses = ["127.0.0.2", "127.0.0.3"] + (servers.ipv6 ? ["[::1]"] : [])
        if !servers.ipv6 { print("AddressPolicyTests: no IPv6 on this machine; ::1 left out") }
        let results = await prober.run(servers.target(addresses))
        let own = try #require(results.first)
        let each = Array(results.dropFirst())
        #expect(each.map(\.address) == ["127.0.0.2", "127.0.0.3"] + (servers.ipv6 ? ["::1"] : []))

        let good = each[0]
        #expect(good.success, "\(String(describing: good.failure))")
        #expect(good.ip == IPFacts(address: "127.0.0.2", family: 4))
        #expect(good.http?.status == 200)
        let processing = try #require(good.phases.processing)
        #expect(processing >= 0.02, "processing \(processing)")

        let closed = each[1]
        #expect(!closed.success)
        #expect(closed.failure?.phase == .connect)
        #expect(closed.failure?.reason == .connectRefused)
        #expect(closed.phases.processing == nil)

        if servers.ipv6 {
            #expect(each[2].success, "\(String(describing: each[2].failure))")
            #expect(each[2].ip == IPFacts(address: "::1", family: 6))
        }
        // One lookup for the run: every address starts with it and carries its time.
        #expect(Set(each.map(\.startedAt)).count == 1)
        #expect(Set(each.map(\.phases.resolve)).count <= each.count)
        #expect(each.allSatisfy { ($0.phases.resolve ?? -1) >= 0 })
        // Each address on its own connection, concurrently: the slow good one did not wait
        // for the refused one, nor the other way round.
        #expect(closed.duration < processing, "refused after \(closed.duration) s")

        // success: all — the broken address decides, and the target's result names it.
        #expect(!own.success)
        #expect(own.address == nil)
        #expect(own.failure?.reason == .connectRefused)
        #expect(own.failure?.message.hasPrefix("127.0.0.3: ") == true, "\(String(describing: own.failure))")
        #expect(own.traceId == closed.traceId)
    }

    @Test func successAnyNeedsOneGoodAddress() async throws {
        let servers = try Servers()
        let results = await prober.run(servers.target(["127.0.0.3", "127.0.0.2"], success: .any))
        let own = try #require(results.first)
        #expect(own.success, "\(String(describing: own.failure))")
        #expect(own.ip?.address == "127.0.0.2")
        #expect(results.dropFirst().map(\.success) == [false, true])

        // Nothing answers: the first failure decides, under any as under all.
        let none = await prober.run(servers.target(["127.0.0.3", "127.0.0.5"], success: .any))
        #expect(none.count == 3)
        #expect(none[0].success == false && none[0].failure?.message.hasPrefix("127.0.0.3: ") == true)
    }

    @Test func everyAddressGoodMeansTheSlowestDecides() async throws {
        let servers = try Servers()
        let results = await prober.run(servers.target(["127.0.0.2", "127.0.0.4", "127.0.0.2"]))
        #expect(results.dropFirst().map(\.address) == ["127.0.0.2", "127.0.0.4"], "a repeated address is probed once")
        let own = try #require(results.first)
        #expect(own.success, "\(String(describing: own.failure))")
        #expect(own.duration == results.dropFirst().map(\.duration).max())
    }

    /// curl keeps `resolve` pins in a DNS cache: each transfer has its own, so a target's pins
    /// never reach another probe of the same name, later or at the same time. (`localhost` is
    /// in /etc/hosts: the unpinned probe asks no DNS server.)
    @Test func pinsStayWithTheirOwnProbe() async throws {
        let servers = try Servers()
        var pinned = Target(name: "pinned", url: "http://localhost:\(servers.port)/")
        pinned.resolve = ["localhost:\(servers.port):127.0.0.2"]
        pinned.ipProtocol = .ip4
        var unpinned = pinned
        unpinned.name = "unpinned"
        unpinned.resolve = []
        #expect(await prober.probe(pinned).success)
        // 127.0.0.1 has nothing on the port: only the other target's pin would make this succeed.
        let after = await prober.probe(unpinned)
        #expect(after.failure?.reason == .connectRefused, "\(String(describing: after.failure)) \(String(describing: after.ip))")

        let outcomes = await withTaskGroup(of: (String, ProbeResult).self) { group in
            for i in 0..<24 {
                let address = i % 2 == 0 ? "127.0.0.2" : "127.0.0.3"
                var target = Target(name: "pin\(i)", url: "http://svc.test:\(servers.port)/?processing=0.01")
                target.resolve = ["svc.test:\(servers.port):\(address)"]
                group.addTask { (address, await prober.probe(target)) }
            }
            var all: [(String, ProbeResult)] = []
            for await one in group { all.append(one) }
            return all
        }
        for (address, result) in outcomes {
            #expect(result.success == (address == "127.0.0.2"), "pinned to \(address): \(String(describing: result.failure))")
            if result.success { #expect(result.ip?.address == address) }
        }
    }

    @Test func aLookupThatFindsNothingFailsTheRunInResolve() async throws {
        var target = Target(name: "t", url: "http://nxdomain..invalid/")
        target.ipPolicy = .all
        let results = await prober.run(target)
        #expect(results.count == 1)
        #expect(results[0].failure?.phase == .resolve)
        #expect(results[0].address == nil)

        // Pins of one family, a target of the other.
        let servers = try Servers()
        var v6 = servers.target(["127.0.0.2"])
        v6.ipProtocol = .ip6
        let narrowed = await prober.run(v6)
        #expect(narrowed.count == 1)
        #expect(narrowed[0].failure?.reason == .dnsNXDomain)
        #expect(narrowed[0].failure?.message.contains("no IPv6 address") == true, "\(String(describing: narrowed[0].failure))")
    }

    /// Without a pin the system resolver answers: `localhost` is in /etc/hosts, no query leaves
    /// the machine.
    @Test func theSystemResolverAnswersWithoutAPin() async throws {
        var target = Target(name: "t", url: "http://localhost:\(TestServer.shared.port("http"))/")
        target.ipPolicy = .all
        target.addressSuccess = .any
        let results = await prober.run(target)
        let v4 = try #require(results.first { $0.address == "127.0.0.1" }, "\(results.map(\.address))")
        #expect(v4.success, "\(String(describing: v4.failure))")
        #expect(results[0].success)
        #expect((v4.phases.resolve ?? 0) > 0)
    }
}
