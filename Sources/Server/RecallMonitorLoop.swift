import Engine
import Foundation
import Logging
import Synchronization

/// The daemon's live recall monitor: on a thread of its own, in the time requests leave, it
/// checks the newest answers of each open index against exact search (`checkNewestAnswers`)
/// within the configured share of one core, and re-tunes an index whose preset realizes too
/// little (`retuneIfDrifted`) at a larger share, without waiting for requests to leave time.
public final class RecallMonitorLoop: Sendable {
    /// Percent of one core the monitor uses by default; with the CPU seconds it may save up
    /// (`cpuBurst`), at most 4% + 0.5 s / 60 s: under 5% over any minute.
    public static let defaultCPUPercent = 4.0
    static let cpuBurst = 0.5
    /// A re-tune repairs presets that break their promise on every answer meanwhile: it runs at
    /// this many times the monitor's share until it is done. At 4% a re-tune of 120,605 documents
    /// (about 3.3 CPU seconds in the daemon) took 97 s, 5,000 queries at 50 a second.
    static let retuneShareFactor = 4.0

    private let application: Application
    private let stopped = Atomic(false)
    private let finished = DispatchSemaphore(value: 0)

    init(application: Application) { self.application = application }

    /// Starts the monitor's thread, unless the configuration gives it no CPU.
    func start() {
        guard application.configuration.monitorCPUShare > 0 else {
            finished.signal()
            return
        }
        let thread = Thread { [self] in
            run()
            finished.signal()
        }
        thread.name = "mrl.recall-monitor"
        thread.start()
    }

    /// Stops the monitor (a re-tune under way is given up, nothing of it stored) and waits for
    /// its thread to end.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
    }

    private func run() {
        let budget = CPUBudget(share: application.configuration.monitorCPUShare, burst: RecallMonitorLoop.cpuBurst)
        let app = application
        let isStopped = { self.stopped.load(ordering: .relaxed) }
        let pause = {
            try budget.pause(busy: { app.queue.depth > 0 || app.requests.count >= app.configuration.threads }, stopped: isStopped)
        }
        while !isStopped() {
            do {
                try pause()
                var checked = false
                for open in app.registry.openIndexes {
                    if try open.index.checkNewestAnswers() > 0 {
                        checked = true
                        app.metrics.monitor(open.index)
                    }
                    if open.index.store.isWriter { try retuneIfDrifted(open.index, budget: budget, stopped: isStopped) }
                }
                app.metrics.monitorCPU(seconds: budget.spent)
                if !checked { Thread.sleep(forTimeInterval: 0.05) }
            } catch is CancellationError {
                return
            } catch {
                app.logger.warning("recall monitor: \(error)")
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// Re-tunes `index` once its drift has lasted (see `Index.retuneIfDrifted`), at
    /// `retuneShareFactor` times the monitor's share and without pausing for requests: in the
    /// time requests left under a steady stream of text searches (about 6% of a core), a
    /// re-tune took 58 s, and the presets broke their promise on every answer meanwhile.
    private func retuneIfDrifted(_ index: Index, budget: CPUBudget, stopped: () -> Bool) throws {
        guard let (preset, realized, target) = index.recallMonitor.drifted else { return }
        let share = budget.share
        budget.share = min(1, share * RecallMonitorLoop.retuneShareFactor)
        defer { budget.share = share }
        let started = DispatchTime.now()
        guard let retune = try index.retuneIfDrifted(pause: { try budget.pause(busy: { false }, stopped: stopped) }) else { return }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        let after = retune.presetsAfter.sorted { $0.key < $1.key }.map { String(format: "%@ %.3f", $0.key, $0.value) }
        application.logger.notice("""
            index \(index.name): \(preset) realized recall \(String(format: "%.3f", realized)) over its last \(RecallMonitor.window) \
            checked answers, target \(String(format: "%.2f", target)): re-tuned its presets on the query log in \
            \(String(format: "%.0f", seconds)) s; promised recall now \(after.joined(separator: ", "))
            """)
        application.metrics.monitor(index)
    }
}
