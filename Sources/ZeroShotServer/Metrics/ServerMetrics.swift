import Foundation
import Metrics
import Prometheus

/// The server's metrics: swift-metrics bootstrapped once per process with swift-prometheus's
/// `PrometheusMetricsFactory` on `registry`, rendered as Prometheus text by `GET /metrics`.
///
/// Families (names as Prometheus shows them):
/// - `zeroshot_requests_total{route,method,status}` counter: requests answered (route: the matched route pattern,
///   `NotFound` for no route).
/// - `zeroshot_request_duration_seconds{route,method}` histogram: time from the request head to the response.
/// - `zeroshot_batch_size` histogram: the images of each image-tower batch (reported by the engine).
/// - `zeroshot_queue_depth` gauge: calls waiting or running in the engine (reported by the engine, and read again
///   when `/metrics` is rendered).
/// - `zeroshot_label_cache_hits_total` / `zeroshot_label_cache_misses_total` counters: the classifier's in-memory
///   text-embedding cache (reported by the engine).
/// - `zeroshot_model_ready` gauge: 1 once the model is loaded.
public enum ServerMetrics {
    /// The registry every metric of this process is in.
    public static let registry = PrometheusCollectorRegistry()

    /// Bootstraps `MetricsSystem` with a `PrometheusMetricsFactory` on `registry` (once per process; later calls do
    /// nothing).
    public static func bootstrap() { _ = bootstrapped }

    private static let bootstrapped: Void = {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.valueHistogramBuckets["zeroshot_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128]
        factory.durationHistogramBuckets["zeroshot_request_duration_seconds"] = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
        // The families the engine reports to (`InferenceEngine.Observer.metrics`), present from the start.
        _ = Recorder(label: "zeroshot_batch_size", aggregate: true)
        _ = Counter(label: "zeroshot_label_cache_hits_total")
        _ = Counter(label: "zeroshot_label_cache_misses_total")
        setQueueDepth(0)
    }()

    /// Counts one answered request and its duration.
    static func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        Counter(label: "zeroshot_requests_total",
                dimensions: [("route", route), ("method", method), ("status", String(status))]).increment()
        Metrics.Timer(label: "zeroshot_request_duration_seconds", dimensions: [("route", route), ("method", method)])
            .recordNanoseconds(duration.totalNanoseconds)
    }

    /// Sets the queue-depth gauge.
    static func setQueueDepth(_ depth: Int) {
        Gauge(label: "zeroshot_queue_depth").record(depth)
    }

    /// Sets the readiness gauge.
    static func setModelReady(_ ready: Bool) {
        Gauge(label: "zeroshot_model_ready").record(ready ? 1 : 0)
    }

    /// The Prometheus text exposition of `registry`.
    static func render() -> String {
        String(decoding: registry.emitToBuffer(), as: UTF8.self)
    }
}

extension Duration {
    /// The whole duration in nanoseconds (saturating).
    var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product &+ attoseconds / 1_000_000_000
    }

    /// The duration in milliseconds as a Double.
    var inMilliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
