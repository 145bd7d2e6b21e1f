import NIOCore

/// Drops connections that hold the daemon without using it: idle between requests past
/// `idle`, or sending a request too slowly (slow loris: a byte now and then) past
/// `request` from its first byte. Sits first in the pipeline, so it sees raw bytes.
final class ConnectionTimer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State { case idle, receiving, answering }
    private var state = State.idle
    private var timeout: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let idle: TimeAmount, request: TimeAmount

    init(idle: TimeAmount, request: TimeAmount) {
        self.idle = idle
        self.request = request
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        arm(idle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state == .idle {
            state = .receiving
            arm(request)
        }
        context.fireChannelRead(data)
    }

    /// A whole request arrived: no timer while it is answered.
    func requestReceived() {
        state = .answering
        timeout?.cancel()
    }

    /// The answer is written: the next request may take its time to come.
    func responseSent() {
        state = .idle
        arm(idle)
    }

    private func arm(_ amount: TimeAmount) {
        timeout?.cancel()
        guard let context else { return }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: amount) { bound.value.close(promise: nil) }
    }
}
