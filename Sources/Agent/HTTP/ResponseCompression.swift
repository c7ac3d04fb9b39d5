import CZlib
import Hummingbird
import NIOCore

/// gzip for every response whose client asks for it (docs/metrics.md, "Compression"):
/// Prometheus sends `Accept-Encoding: gzip` on every scrape. A body is compressed as it is
/// written, buffer by buffer, so a streamed `/metrics` stays streamed, whatever its format.
///
/// Compressed: a response with content (not 1xx, 204 or 304), no `Content-Encoding` of its
/// own and a length unknown (streamed) or at least `minimumLength`, to a request other than
/// HEAD whose `Accept-Encoding` accepts gzip. Every response that would be compressed for
/// such a request says `Vary: Accept-Encoding`, asked or not, so caches keep the two apart.
///
/// A middleware, not swift-nio-extras' `HTTPResponseCompressor` channel handler: Hummingbird's
/// `additionalChannelHandlers` sit after the HTTP/1 → HTTPTypes translation, where that handler
/// cannot go; in front of it (on NIOHTTP1 parts) it gives a HEAD answer a 20-byte body, picks
/// deflate when a client lists both, and crashes on a response that no request head came
/// before (Hummingbird's 400 for a request that does not parse). Its zlib is internal: `CZlib`.
struct ResponseCompressionMiddleware<Context: RequestContext>: RouterMiddleware {
    /// A body known to be shorter goes as it is: it fits in one packet either way, and gzip's
    /// 18 bytes of header and trailer and a zlib stream's setup would be most of the work.
    static var minimumLength: Int { 1024 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard Self.isCompressible(response) else { return response }
        Self.addVary(to: &response.headers)
        guard request.method != .head, AcceptEncoding.acceptsGzip(request.headers[values: .acceptEncoding]) else {
            return response
        }
        response.headers[.contentEncoding] = "gzip"
        // The compressed length is known only at the end: the body goes chunked. (The setter
        // drops a Content-Length that came from the body; this one, any set by hand.)
        response.body = response.body.gzipped()
        response.headers[.contentLength] = nil
        return response
    }

    /// Whether the response would be compressed for a client that asks.
    static func isCompressible(_ response: Response) -> Bool {
        let status = response.status
        guard status.kind != .informational, status != .noContent, status != .notModified,
            !response.headers.contains(.contentEncoding)
        else { return false }
        guard let length = response.headers[.contentLength] else { return true }
        return (Int(length) ?? 0) >= minimumLength
    }

    static func addVary(to headers: inout HTTPFields) {
        let listed = WeightedList.elements(headers[values: .vary]).map(\.value)
        guard !listed.contains("*"), !listed.contains("accept-encoding") else { return }
        headers.append(.init(name: .vary, value: "Accept-Encoding"))
    }
}

/// The request's `Accept-Encoding` (RFC 9110 §12.5.3), as far as gzip goes.
enum AcceptEncoding {
    /// Whether the header lines `fields` accept gzip: `gzip` or `x-gzip` with a weight above 0,
    /// or else `*` above 0 (an explicit `gzip;q=0` wins over `*`). No header accepts nothing
    /// (RFC 9110 would allow any coding, but a client that says nothing may not decode one).
    /// A malformed weight counts as 0: the plain body is always safe.
    static func acceptsGzip(_ fields: [String]) -> Bool {
        var gzip: Double?
        var any: Double?
        for element in WeightedList.elements(fields) {
            switch element.value {
            case "gzip", "x-gzip": gzip = max(gzip ?? 0, element.weight)
            case "*": any = element.weight
            default: break
            }
        }
        return (gzip ?? any ?? 0) > 0
    }
}

extension ResponseBody {
    /// This body gzipped while it is written: each buffer is compressed and sent on at once (a
    /// sync flush, so nothing the handler wrote waits in zlib), the gzip trailer at the end.
    func gzipped() -> ResponseBody {
        let body = self
        return ResponseBody { writer in
            try await body.write(GzipBodyWriter(parent: writer))
        }
    }
}

/// Compresses what a body writes and passes it to the connection's writer.
struct GzipBodyWriter: ResponseBodyWriter {
    var parent: any ResponseBodyWriter
    let deflater = Deflater()

    mutating func write(_ buffer: ByteBuffer) async throws {
        guard buffer.readableBytes > 0 else { return }
        try await parent.write(try deflater.compress(buffer, finish: false))
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {
        try await parent.write(try deflater.compress(ByteBuffer(), finish: true))
        try await parent.finish(trailingHeaders)
    }
}

/// One gzip stream through the system's zlib. Used by one task at a time; its memory (zlib's
/// deflate state, 2^(windowBits+2) + 2^(memLevel+9) bytes by zlib.h) is freed when the response
/// is done or abandoned.
final class Deflater {
    struct Failure: Error, CustomStringConvertible {
        let code: Int32
        var description: String { "zlib deflate failed (\(code))" }
    }

    /// zlib keeps the stream's address in its own state: it must not move.
    private let stream: UnsafeMutablePointer<z_stream>
    private let allocator = ByteBufferAllocator()

    /// zlib's fastest level by default: exposition text is so repetitive that level 1 already
    /// shrinks it most of the way, for a fraction of the CPU of zlib's default level 6
    /// (figures: bench/README.md, "gzip").
    init(level: Int32 = Z_BEST_SPEED) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code = czlib_deflate_init_gzip(stream, level)
        // Only an allocation failure or a bad level can fail here.
        precondition(code == Z_OK, "zlib deflateInit2 failed (\(code))")
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// `input` compressed: all of it, flushed to a byte boundary (`finish` false), or all of it
    /// and the end of the stream with gzip's trailer (`finish` true).
    func compress(_ input: ByteBuffer, finish: Bool) throws(Failure) -> ByteBuffer {
        let flush = finish ? Z_FINISH : Z_SYNC_FLUSH
        // Enough for one pass: deflateBound, plus a sync flush's empty block and the trailer.
        var output = allocator.buffer(capacity: Int(deflateBound(stream, UInt(input.readableBytes))) + 64)
        var code = Z_OK
        input.withUnsafeReadableBytes { bytes in
            stream.pointee.next_in = bytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_in = UInt32(bytes.count)
            var more = true
            while more {
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: 4096) { out in
                    let room = UInt32(clamping: out.count)
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.pointee.avail_out = room
                    code = deflate(stream, flush)
                    return Int(room - stream.pointee.avail_out)
                }
                // Z_OK with the output full: more is pending. A sync flush is done once there is
                // room left; a finish only at Z_STREAM_END. Z_BUF_ERROR: nothing left to do.
                more = code == Z_OK && (finish || stream.pointee.avail_out == 0)
            }
            stream.pointee.next_in = nil
            stream.pointee.next_out = nil
        }
        let done = finish ? code == Z_STREAM_END : (code == Z_OK || code == Z_BUF_ERROR)
        guard done else { throw Failure(code: code) }
        return output
    }
}
