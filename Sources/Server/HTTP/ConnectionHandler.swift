import Foundation
import NIOCore
import NIOHTTP1

/// One client connection: collects each request (refusing bodies over the cap before
/// reading them), hands it to the application, writes the answer, keeps the connection
/// alive unless the client or a shutdown says otherwise.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let application: Application
    private let timer: ConnectionTimer
    private let peerUID: UInt32?
    private let draining: () -> Bool
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// After a 413 the rest of that request is ignored and the connection closes.
    private var refusing = false

    init(application: Application, timer: ConnectionTimer, peerUID: UInt32?, draining: @escaping () -> Bool) {
        self.application = application
        self.timer = timer
        self.peerUID = peerUID
        self.draining = draining
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard !refusing else { return }
            let announced = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            if announced > application.configuration.maxBodyBytes {
                return refuse(context: context, keepAlive: head.isKeepAlive, length: announced)
            }
            self.head = head
            // Room for a typical body at once; a larger one grows as its bytes come, so a client
            // announcing 16 MB and sending nothing holds no 16 MB.
            body = context.channel.allocator.buffer(capacity: min(max(announced, 0), 64 << 10))
        case .body(var chunk):
            guard !refusing, head != nil else { return }
            if body!.readableBytes + chunk.readableBytes > application.configuration.maxBodyBytes {
                return refuse(context: context, keepAlive: false, length: nil)
            }
            body!.writeBuffer(&chunk)
        case .end:
            guard !refusing, let head, let body else { return }
            self.head = nil
            self.body = nil
            timer.requestReceived()
            let (path, query) = RequestTarget.parse(head.uri)
            let request = Request(method: head.method, path: path, query: query, headers: head.headers, body: body, peerUID: peerUID)
            let keepAlive = head.isKeepAlive
            let version = head.version
            application.handle(request, on: context.eventLoop).assumeIsolated().whenSuccess { response in
                self.write(response, version: version, keepAlive: keepAlive, context: context)
            }
        }
    }

    private func refuse(context: ChannelHandlerContext, keepAlive: Bool, length: Int?) {
        refusing = true
        let size = length.map { "\($0) bytes" } ?? "over the limit"
        let error = APIError(status: .payloadTooLarge, code: "too_large",
                             message: "the request body is \(size); the limit is \(application.configuration.maxBodyBytes) bytes (mrl serve --max-body): split it into smaller requests")
        write(error.response, version: .http1_1, keepAlive: false, context: context)
    }

    private func write(_ response: Response, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        let keepAlive = keepAlive && !draining()
        var headers = HTTPHeaders()
        headers.reserveCapacity(4 + response.extraHeaders.count)
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        for (name, value) in response.extraHeaders { headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))), promise: nil)
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
