import Synchronization

/// The bytes of request bodies the whole daemon holds at once (announced by Content-Length,
/// or received so far when chunked): past the bound a request gets 503 before its body is
/// read, so many connections each sending a large body cannot exhaust memory together.
final class BodyBudget: Sendable {
    let bound: Int
    private let held = Atomic(0)

    init(bound: Int) { self.bound = bound }

    /// Takes `bytes`, or returns false (taking nothing) when that would pass the bound.
    func reserve(_ bytes: Int) -> Bool {
        guard bytes > 0 else { return true }
        let after = held.add(bytes, ordering: .relaxed).newValue
        guard after <= bound else {
            held.subtract(bytes, ordering: .relaxed)
            return false
        }
        return true
    }

    func release(_ bytes: Int) { held.subtract(bytes, ordering: .relaxed) }
}
