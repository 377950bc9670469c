// How many threads the compute layer uses: oneDNN's OpenMP team and the element-wise loops of this module.
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum ComputeThreads {
    nonisolated(unsafe) private static var current = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Threads used for matrix products and parallel loops (default: all cores).
    public static var count: Int { current }

    /// Sets the thread count for everything computed afterwards. Results do not depend on it beyond float rounding.
    /// Call before running models, not while they run.
    public static func set(_ threads: Int) {
        current = max(1, threads)
        // oneDNN's CPU runtime is OpenMP (libgomp, loaded with libdnnl); resolved at run time so that no OpenMP
        // development files are needed to build.
        typealias SetNumThreads = @convention(c) (Int32) -> Void
        if let symbol = dlsym(nil /* RTLD_DEFAULT */, "omp_set_num_threads") {
            unsafeBitCast(symbol, to: SetNumThreads.self)(Int32(current))
        }
    }

    /// Runs `body(i, worker)` for `i in 0..<iterations`, spread over `count` threads in contiguous chunks;
    /// `worker` (in `0..<count`) identifies the thread, for per-thread scratch space.
    @inlinable
    public static func parallelFor(_ iterations: Int, _ body: (_ index: Int, _ worker: Int) -> Void) {
        let threads = min(count, iterations)
        if threads <= 1 {
            for i in 0..<iterations { body(i, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let start = iterations * t / threads, end = iterations * (t + 1) / threads
                for i in start..<end { task.value(i, t) }
            }
        }
    }
}

/// Carries a value into `concurrentPerform`, whose iterations write disjoint parts of caller-owned buffers.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ value: T) { self.value = value }
}
