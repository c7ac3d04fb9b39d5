import CSnappy

/// Snappy's block format (not its framed stream), as remote-write bodies are compressed.
public enum Snappy {
    public static func compress(_ input: [UInt8]) -> [UInt8] {
        var length = snappy_max_compressed_length(input.count)
        var output = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                source.withMemoryRebound(to: CChar.self) { source in
                    target.withMemoryRebound(to: CChar.self) { target in
                        snappy_compress(source.baseAddress, source.count, target.baseAddress, &length)
                    }
                }
            }
        }
        // Fails only when the output is shorter than snappy_max_compressed_length says it need be.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of its own maximum length")
        output.removeLast(output.count - length)
        return output
    }

    /// Nil when `input` is not a valid snappy block.
    public static func uncompress(_ input: [UInt8]) -> [UInt8]? {
        input.withUnsafeBufferPointer { source -> [UInt8]? in
            source.withMemoryRebound(to: CChar.self) { source in
                var length = 0
                guard snappy_uncompressed_length(source.baseAddress, source.count, &length) == SNAPPY_OK else { return nil }
                var output = [UInt8](repeating: 0, count: length)
                let status = output.withUnsafeMutableBufferPointer { target in
                    target.withMemoryRebound(to: CChar.self) { target in
                        snappy_uncompress(source.baseAddress, source.count, target.baseAddress, &length)
                    }
                }
                return status == SNAPPY_OK ? Array(output.prefix(length)) : nil
            }
        }
    }
}
