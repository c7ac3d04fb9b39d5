import Foundation
import PhaseWatchCore
import Testing

struct MallocTuningTests {
    /// The start of the mapping in /proc/self/maps that holds `address`.
    static func mappingStart(of address: UInt) throws -> UInt? {
        let maps = try String(contentsOfFile: "/proc/self/maps", encoding: .utf8)
        for line in maps.split(separator: "\n") {
            let range = line.prefix { $0 != " " }.split(separator: "-").compactMap { UInt($0, radix: 16) }
            if range.count == 2, range[0] <= address, address < range[1] { return range[0] }
        }
        return nil
    }

    /// Left to itself, glibc raises its threshold to 30 MiB when a 30 MiB block is freed, and
    /// the next 24 MiB block comes out of an arena; with the threshold fixed, that block has a
    /// mapping of its own (which starts at the chunk's 16-byte header). The sizes are large so
    /// that no free chunk an earlier test left in an arena can serve them.
    @Test func largeBlocksKeepTheirOwnMappingAfterALargerOneWasFreed() throws {
        #expect(MallocTuning.keepLargeBuffersSeparate())
        #expect(MallocTuning.mmapThreshold <= 24 << 20)
        // malloc is imported as implicitly unwrapped: a nil here traps, failing the test.
        free(malloc(30 << 20))
        let block: UnsafeMutableRawPointer = malloc(24 << 20)
        defer { free(block) }
        let address = UInt(bitPattern: block)
        #expect(try Self.mappingStart(of: address) == address - 16)
        MallocTuning.returnFreedMemory()
    }
}
