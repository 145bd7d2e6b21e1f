import Synchronization

/// The bytes of request bodies the whole daemon holds at once (announced by Content-Length,
/// or received so far when chunked): past the bound a request gets 503 before its body is
/// read, so many connections each sending a large body cannot exhaust memory together.
final class BodyBudget: Sendable {
    let bound: Int
    private let held = Atomic(0)

    init(bound: Int) { self.bound = bound }

    /// Takes `bytes`, or returns false (taking nothing) when that would pass the bound. A
    /// compare-and-swap, so a refused request never makes another one look over the bound.
    func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        var now = held.load(ordering: .relaxed)
        while now + bytes <= bound {
            let (exchanged, original) = held.compareExchange(expected: now, desired: now + bytes, ordering: .relaxed)
            if exchanged { return true }
            now = original
        }
        return false
    }

    func release(_ bytes: Int) { held.subtract(bytes, ordering: .relaxed) }

    /// The bytes held now (for `GET /metrics`).
    var holding: Int { held.load(ordering: .relaxed) }
}
