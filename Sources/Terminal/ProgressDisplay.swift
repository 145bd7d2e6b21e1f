import Foundation

/// Shows the progress of long work on standard error: a bar redrawn in place with rate and
/// ETA when stderr is a terminal; otherwise one plain line per step, which scripts and logs
/// can read (and which the crash test reads to learn what was committed).
package final class ProgressDisplay {
    package let isTerminal = isatty(2) == 1
    private let started = Date()
    private var lastDraw = Date.distantPast

    package init() {}

    /// `fraction` in 0...1 when the total is known.
    package func update(fraction: Double?, count: Int, unit: String, plainLine: @autoclosure () -> String) {
        guard isTerminal else {
            note(plainLine())
            return
        }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(count) / elapsed : 0
        var line = "\(count.formatted()) \(unit)  \(Int(rate).formatted()) \(unit)/s"
        if let fraction = fraction.map({ min($0, 1) }), fraction > 0 {  // a file may grow while read
            let width = 30, filled = min(width, Int(fraction * Double(width)))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let eta = elapsed / fraction - elapsed
            line = "\(bar) \(Int(fraction * 100))%  " + line + "  ETA \(ProgressDisplay.clock(eta))"
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line).utf8))
    }

    /// Clears the bar so a summary can follow.
    package func finish() {
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    }

    package static func clock(_ seconds: Double) -> String {
        // An ETA from a tiny first fraction can be past any clock (and past Int).
        guard (0...360_000_000).contains(seconds) else { return "--:--" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
