import Foundation
import NIOCore
import NIOHTTP1

/// One client connection: collects each request (refusing bodies over the cap, or over the
/// daemon's budget of bodies in flight, before reading them), hands it to the application,
/// writes the answer, keeps the connection alive unless the client says otherwise. (A shutdown
/// is NIO's pipelining handler's: told to quiesce, it marks the answer in progress
/// `Connection: close` and closes the connection after it.)
///
/// Backpressure: NIO's pipelining handler before this one hands over one request at a time,
/// the next only once this one's answer is written, and reads nothing from the socket while
/// an answer is pending. So a request that arrives while the channel is not writable (the
/// peer is not reading its answers) is held here, unanswered, until it is writable again:
/// meanwhile nothing more is read from the connection, and the answers waiting in memory stay
/// within NIO's write buffer mark plus one. `ConnectionTimer` closes a connection that stays
/// unwritable too long.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private struct Received {
        var request: Request
        var version: HTTPVersion
        var keepAlive: Bool
    }

    private let application: Application
    private let timer: ConnectionTimer
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// Bytes of the body budget this connection's current request holds.
    private var reserved = 0
    /// A whole request waiting for the channel to become writable.
    private var held: Received?
    /// After a refusal (413, 503) the rest of that request is ignored and the connection closes.
    private var refusing = false

    init(application: Application, timer: ConnectionTimer) {
        self.application = application
        self.timer = timer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let limit = application.configuration.maxBodyBytes
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard !refusing else { return }
            let announced = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            if announced > limit {
                return refuse(tooLarge("the request body is \(announced) bytes"), context: context)
            }
            guard application.bodies.reserve(announced) else { return refuse(overBudget(), context: context) }
            reserved = max(announced, 0)
            self.head = head
            // Room for a typical body at once; a larger one grows as its bytes come, so a client
            // announcing 16 MB and sending nothing holds no 16 MB.
            body = context.channel.allocator.buffer(capacity: min(max(announced, 0), 64 << 10))
        case .body(var chunk):
            guard !refusing, head != nil, var body else { return }
            self.body = nil
            let size = body.readableBytes + chunk.readableBytes
            if size > limit { return refuse(tooLarge("the request body is over the limit"), context: context) }
            // A chunked body announced nothing: it takes from the budget as it comes.
            if size > reserved {
                guard application.bodies.reserve(size - reserved) else { return refuse(overBudget(), context: context) }
                reserved = size
            }
            body.writeBuffer(&chunk)
            self.body = body
        case .end:
            guard !refusing, let head, let body else { return }
            self.head = nil
            self.body = nil
            timer.requestReceived()
            let (path, query) = RequestTarget.parse(head.uri)
            let request = Request(method: head.method, path: path, query: query, headers: head.headers, body: body)
            let received = Received(request: request, version: head.version, keepAlive: head.isKeepAlive)
            if context.channel.isWritable { answer(received, context: context) } else { held = received }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let received = held {
            held = nil
            answer(received, context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// NIO's error handler has answered a malformed request 400 with `Connection: close`; the
    /// connection is closed here, or it would stay open until the request timeout.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPParserError { context.close(promise: nil) }
        context.fireErrorCaught(error)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        held = nil
        releaseBody()
    }

    private func answer(_ received: Received, context: ChannelHandlerContext) {
        application.handle(received.request, on: context.eventLoop).assumeIsolated().whenSuccess { response in
            self.write(response, version: received.version, keepAlive: received.keepAlive, context: context)
        }
    }

    private func tooLarge(_ what: String) -> APIError {
        APIError(status: .payloadTooLarge, code: "too_large",
                 message: "\(what); the limit is \(application.configuration.maxBodyBytes) bytes (mrl serve --max-body): split it into smaller requests")
    }

    private func overBudget() -> APIError {
        .overloaded("the daemon holds request bodies of up to \(application.bodies.bound) bytes at once (mrl serve --max-bodies-in-flight): retry shortly")
    }

    private func refuse(_ error: APIError, context: ChannelHandlerContext) {
        refusing = true
        if error.status == .serviceUnavailable { application.metrics.overloaded() }
        head = nil
        body = nil
        write(error.response, version: .http1_1, keepAlive: false, context: context)
    }

    private func releaseBody() {
        application.bodies.release(reserved)
        reserved = 0
    }

    private func write(_ response: Response, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        releaseBody()
        context.write(wrapOutboundOut(.head(response.head(version: version, keepAlive: keepAlive))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        if keepAlive {
            // Before the write: writing the end hands over a pipelined next request at once,
            // and that request's time must start after this one's.
            timer.responseSent()
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

/// The path and query of a request target, percent-decoded per segment.
enum RequestTarget {
    static func parse(_ uri: String) -> (path: [String], query: [String: String]) {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts[0].split(separator: "/", omittingEmptySubsequences: true).map(decoded)
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[decoded(kv[0])] = kv.count > 1 ? decoded(kv[1]) : ""
            }
        }
        return (path, query)
    }

    /// `part` percent-decoded (as it is when that fails). Foundation's decoding was 4% of the
    /// daemon's CPU under load, so parts without a "%" skip it.
    private static func decoded(_ part: Substring) -> String {
        let text = String(part)
        guard part.utf8.contains(UInt8(ascii: "%")) else { return text }
        return text.removingPercentEncoding ?? text
    }
}
