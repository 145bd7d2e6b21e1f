import NIOCore
import Synchronization

/// The requests being answered now. A shutdown asks to be told when the last one is answered,
/// rather than looking again and again.
final class RequestsInFlight: Sendable {
    private let state = Mutex<(count: Int, waiting: [EventLoopPromise<Void>])>((0, []))

    func begin() { state.withLock { $0.count += 1 } }

    var count: Int { state.withLock { $0.count } }

    func end() {
        let drained = state.withLock { state -> [EventLoopPromise<Void>] in
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.waiting.removeAll() }
            return state.waiting
        }
        for promise in drained { promise.succeed() }
    }

    /// Succeeds once no request is in flight: at once when none is.
    func drained(on loop: EventLoop) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        let idle = state.withLock { state in
            if state.count > 0 { state.waiting.append(promise) }
            return state.count == 0
        }
        if idle { promise.succeed() }
        return promise.futureResult
    }
}
