import Config
import PhaseWatchCore
import Testing

/// `global.shard` (docs/config.md#shard): a text INDEX/TOTAL, every mistake reported where it is.
struct ShardConfigTests {
    static let rows: [Broken] = [
        Broken("index over total", "global:\n  shard: 5/4\n",
               "pw.yml:2:10: global.shard: the index must be 1…4, got 5"),
        Broken("index zero", "global:\n  shard: \"0/2\"\n",
               "pw.yml:2:10: global.shard: the index must be 1…2, got 0"),
        Broken("total zero", "global:\n  shard: 1/0\n",
               "pw.yml:2:10: global.shard: the total must be at least 1, got 0"),
        Broken("a number, not INDEX/TOTAL", "global:\n  shard: 2\n",
               #"pw.yml:2:10: global.shard: must be INDEX/TOTAL such as 2/4, got "2""#),
        Broken("words", "global:\n  shard: two of four\n",
               #"pw.yml:2:10: global.shard: must be INDEX/TOTAL such as 2/4, got "two of four""#),
        Broken("a mapping", "global:\n  shard: {index: 2, total: 4}\n",
               #"pw.yml:2:10: global.shard: expected a shard like "2/4", got a mapping"#),
        Broken("misspelt key", "global:\n  shards: 2/4\n",
               #"pw.yml:2:3: global.shards: unknown key "shards"; did you mean "shard"?"#),
    ]

    @Test(arguments: rows)
    func reportsExactError(_ row: Broken) {
        #expect(Fixtures.check(row.yaml) == row.error)
    }

    @Test func readsTheShardAndKeepsEveryTarget() throws {
        let config = try Fixtures.parse("""
            global: {shard: "2/3"}
            targets:
              - {name: a, url: "http://127.0.0.1:1/a"}
              - {name: b, url: "http://127.0.0.1:1/b"}
              - {name: c, url: "http://127.0.0.1:1/c"}
            """)
        #expect(config.global.shard == (try Shard(index: 2, total: 3)))
        // The loader keeps the whole list: the running agent applies the shard to it.
        #expect(config.targets.map(\.name) == ["a", "b", "c"])
        #expect(try Fixtures.parse("targets: []\n").global.shard == .whole)
    }
}
