import CEpoll
import Dispatch
import Foundation
import Server

/// The load generator's connections to the daemon, driven by one thread through epoll, as
/// wrk drives its own. A blocking thread per client spent more CPU on being put to sleep and
/// woken than on its requests (and poll(2) over 64 sockets half of it), and on a 2-core
/// machine that CPU is taken from the daemon being measured.
///
/// Each connection sends its next request as soon as its last is answered (closed loop), or
/// with `interval`, at its own fixed slots (a late send going out at once).
final class LoadLoop {
    /// One reply as it came: the turn it answers, and its round trip.
    struct Answer {
        var turn: Int
        var ms: Double
        var reply: UnixHTTPClient.Reply
    }

    private struct Connection {
        var fd: Int32
        var reader = ReplyReader()
        /// The request being sent, and how much of it has gone.
        var outgoing: [UInt8] = []
        var sent = 0
        /// The turn waiting for its reply, if any, and when it was sent.
        var turn: Int?
        var sentAt: UInt64 = 0
        /// With an interval: when the next request is due.
        var slot: UInt64 = 0
        /// epoll also wakes the loop when the socket can take more of the request.
        var awaitsRoom = false
        /// No connection could be made in its place after the daemon closed it.
        var dead: Bool { fd < 0 }
    }

    private let socketPath: String
    private let epoll: Int32
    private var connections: [Connection] = []
    private var scratch = [UInt8](repeating: 0, count: 64 << 10)

    /// Opens `count` connections to the daemon at `socketPath`.
    init(socketPath: String, count: Int) throws {
        self.socketPath = socketPath
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw UnixHTTPClient.Failure(description: "epoll_create1: \(String(cString: strerror(errno)))") }
        for i in 0..<count { connections.append(Connection(fd: try connect(index: i))) }
    }

    deinit {
        for connection in connections where connection.fd >= 0 { close(connection.fd) }
        close(epoll)
    }

    /// Sends `messages[turn % messages.count]` for turns 0, 1, ... until `requests` turns or
    /// `seconds` have passed, and hands each reply, or failure, over as it comes.
    func run(messages: [[UInt8]], requests: Int, seconds: Double, interval: UInt64?,
             answer: (Answer) -> Void, failure: (String) -> Void) {
        let start = now, deadline = start + UInt64(min(seconds, 1e6) * 1e9)
        var nextTurn = 0
        // Sends connection i's next request if one is due; false when no more will be.
        func startNext(_ i: Int) -> Bool {
            let time = now
            guard nextTurn < requests, time < deadline else { return false }
            guard !connections[i].dead else { return true }
            if let interval {
                guard connections[i].slot <= time else { return true }  // due later
                connections[i].slot += interval
            }
            connections[i].turn = nextTurn
            connections[i].outgoing = messages[nextTurn % messages.count]
            connections[i].sent = 0
            connections[i].sentAt = time
            nextTurn += 1
            if let error = send(i) { fail(i, error, failure) }
            return true
        }
        for i in connections.indices {
            // Paced connections take turns evenly across the interval rather than all at once.
            connections[i].slot = start + (interval ?? 0) * UInt64(i) / UInt64(connections.count)
            _ = startNext(i)
        }
        var events = [epoll_event](repeating: epoll_event(), count: connections.count)
        func moreToSend() -> Bool { nextTurn < requests && now < deadline && connections.contains { !$0.dead } }
        while connections.contains(where: { $0.turn != nil }) || moreToSend() {
            // Paced connections with nothing in flight wake the loop at their slot (rounded up
            // to epoll's milliseconds: a send goes out at most 1 ms late, the schedule holds);
            // otherwise it looks at the deadline at least every 100 ms.
            let due = interval == nil || !moreToSend() ? nil : connections.filter { $0.turn == nil && !$0.dead }.map(\.slot).min()
            let time = now
            let timeout = min(due.map { $0 > time ? Int(($0 - time + 999_999) / 1_000_000) : 0 } ?? 100, 100)
            let ready = epoll_wait(epoll, &events, Int32(events.count), Int32(timeout))
            if ready < 0, errno != EINTR { return failure("epoll_wait: \(String(cString: strerror(errno)))") }
            for event in events.prefix(max(Int(ready), 0)) {
                let i = Int(event.data.u64)
                if event.events & EPOLLOUT.rawValue != 0, let error = send(i) { fail(i, error, failure) }
                if event.events & (EPOLLIN.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                    receive(i, answer: answer, failure: failure)
                }
            }
            for i in connections.indices where connections[i].turn == nil {
                if !startNext(i) { break }
            }
        }
    }

    private var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Sends what is left of connection i's request; waits for the socket when it is full.
    private func send(_ i: Int) -> String? {
        let fd = connections[i].fd
        while connections[i].sent < connections[i].outgoing.count {
            let n = connections[i].outgoing[connections[i].sent...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if n > 0 {
                connections[i].sent += n
            } else if n < 0, errno == EINTR {
                continue
            } else if n < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                watch(i, writable: true)
                return nil
            } else {
                return "connection closed while sending: \(String(cString: strerror(errno)))"
            }
        }
        watch(i, writable: false)
        return nil
    }

    /// Reads what connection i has received and hands over each whole reply.
    private func receive(_ i: Int, answer: (Answer) -> Void, failure: (String) -> Void) {
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(connections[i].fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n < 0, errno == EINTR { continue }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
            guard n > 0 else {
                let midway = connections[i].reader.isMidway
                return fail(i, midway ? "connection closed by the daemon in the middle of a reply" : "connection closed by the daemon before a reply", failure)
            }
            scratch.withUnsafeBytes { connections[i].reader.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            do {
                while let reply = try connections[i].reader.next() {
                    guard let turn = connections[i].turn else { return fail(i, "a reply to no request", failure) }
                    connections[i].turn = nil
                    answer(Answer(turn: turn, ms: Double(now - connections[i].sentAt) / 1e6, reply: reply))
                    if reply.closes {
                        if let lost = reconnect(i) { failure(lost) }
                        return
                    }
                }
            } catch {
                return fail(i, "\(error)", failure)
            }
        }
    }

    /// Counts connection i's request as failed and opens a new connection in its place; one
    /// failure, however many things went wrong.
    private func fail(_ i: Int, _ message: String, _ failure: (String) -> Void) {
        let inFlight = connections[i].turn != nil
        connections[i].turn = nil
        let lost = reconnect(i)
        if inFlight || lost != nil { failure(lost.map { "\(message); then \($0)" } ?? message) }
    }

    /// Replaces connection i by a new one; says why when none could be made (it is then dead).
    private func reconnect(_ i: Int) -> String? {
        close(connections[i].fd)  // which also takes it out of epoll
        let slot = connections[i].slot
        do {
            connections[i] = Connection(fd: try connect(index: i), slot: slot)
            return nil
        } catch {
            connections[i] = Connection(fd: -1)
            return "\(error)"
        }
    }

    /// A new connection, watched for replies as connection i.
    private func connect(index i: Int) throws -> Int32 {
        let fd = try UnixSocket.connect(to: socketPath)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(i)
        epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
        return fd
    }

    private func watch(_ i: Int, writable: Bool) {
        guard connections[i].awaitsRoom != writable else { return }
        connections[i].awaitsRoom = writable
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | (writable ? EPOLLOUT.rawValue : 0)
        event.data.u64 = UInt64(i)
        epoll_ctl(epoll, EPOLL_CTL_MOD, connections[i].fd, &event)
    }
}
