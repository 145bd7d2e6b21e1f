import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// `mrl serve`: HTTP/1.1 over a Unix-domain socket, on SwiftNIO.
///
/// SwiftNIO directly rather than a framework (Hummingbird): the daemon needs the accepted
/// socket itself (peer credentials by SO_PEERCRED), a socket systemd hands over (socket
/// activation), limits enforced before a body is read, and searches run on the event loop
/// that read them without a hop; routing twelve paths needs no framework.
public final class Daemon: Sendable {
    private let configuration: ServerConfiguration
    private let logger: Logger
    private let draining = Atomic(false)

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, answers the requests in flight,
    /// lets the writers commit, closes the indexes and removes the socket file.
    /// `ready` is called once the socket accepts connections, with its path.
    public func run(ready: (String) -> Void = { _ in }) throws {
        guard configuration.socketMode & 0o002 == 0 else {
            throw ListeningSocket.Problem.worldWritable(configuration.socketPath, configuration.socketMode)
        }
        raiseDescriptorLimit()
        let application = Application(configuration: configuration, logger: logger)
        let admission = ConnectionAdmission(configuration: configuration, metrics: application.metrics)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        let stop = DispatchSemaphore(value: 0)
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { stop.signal() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .childChannelInitializer { channel in self.initialize(channel, application: application, admission: admission) }
        let server: Channel
        let ownsSocketFile: Bool
        if let inherited = ListeningSocket.inherited() {
            server = try bootstrap.withBoundSocket(inherited).wait()
            ownsSocketFile = false
        } else {
            try ListeningSocket.prepare(configuration.socketPath)
            server = try ListeningSocket.create(configuration.socketPath, mode: configuration.socketMode,
                                                group: configuration.socketGroup) { temporary in
                try bootstrap.bind(unixDomainSocketPath: temporary).wait()
            }
            ownsSocketFile = true
        }
        let listening = ownsSocketFile ? configuration.socketPath : "the socket systemd passed (fd 3)"
        logger.info("listening on \(listening), indexes in \(configuration.data.path)")
        ready(listening)

        stop.wait()
        logger.info("stopping: finishing requests in flight")
        draining.store(true, ordering: .relaxed)
        try? server.close().wait()
        let deadline = Date().addingTimeInterval(30)
        while application.inFlight.load(ordering: .relaxed) > 0, Date() < deadline { usleep(2_000) }
        application.registry.openIndexes.forEach { $0.writer.flush() }
        for channel in admission.channels { try? channel.close().wait() }
        application.batcher.stop()
        try? group.syncShutdownGracefully()
        application.registry.closeAll()
        if ownsSocketFile { unlink(configuration.socketPath) }
        logger.info("stopped")
    }

    /// A new connection: the peer's uid and the limits on connections decide, before anything
    /// is read, whether it is served; then the pipeline (timeouts, HTTP/1.1 with pipelining
    /// and 400s for malformed requests, the handler).
    private func initialize(_ channel: Channel, application: Application, admission: ConnectionAdmission) -> EventLoopFuture<Void> {
        peerUID(of: channel).flatMapThrowing { uid in
            let pipeline = channel.pipeline.syncOperations
            let draining = self.draining.load(ordering: .relaxed)
            if let refusal = draining ? APIError.overloaded("the daemon is shutting down") : admission.admit(channel, uid: uid) {
                self.logger.warning("refused a connection: \(refusal.message)")
                if refusal.status == .serviceUnavailable { application.metrics.overloaded() }
                try channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
                try pipeline.addHandler(HTTPResponseEncoder())
                try pipeline.addHandler(RefusalHandler(refusal))
                return
            }
            let timer = ConnectionTimer(idle: .nanoseconds(Int64(self.configuration.idleTimeout * 1e9)),
                                        request: .nanoseconds(Int64(self.configuration.requestTimeout * 1e9)))
            try pipeline.addHandler(timer)
            // The handler writes only its own fixed header names and ASCII values, so NIO's
            // check of every outbound header (2% of the daemon's CPU under load) is skipped.
            try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true,
                                                     withOutboundHeaderValidation: false)
            try pipeline.addHandler(ConnectionHandler(application: application, timer: timer,
                                                      draining: { self.draining.load(ordering: .relaxed) }))
        }
    }

    /// Each connection is a descriptor: the soft limit is raised (as far as the hard one allows)
    /// to fit `--max-connections` and the indexes' files, or the daemon says it cannot.
    private func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let wanted = rlim_t(configuration.maxConnections) + Daemon.descriptorsBesideConnections
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        if limit.rlim_cur < wanted {
            logger.warning("the descriptor limit is \(limit.rlim_cur), below --max-connections + \(Daemon.descriptorsBesideConnections): raise it (ulimit -n, or LimitNOFILE= in mrl.service)")
        }
    }

    /// Descriptors kept for the indexes' files, the encoder and the event loops.
    static let descriptorsBesideConnections: rlim_t = 256

    /// The connecting process's uid by SO_PEERCRED (nil if the kernel does not say).
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
