import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// The daemon's one service: binds the socket (or takes the one systemd passed) and serves it
/// until graceful shutdown. Then it quiesces: stops accepting, lets each connection finish the
/// request it is answering (NIO's pipelining handler then closes it; idle ones close at once)
/// and waits for the requests in flight, then closes the writers (each finishing the
/// transaction it commits), the indexes, and removes the socket file. A drain still going at
/// `Daemon.drainDeadline` is cut short by the service group's cancellation.
///
/// It binds in `run`, not before: the service group traps SIGTERM and SIGINT before it starts
/// its services, so no signal can come between the first connection and the trap.
final class DaemonService: Service {
    let application: Application
    private let group: EventLoopGroup
    private let ready: @Sendable (String) -> Void

    init(application: Application, group: EventLoopGroup, ready: @escaping @Sendable (String) -> Void) {
        self.application = application
        self.group = group
        self.ready = ready
    }

    private var configuration: ServerConfiguration { application.configuration }
    private var logger: Logger { application.logger }

    func run() async throws {
        let application = self.application
        let admission = ConnectionAdmission(configuration: configuration, metrics: application.metrics)
        let quiescing = ServerQuiescingHelper(group: group)
        let connections = ConnectionPipeline(application: application, admission: admission)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer(connections.initialize)
        let (server, socketFile) = try bind(bootstrap)
        let listening = socketFile ?? "the socket systemd passed (fd 3)"
        logger.info("listening on \(listening), indexes in \(configuration.data.path)")
        ready(listening)
        let monitor = RecallMonitorLoop(application: application)
        monitor.start()

        try? await gracefulShutdown()
        logger.info("stopping: finishing requests in flight")
        admission.stopAdmitting()
        let drained = server.eventLoop.makePromise(of: Void.self)
        let closed = server.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: closed)
        closed.futureResult.whenComplete { _ in application.requests.drained(on: server.eventLoop).cascade(to: drained) }
        await withTaskCancellationHandler {
            try? await drained.futureResult.get()
        } onCancel: {
            // The deadline: stop waiting. (Should the drain end meanwhile, a NIO promise keeps
            // its first result.)
            drained.succeed()
        }
        if Task.isCancelled { logger.warning("requests still in flight at the shutdown's deadline: closing their connections") }

        monitor.stop()
        // Each close waits for its writer's transaction in flight (off the event loops, as it must).
        let stopping = APIError.overloaded("the daemon is shutting down: retry once it is back")
        for open in application.registry.openIndexes { _ = open.writer.close(because: stopping) }
        for channel in admission.channels { try? await channel.close() }
        application.batcher.stop()
        application.registry.closeAll()
        if let socketFile { unlink(socketFile) }
        logger.info("stopped")
    }

    /// The listening channel, and the socket file it owns (nil for the one systemd passed).
    private func bind(_ bootstrap: ServerBootstrap) throws -> (Channel, String?) {
        if let inherited = ListeningSocket.inherited() {
            return (try bootstrap.withBoundSocket(inherited).wait(), nil)
        }
        try ListeningSocket.prepare(configuration.socketPath)
        let server = try ListeningSocket.create(configuration.socketPath, mode: configuration.socketMode,
                                                group: configuration.socketGroup) { temporary in
            try bootstrap.bind(unixDomainSocketPath: temporary).wait()
        }
        return (server, configuration.socketPath)
    }
}
