import NIOCore
import NIOHTTP1
import Synchronization

/// Which connections the daemon takes, decided when it accepts one, before any byte of a
/// request is read: the peer's uid must be allowed (`--allow-uid`; a peer whose uid the
/// kernel does not tell is then refused), and the connections open in total and per uid stay
/// within their limits, so that one user's connections cannot lock out the others.
final class ConnectionAdmission: Sendable {
    private struct Open {
        var channels: [ObjectIdentifier: Channel] = [:]
        var perUID: [UInt32?: Int] = [:]
    }

    private let configuration: ServerConfiguration
    private let metrics: ServerMetrics
    private let open = Mutex(Open())
    private let shuttingDown = Atomic(false)

    init(configuration: ServerConfiguration, metrics: ServerMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Counts `channel` as open until it closes, or says why it is refused.
    func admit(_ channel: Channel, uid: UInt32?) -> APIError? {
        if shuttingDown.load(ordering: .relaxed) { return .overloaded("the daemon is shutting down: retry once it is back") }
        if let allowed = configuration.allowedUIDs, uid.map(allowed.contains) != true {
            let who = uid.map { "uid \($0)" } ?? "a peer whose uid the kernel does not tell (SO_PEERCRED)"
            return APIError(status: .forbidden, code: "forbidden",
                            message: "\(who) may not use this daemon: it allows uids \(allowed.sorted().map(String.init).joined(separator: ", ")) (--allow-uid)")
        }
        let id = ObjectIdentifier(channel)
        let refusal: APIError? = open.withLock { open in
            guard open.channels.count < configuration.maxConnections else {
                return .overloaded("the daemon has \(open.channels.count) connections open (limit \(configuration.maxConnections), mrl serve --max-connections): retry shortly")
            }
            let mine = open.perUID[uid, default: 0]
            guard mine < configuration.maxConnectionsPerUID else {
                return .overloaded("uid \(uid.map(String.init) ?? "unknown") has \(mine) connections open (limit \(configuration.maxConnectionsPerUID), mrl serve --max-connections-per-uid): close some or retry shortly")
            }
            open.channels[id] = channel
            open.perUID[uid] = mine + 1
            metrics.connections(open.channels.count)
            return nil
        }
        guard refusal == nil else { return refusal }
        channel.closeFuture.whenComplete { _ in
            self.open.withLock { open in
                open.channels[id] = nil
                let left = open.perUID[uid, default: 1] - 1
                open.perUID[uid] = left > 0 ? left : nil
                self.metrics.connections(open.channels.count)
            }
        }
        return nil
    }

    /// Refuses every later connection: the daemon is shutting down.
    func stopAdmitting() { shuttingDown.store(true, ordering: .relaxed) }

    /// The connections open now (a shutdown closes those still open at its deadline).
    var channels: [Channel] { open.withLock { Array($0.channels.values) } }
}

/// Answers a refused connection with `error`'s response and closes it, reading nothing: the
/// channel is set not to read on its own, so the peer's request never enters the daemon.
final class RefusalHandler: ChannelInboundHandler {
    typealias InboundIn = Never
    typealias OutboundOut = HTTPServerResponsePart

    private let response: Response
    private var answered = false

    init(_ error: APIError) { response = error.response }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context: context)
        context.fireChannelActive()
    }

    private func answer(context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        context.write(wrapOutboundOut(.head(response.head(version: .http1_1, keepAlive: false))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }
}
