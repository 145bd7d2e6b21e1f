import Glibc
import NIOCore
import NIOHTTP1

/// What a new connection gets: the peer's uid and the limits on connections decide, before
/// anything is read, whether it is served; then the pipeline (timeouts, HTTP/1.1 with
/// pipelining and 400s for malformed requests, the handler).
struct ConnectionPipeline: Sendable {
    let application: Application
    let admission: ConnectionAdmission

    func initialize(_ channel: Channel) -> EventLoopFuture<Void> {
        peerUID(of: channel).flatMapThrowing { uid in
            let pipeline = channel.pipeline.syncOperations
            if let refusal = admission.admit(channel, uid: uid) {
                application.logger.warning("refused a connection: \(refusal.message)")
                if refusal.status == .serviceUnavailable { application.metrics.overloaded() }
                try channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
                try pipeline.addHandler(HTTPResponseEncoder())
                try pipeline.addHandler(RefusalHandler(refusal))
                return
            }
            let configuration = application.configuration
            let timer = ConnectionTimer(idle: .nanoseconds(Int64(configuration.idleTimeout * 1e9)),
                                        request: .nanoseconds(Int64(configuration.requestTimeout * 1e9)))
            try pipeline.addHandler(timer)
            // The handler writes only its own fixed header names and ASCII values, so NIO's
            // check of every outbound header (2% of the daemon's CPU under load) is skipped.
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true,
                                                     withOutboundHeaderValidation: false)
            try pipeline.addHandler(ConnectionHandler(application: application, timer: timer))
        }
    }

    /// The connecting process's uid by SO_PEERCRED (nil if the kernel, or the channel, does not say).
    private func peerUID(of channel: Channel) -> EventLoopFuture<UInt32?> {
        guard let provider = channel as? SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        let credentials: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        return credentials.map { Optional($0.uid) }.recover { _ in nil }
    }
}

/// Linux's `struct ucred` (Glibc hides it behind _GNU_SOURCE): what SO_PEERCRED returns.
private struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
