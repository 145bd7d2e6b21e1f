import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `mrl serve`: HTTP/1.1 over a Unix-domain socket, on SwiftNIO.
///
/// SwiftNIO directly rather than a framework (Hummingbird): the daemon needs the accepted
/// socket itself (peer credentials by SO_PEERCRED), a socket systemd hands over (socket
/// activation), limits enforced before a body is read, and searches run on the event loop
/// that read them without a hop; routing twelve paths needs no framework.
public final class Daemon: Sendable {
    private let configuration: ServerConfiguration
    private let logger: Logger

    /// How long a shutdown waits for the requests in flight before it closes their connections.
    static let drainDeadline = Duration.seconds(30)

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Serves until SIGTERM or SIGINT, then stops accepting, answers the requests in flight,
    /// lets the writers commit, closes the indexes and removes the socket file (`DaemonService`).
    /// `ready` is called once the socket accepts connections, with its path.
    public func run(ready: @escaping @Sendable (String) -> Void = { _ in }) throws {
        guard configuration.socketMode & 0o002 == 0 else {
            throw ListeningSocket.Problem.worldWritable(configuration.socketPath, configuration.socketMode)
        }
        raiseDescriptorLimit()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        defer { try? group.syncShutdownGracefully() }
        let service = DaemonService(application: Application(configuration: configuration, logger: logger), group: group, ready: ready)
        var lifecycle = ServiceGroupConfiguration(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Past the deadline the service group cancels the service, which cuts the drain short.
        lifecycle.maximumGracefulShutdownDuration = Daemon.drainDeadline
        let services = ServiceGroup(configuration: lifecycle)
        // The command line is synchronous: it waits here while the service runs on Swift's executors.
        try group.any().makeFutureWithTask { try await services.run() }.wait()
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
}
