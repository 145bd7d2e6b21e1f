import Engine
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import XCTest

@testable import Server

/// The daemon's real handlers in this process, without a socket: an `Application` over a
/// scratch data folder, and connections that are `EmbeddedChannel`s given the pipeline
/// `mrl serve` gives an accepted socket. Each connection has its own `EmbeddedEventLoop`,
/// whose clock moves only when the test calls `advanceTime`.
final class InProcessDaemon {
    let application: Application
    let admission: ConnectionAdmission

    init(test: XCTestCase, configure: (inout ServerConfiguration) -> Void = { _ in }) {
        let data = scratchFolder(test)
        var configuration = ServerConfiguration(socketPath: data + "/unused.sock", data: DataDirectory(path: data))
        configure(&configuration)
        let application = Application(configuration: configuration, logger: Logger(label: "mrl-in-process"))
        self.application = application
        admission = ConnectionAdmission(configuration: configuration, metrics: application.metrics)
        test.addTeardownBlock { application.batcher.stop() }
    }

    /// A new connection, accepted and given its pipeline (or its refusal).
    func connect() throws -> InProcessConnection {
        let channel = EmbeddedChannel(handler: WritesFailOnceClosed())
        try ConnectionPipeline(application: application, admission: admission).initialize(channel).wait()
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/in-process")).wait()
        return InProcessConnection(channel)
    }

    /// `request` answered by `Application.handle` on `loop`.
    func answer(_ method: HTTPMethod, _ target: String, _ body: JSON? = nil, on loop: EventLoop) async throws -> (status: Int, json: JSON?) {
        let (path, query) = RequestTarget.parse(target)
        let request = Request(method: method, path: path, query: query, headers: [:], body: ByteBuffer(bytes: body?.bytes ?? []))
        let response = try await application.handle(request, on: loop).get()
        return (Int(response.status.code), try? JSON.parse(response.body))
    }
}

/// One connection's two ends: bytes in as a client sends them, replies out as it reads them.
final class InProcessConnection {
    let channel: EmbeddedChannel
    private var reader = ReplyReader()

    init(_ channel: EmbeddedChannel) { self.channel = channel }

    var loop: EmbeddedEventLoop { channel.embeddedEventLoop }
    var isOpen: Bool { channel.isActive }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        guard isOpen else { return }
        do {
            try channel.writeInbound(channel.allocator.buffer(bytes: bytes))
        } catch {
            // An error that reaches the end of the pipeline (the HTTP parser's, about a malformed
            // or cut request) is dropped there on a socket; an EmbeddedChannel throws it.
        }
        loop.run()  // what the handlers left for the loop to do next, as a real loop does at once
    }

    /// The peer closes the connection.
    func close() throws {
        try channel.close().wait()
        loop.run()  // the close's callbacks (freeing its place) run as tasks
    }

    /// A request as `UnixHTTPClient` writes it.
    func send(_ method: String, _ path: String, _ json: JSON? = nil) throws {
        try send(UnixHTTPClient.message(method, path, body: json?.bytes))
    }

    /// The whole replies written since last asked.
    func replies() throws -> [UnixHTTPClient.Reply] {
        while let part = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = part else { XCTFail("a file region in a reply"); continue }
            buffer.withUnsafeReadableBytes { reader.append($0) }
        }
        var replies: [UnixHTTPClient.Reply] = []
        while let reply = try reader.next() { replies.append(reply) }
        return replies
    }

    /// The one reply written since last asked.
    func reply(file: StaticString = #filePath, line: UInt = #line) throws -> UnixHTTPClient.Reply {
        let replies = try replies()
        XCTAssertEqual(replies.count, 1, "replies: \(replies.map(\.status))", file: file, line: line)
        return try XCTUnwrap(replies.first, file: file, line: line)
    }

    /// The peer stops (or resumes) reading its answers.
    func setWritable(_ writable: Bool) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }
}

/// Fails writes once the channel is closed, as a socket does: an `EmbeddedChannel` keeps them,
/// so a reply no peer could get (a 400 for a request cut by a 413) would look sent.
private final class WritesFailOnceClosed: ChannelOutboundHandler {
    typealias OutboundIn = IOData

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard context.channel.isActive else { return promise?.fail(ChannelError.ioOnClosedChannel) ?? () }
        context.write(data, promise: promise)
    }
}
