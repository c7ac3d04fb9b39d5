import PhaseWatchCore
import Testing

/// Rendezvous hashing of target names over shards (docs/config.md#shard): every agent of a
/// location must compute the same owner for a name, today and in every later version.
struct ShardTests {
    static let names = (0..<10_000).map { "target-\($0)" }

    @Test func parsesIndexOfTotal() throws {
        #expect(try Shard(parsing: "2/4") == Shard(index: 2, total: 4))
        #expect(try Shard(parsing: "1/1") == .whole)
        #expect(try Shard(parsing: "12/12").description == "12/12")
    }

    @Test(arguments: [
        ("", #"must be INDEX/TOTAL such as 2/4, got """#),
        ("2", #"must be INDEX/TOTAL such as 2/4, got "2""#),
        ("2/4/8", #"must be INDEX/TOTAL such as 2/4, got "2/4/8""#),
        (" 2/4", #"must be INDEX/TOTAL such as 2/4, got " 2/4""#),
        ("+2/4", #"must be INDEX/TOTAL such as 2/4, got "+2/4""#),
        ("-1/4", #"must be INDEX/TOTAL such as 2/4, got "-1/4""#),
        ("a/b", #"must be INDEX/TOTAL such as 2/4, got "a/b""#),
        ("99999999999999999999/4", #"must be INDEX/TOTAL such as 2/4, got "99999999999999999999/4""#),
        (String(repeating: "9", count: 50), #"must be INDEX/TOTAL such as 2/4, got "9999999999999999999999999999999999999999…""#),
        ("0/4", "the index must be 1…4, got 0"),
        ("5/4", "the index must be 1…4, got 5"),
        ("1/0", "the total must be at least 1, got 0"),
    ])
    func refusesWithAReason(text: String, message: String) {
        #expect(throws: Shard.Invalid(message)) { try Shard(parsing: text) }
    }

    /// Pinned: a change to the hash would silently move targets between running agents of
    /// different versions. The values were computed by an independent implementation of the
    /// formula in `Shard.weight` (FNV-1a 64, index as 8 bytes little-endian, splitmix64).
    @Test func knownAssignmentsStayPut() {
        #expect(Shard.weight("api-health", shard: 1) == 0xaac0_1e66_5f6d_1e76)
        #expect(Shard.weight("", shard: 1) == 0xc2be_3627_c2bf_e353)
        let pinned: [String: [Int]] = [
            // owner with 2, 3, 4 and 8 shards
            "api-health": [1, 3, 3, 3], "checkout": [1, 1, 1, 6], "login": [1, 3, 4, 4],
            "t0": [2, 3, 3, 5], "t2": [1, 1, 1, 1], "täst-ü": [2, 2, 2, 7],
        ]
        for (name, owners) in pinned {
            #expect([2, 3, 4, 8].map { Shard.owner(of: name, total: $0) } == owners, "\(name)")
        }
    }

    @Test func everyTargetHasExactlyOneOwner() throws {
        for total in [1, 2, 3, 5] {
            let shards = try (1...total).map { try Shard(index: $0, total: total) }
            for name in Self.names.prefix(2_000) {
                #expect(shards.filter { $0.owns(name) }.count == 1, "\(name) of \(total)")
            }
        }
    }

    /// Each shard's share of 10 000 names is within 1.5 percentage points of 1/TOTAL.
    @Test func sharesAreBalanced() {
        for total in 2...8 {
            var counts = [Int](repeating: 0, count: total + 1)
            for name in Self.names { counts[Shard.owner(of: name, total: total)] += 1 }
            #expect(counts[0] == 0)
            for shard in 1...total {
                let share = Double(counts[shard]) / Double(Self.names.count)
                #expect(abs(share - 1 / Double(total)) < 0.015, "shard \(shard) of \(total): \(share)")
            }
        }
    }

    /// From TOTAL to TOTAL+1 shards about 1/(TOTAL+1) of the names move, all to the new shard.
    @Test func addingAShardMovesOnlyItsShare() {
        for total in 1...7 {
            var moved = 0
            for name in Self.names {
                let before = Shard.owner(of: name, total: total)
                let after = Shard.owner(of: name, total: total + 1)
                guard before != after else { continue }
                moved += 1
                #expect(after == total + 1, "\(name) moved from \(before) to \(after), not to the new shard")
            }
            let share = Double(moved) / Double(Self.names.count)
            #expect(abs(share - 1 / Double(total + 1)) < 0.015, "\(total) → \(total + 1): \(share) moved")
        }
    }

    @Test func ownedConfigKeepsTheShardsTargetsInOrder() throws {
        let targets = Self.names.prefix(100).map { Target(name: $0, url: "http://127.0.0.1:1/\($0)") }
        let config = AgentConfig(targets: Array(targets))
        let shard = try Shard(index: 2, total: 3)
        let (owned, coverage) = config.owned(by: shard)
        #expect(owned.targets.map(\.name) == targets.map(\.name).filter { Shard.owner(of: $0, total: 3) == 2 })
        #expect(coverage == ShardCoverage(shard: shard, owned: owned.targets.count, configured: 100))
        #expect(owned.global == config.global && owned.storage == config.storage)
        #expect(config.owned(by: .whole).config == config)
    }
}
