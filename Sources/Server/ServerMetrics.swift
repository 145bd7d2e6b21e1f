import CoreMetrics
import Dispatch
import Engine
import Metrics
import Prometheus

/// The daemon's metrics, through swift-metrics into a Prometheus registry that
/// `GET /metrics` renders as text. Each metric is made by this registry's own factory, not the
/// process's global one, so that several daemons' handlers can run in one process (tests).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        let fine: [Duration] = [.microseconds(50), .microseconds(100), .microseconds(200), .microseconds(500),
                                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                                .milliseconds(20), .milliseconds(50), .milliseconds(100), .milliseconds(500),
                                .seconds(1), .seconds(5)]
        factory.durationHistogramBuckets = ["mrl_request_duration_seconds": fine, "mrl_search_duration_seconds": fine]
        factory.valueHistogramBuckets = ["mrl_encoder_batch_size": [1, 2, 4, 8, 16, 32, 64, 128]]
        self.factory = factory
    }

    func request(route: String, status: UInt, started: DispatchTime) {
        Counter(label: "mrl_requests_total", dimensions: [("route", route), ("status", String(status))], factory: factory).increment()
        Metrics.Timer(label: "mrl_request_duration_seconds", dimensions: [("route", route)], factory: factory)
            .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds))
    }

    /// A search's own time (the answer's took_ms), by the dimensions its last stage read.
    func search(dims: Int, tookMs: Double, partial: Bool) {
        Metrics.Timer(label: "mrl_search_duration_seconds", dimensions: [("dims", String(dims))], factory: factory)
            .recordNanoseconds(Int64(tookMs * 1e6))
        if partial { Counter(label: "mrl_search_partial_total", factory: factory).increment() }
    }

    func encoderBatch(size: Int) {
        Recorder(label: "mrl_encoder_batch_size", aggregate: true, factory: factory).record(size)
    }

    func overloaded() { Counter(label: "mrl_overloaded_total", factory: factory).increment() }

    func index(_ name: String, documents: Int, bytes: Int) {
        Gauge(label: "mrl_index_documents", dimensions: [("index", name)], factory: factory).record(documents)
        Gauge(label: "mrl_index_bytes", dimensions: [("index", name)], factory: factory).record(bytes)
    }

    func connections(_ count: Int) { Gauge(label: "mrl_connections", factory: factory).record(count) }

    /// Request body bytes held against --max-bodies-in-flight.
    func bodiesInFlight(_ bytes: Int) { Gauge(label: "mrl_request_body_bytes_in_flight", factory: factory).record(bytes) }

    /// The recall monitor's view of `index`: each preset's realized recall over its last window
    /// of checked answers, answers checked, re-tunes.
    func monitor(_ index: Index) {
        let monitor = index.recallMonitor
        for (preset, tally) in monitor.presetTallies {
            guard let recall = tally.windowRecall else { continue }
            Gauge(label: "mrl_monitor_recall", dimensions: [("index", index.name), ("preset", preset)], factory: factory).record(recall)
        }
        Gauge(label: "mrl_monitor_answers_checked", dimensions: [("index", index.name)], factory: factory).record(monitor.checked)
        Gauge(label: "mrl_monitor_retunes", dimensions: [("index", index.name)], factory: factory).record(monitor.retuneCount)
    }

    /// CPU seconds the recall monitor and its re-tunes have used.
    func monitorCPU(seconds: Double) { Gauge(label: "mrl_monitor_cpu_seconds", factory: factory).record(seconds) }

    /// The Prometheus text exposition.
    func render() -> String { registry.emitToString() }
}
