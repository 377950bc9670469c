// How many threads the compute layer uses, and its parallel loop.
//
// oneDNN's CPU runtime here is OpenMP (libgomp, loaded with libdnnl). The element-wise and attention loops of
// this module run on that same OpenMP thread team, through libgomp's `GOMP_parallel` entry point, so matrix
// products and the work between them never compete with a second pool of threads spinning on the same cores.
// The symbols are resolved at run time (no OpenMP headers or flags at build time); without them the loops fall
// back to Dispatch.
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum ComputeThreads {
    nonisolated(unsafe) private static var current = max(1, ProcessInfo.processInfo.activeProcessorCount)
    nonisolated(unsafe) private static var adaptive = !["0", "false", "no", "off"].contains(
        ProcessInfo.processInfo.environment["ZEROSHOT_ADAPTIVE_THREADS"]?.lowercased() ?? "")

    /// Threads used for matrix products and parallel loops at most (default: all cores).
    public static var count: Int { current }

    /// The largest thread count accepted: 4 per core, at least 64 (more only adds scheduling overhead, and
    /// OpenMP fails to start tens of thousands of threads).
    public static var maximum: Int { max(64, 4 * ProcessInfo.processInfo.activeProcessorCount) }

    /// Sets the thread count for everything computed afterwards, clamped to `1...maximum`. Results do not depend
    /// on it beyond float rounding. Call before running models, not while they run.
    public static func set(_ threads: Int) {
        current = min(max(1, threads), maximum)
        OpenMP.shared.setNumThreads?(Int32(current))
    }

    /// Whether the compute layer runs on fewer than `count` threads while other processes keep cores busy
    /// (default: true; the environment variable `ZEROSHOT_ADAPTIVE_THREADS` set to `0`, `false`, `no` or `off`
    /// turns it off).
    ///
    /// Matrix products and parallel loops split their work evenly between threads and wait for the last one at
    /// the end of every step (about 18 steps per encoder layer). A thread that shares its core with a busy
    /// process runs only part of the time, and each of those steps then waits for it: with one other busy
    /// process on 2 cores, 2 threads ran the ViT-B/32 image tower 4.4x slower than on a quiet machine, where 1
    /// thread runs it 2x slower. So every 10 ms at most, the kernel's count of runnable threads
    /// (`/proc/loadavg`) less this process's own running ones gives the cores other processes are using, and
    /// the next steps use `count` threads or the cores left free, whichever is fewer (at least 1). A change
    /// takes effect when two samples in a row agree, so that a short burst of work elsewhere does not change
    /// it. Without `/proc` (not Linux), `count` threads are used.
    public static var adaptsToLoad: Bool {
        get { adaptive }
        set { adaptive = newValue }
    }

    /// The threads the most recent matrix product or parallel loop ran on (of whichever thread called it last;
    /// 0 before the first), for reports such as `zeroshot bench`'s `threads_used`.
    public static var lastStepThreads: Int {
        lastStepLock.lock()
        defer { lastStepLock.unlock() }
        return lastStep
    }
    // Written by every thread that runs a step (the server's engine runs text and image towers at once): locked.
    nonisolated(unsafe) private static var lastStep = 0
    private static let lastStepLock = NSLock()

    /// The threads the next matrix product or parallel loop of the calling thread runs on: `count`, or fewer
    /// while other processes keep cores busy (see `adaptsToLoad`). Also sets OpenMP's thread count of the
    /// calling thread to it, which oneDNN's products follow.
    public static func forNextStep() -> Int {
        var threads = adaptive && current > 1 ? LoadMonitor.shared.threads(upTo: current) : current
        if adaptive && threads > 1 {
            let helpers = Helpers.shared.busy
            if helpers > 0 { threads = max(1, min(threads, cores - helpers)) }
        }
        lastStepLock.lock()
        lastStep = threads
        lastStepLock.unlock()
        if let get = OpenMP.shared.maxThreads, let set = OpenMP.shared.setNumThreads, get() != Int32(threads) {
            set(Int32(threads))
        }
        return threads
    }

    private static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body` on the calling thread as a helper of the compute layer (one that decodes and prepares the
    /// next batch while the current one runs through a model): while it runs, and `adaptsToLoad` is on, matrix
    /// products and parallel loops leave it a core, as they leave one to a busy process. Two threads of the
    /// image tower and a third that decodes share 2 cores badly: every step of the tower waits for the thread
    /// that is off its core.
    public static func asHelper<T>(_ body: () throws -> T) rethrows -> T {
        Helpers.shared.change(1)
        defer { Helpers.shared.change(-1) }
        return try body()
    }

    /// Runs `body(i, worker)` for `i in 0..<iterations`, spread over `forNextStep()` threads (exactly `count`
    /// with `adapting: false`) in contiguous chunks; `worker` (below `count`) identifies the thread, for
    /// per-thread scratch space.
    public static func parallelFor(_ iterations: Int, adapting: Bool = true,
                                   _ body: (_ index: Int, _ worker: Int) -> Void) {
        let threads = min(adapting ? forNextStep() : count, iterations)
        if threads <= 1 {
            for i in 0..<iterations { body(i, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let task = ParallelTask(body: body, iterations: iterations)
            if let parallel = OpenMP.shared.parallel, let threadNum = OpenMP.shared.threadNum,
               let numThreads = OpenMP.shared.numThreads {
                let context = Unmanaged.passRetained(OpenMPContext(task: task, threadNum: threadNum, numThreads: numThreads))
                ThreadSanitizer.release(context.toOpaque())
                parallel({ raw in
                    ThreadSanitizer.acquire(raw)
                    let context = Unmanaged<OpenMPContext>.fromOpaque(raw!).takeUnretainedValue()
                    context.task.run(worker: Int(context.threadNum()), of: Int(context.numThreads()))
                    ThreadSanitizer.release(raw)
                }, context.toOpaque(), UInt32(threads), 0)
                ThreadSanitizer.acquire(context.toOpaque())
                context.release()
            } else {
                let shared = UncheckedSendable(task)
                DispatchQueue.concurrentPerform(iterations: threads) { t in shared.value.run(worker: t, of: threads) }
            }
        }
    }
}

/// The count of helper threads at work (`ComputeThreads.asHelper`).
final class Helpers: @unchecked Sendable {
    static let shared = Helpers()
    private let lock = NSLock()
    private var count = 0

    var busy: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    func change(_ delta: Int) {
        lock.lock()
        count += delta
        lock.unlock()
    }
}

/// One parallel loop: each worker takes a contiguous chunk of the iterations.
final class ParallelTask {
    let body: (Int, Int) -> Void
    let iterations: Int

    init(body: @escaping (Int, Int) -> Void, iterations: Int) {
        self.body = body
        self.iterations = iterations
    }

    func run(worker: Int, of workers: Int) {
        let start = iterations * worker / workers, end = iterations * (worker + 1) / workers
        for i in start..<end { body(i, worker) }
    }
}

final class OpenMPContext {
    let task: ParallelTask
    let threadNum: @convention(c) () -> Int32
    let numThreads: @convention(c) () -> Int32

    init(task: ParallelTask, threadNum: @escaping @convention(c) () -> Int32,
         numThreads: @escaping @convention(c) () -> Int32) {
        self.task = task
        self.threadNum = threadNum
        self.numThreads = numThreads
    }
}

/// ThreadSanitizer's happens-before annotations, when the process runs under it (no-ops otherwise). libgomp hands a
/// parallel region to its threads and waits for them at the end with its own futex barriers, which TSan cannot see
/// (libgomp is not built with it): without these, every loop body's access to what the caller prepared, and the
/// caller's reads of what the loop wrote, were reported as races.
enum ThreadSanitizer {
    private typealias Annotation = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private static let acquireFunction = dlsym(nil /* RTLD_DEFAULT */, "__tsan_acquire").map { unsafeBitCast($0, to: Annotation.self) }
    private static let releaseFunction = dlsym(nil /* RTLD_DEFAULT */, "__tsan_release").map { unsafeBitCast($0, to: Annotation.self) }

    /// What the calling thread did before is seen as done before what follows a later `acquire(address)`. The loop
    /// uses its context's address both ways: the caller's release before the workers' acquire, the workers' releases
    /// before the caller's acquire at the end.
    static func release(_ address: UnsafeMutableRawPointer?) { releaseFunction?(address) }

    /// See `release`.
    static func acquire(_ address: UnsafeMutableRawPointer?) { acquireFunction?(address) }
}

/// libgomp entry points, when the process has libgomp loaded.
struct OpenMP: @unchecked Sendable {
    typealias Parallel = @convention(c) (@convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    let parallel: Parallel?
    let threadNum: (@convention(c) () -> Int32)?
    let numThreads: (@convention(c) () -> Int32)?
    let setNumThreads: (@convention(c) (Int32) -> Void)?
    let maxThreads: (@convention(c) () -> Int32)?

    static let shared = OpenMP()

    private init() {
        _ = try? OneDNN.functions()  // loads libgomp with oneDNN, configured
        func symbol<T>(_ name: String, _: T.Type) -> T? {
            guard let s = dlsym(nil /* RTLD_DEFAULT */, name) else { return nil }
            return unsafeBitCast(s, to: T.self)
        }
        parallel = symbol("GOMP_parallel", Parallel.self)
        threadNum = symbol("omp_get_thread_num", (@convention(c) () -> Int32).self)
        numThreads = symbol("omp_get_num_threads", (@convention(c) () -> Int32).self)
        setNumThreads = symbol("omp_set_num_threads", (@convention(c) (Int32) -> Void).self)
        maxThreads = symbol("omp_get_max_threads", (@convention(c) () -> Int32).self)
    }
}

/// Carries a value into parallel loops, whose iterations write disjoint parts of caller-owned buffers.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
