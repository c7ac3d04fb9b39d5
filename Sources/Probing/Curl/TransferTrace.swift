/// What one attempt showed hop by hop, for `phasewatch probe -v` and the probe-now endpoint:
/// the request as curl sent it, the response headers, and when each event of the hop happened.
///
/// Times are on phasewatch's clock (since the transfer started), taken in the callbacks that
/// follow the phase in progress: a socket opened (lookup done), a handshake started (TCP
/// connected), the request about to go, a complete status line. They are not curl's
/// timestamps, which exist only summed over every hop.
struct TransferTrace: Sendable {
    struct Hop: Sendable {
        var start: Duration
        var socketOpened: Duration?
        var tlsStarted: Duration?
        var requestSent: Duration?
        /// The first complete status line (an interim response's, if one came).
        var firstByte: Duration?
        var end: Duration?
        var url = ""
        var ip = ""
        var requestLine = ""
        var requestHeaders: [TraceHeader] = []
        var statusLine = ""
        var status = 0
        /// The headers of the hop's last response (an interim response's are replaced).
        var responseHeaders: [TraceHeader] = []

        init(start: Duration) { self.start = start }
    }

    var hops: [Hop]
}

/// One header line, as sent or received (a value may be redacted before it is shown).
public struct TraceHeader: Sendable, Equatable, Encodable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
