/// One of `total` agents that split a location's targets between them (docs/config.md#shard):
/// `index` is 1-based, "shard 2 of 4" is written `2/4`. Every agent reads the same target list
/// and keeps the targets rendezvous hashing gives to its index.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let total: Int

    /// One agent owning every target: the agent without sharding.
    public static let whole = Shard(checked: 1, 1)

    public init(index: Int, total: Int) throws(Invalid) {
        guard total >= 1 else { throw Invalid("the total must be at least 1, got \(total)") }
        guard (1...total).contains(index) else { throw Invalid("the index must be 1…\(total), got \(index)") }
        self.init(checked: index, total)
    }

    /// `INDEX/TOTAL`, both plain decimal numbers: "2/4".
    public init(parsing text: String) throws(Invalid) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        func number(_ part: Substring) -> Int? {
            guard !part.isEmpty, part.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return Int(part)
        }
        guard parts.count == 2, let index = number(parts[0]), let total = number(parts[1]) else {
            // Errors are one line each (docs/config.md#errors): a long value is cut.
            let shown = text.count > 40 ? text.prefix(40) + "…" : Substring(text)
            throw Invalid("must be INDEX/TOTAL such as 2/4, got \"\(shown)\"")
        }
        try self.init(index: index, total: total)
    }

    private init(checked index: Int, _ total: Int) {
        self.index = index
        self.total = total
    }

    public var description: String { "\(index)/\(total)" }

    /// Whether this shard probes the target `name`.
    public func owns(_ name: String) -> Bool {
        total == 1 || Self.owner(of: name, total: total) == index
    }

    /// The shard (1…total) that owns `name`: the one with the highest weight. A shard's weight
    /// does not depend on `total`, so adding shard N+1 moves only the names it now outweighs,
    /// about 1/(N+1) of them, and only to itself.
    public static func owner(of name: String, total: Int) -> Int {
        var best = 1
        var bestWeight = weight(name, shard: 1)
        for shard in stride(from: 2, through: total, by: 1) {
            let w = weight(name, shard: shard)
            if w > bestWeight {
                best = shard
                bestWeight = w
            }
        }
        return best
    }

    /// The weight of `shard` for `name`, the same in every process, version and platform (every
    /// agent of a location must agree): 64-bit FNV-1a over the name's UTF-8 bytes, then the
    /// shard number's 8 bytes little-endian, then splitmix64's finaliser, which spreads FNV's
    /// weak low bits over the whole word.
    public static func weight(_ name: String, shard: Int) -> UInt64 {
        var hash = FNV1a()
        hash.add(bytes: name.utf8)
        hash.add(littleEndian: UInt64(shard))
        var z = hash.value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Why a shard text or number pair was refused; `description` is the message.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}

/// What a shard holds of the configured targets, for the API, the status page and the logs.
public struct ShardCoverage: Sendable, Equatable {
    public var shard: Shard
    /// Targets this shard owns (and probes).
    public var owned: Int
    /// Targets in the config, over all shards.
    public var configured: Int

    public init(shard: Shard, owned: Int, configured: Int) {
        self.shard = shard
        self.owned = owned
        self.configured = configured
    }
}

extension AgentConfig {
    /// The config with only the targets `shard` owns, and what that leaves of the whole list.
    /// Everything but `targets` stays as it is.
    public func owned(by shard: Shard) -> (config: AgentConfig, coverage: ShardCoverage) {
        var owned = self
        if shard.total > 1 { owned.targets = targets.filter { shard.owns($0.name) } }
        return (owned, ShardCoverage(shard: shard, owned: owned.targets.count, configured: targets.count))
    }
}
