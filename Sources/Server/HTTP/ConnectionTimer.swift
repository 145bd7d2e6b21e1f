import NIOCore

/// Drops connections that hold the daemon without using it: idle between requests past
/// `idle`, or sending a request too slowly (slow loris: a byte now and then) past
/// `request` from its first byte. Sits first in the pipeline, so it sees raw bytes. A peer that
/// stops reading its answers is dropped too, once the connection has stayed unwritable (its
/// answers not taken) for `request`: answers it does not read must not keep it alive.
///
/// A request only notes the time: nothing is scheduled or cancelled per request (that was 2%
/// of the daemon's CPU under load). One check per connection looks at the limit of the state
/// it finds, and comes back at that limit or one `step` later, whichever is sooner; a state
/// change can bring a limit forward by at most a step, so no limit is overshot. Time is the
/// event loop's (`EventLoop.now`), so a test's loop can drive it with virtual time.
final class ConnectionTimer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State { case idle, receiving, answering }
    private var state = State.idle
    /// When the current state began.
    private var since = NIODeadline.uptimeNanoseconds(0)
    /// When the channel became unwritable, while it is.
    private var blockedSince: NIODeadline?
    private var check: Scheduled<Void>?
    private var context: ChannelHandlerContext?
    private let idle: TimeAmount, request: TimeAmount

    init(idle: TimeAmount, request: TimeAmount) {
        self.idle = idle
        self.request = request
    }

    private var step: TimeAmount { min(idle, request) }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        since = context.eventLoop.now
        schedule(at: since + step)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if state == .idle {
            state = .receiving
            since = context.eventLoop.now
        }
        context.fireChannelRead(data)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        blockedSince = context.channel.isWritable ? nil : context.eventLoop.now
        context.fireChannelWritabilityChanged()
    }

    /// A whole request arrived: no limit while it is answered.
    func requestReceived() {
        state = .answering
    }

    /// The answer is being written: the next request may take its time to come.
    func responseSent() {
        state = .idle
        since = context?.eventLoop.now ?? since
    }

    /// Closes the connection past its state's limit; otherwise looks again later.
    private func checkLimit() {
        guard let context else { return }
        let now = context.eventLoop.now
        let stateLimit: NIODeadline? = switch state {
        case .idle: since + idle
        case .receiving: since + request
        case .answering: nil
        }
        let limit = [stateLimit, blockedSince.map { $0 + request }].compactMap { $0 }.min()
        if let limit, now >= limit {
            context.close(promise: nil)
            return
        }
        schedule(at: min(limit ?? .distantFuture, now + step))
    }

    private func schedule(at deadline: NIODeadline) {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) { bound.value.checkLimit() }
    }
}
