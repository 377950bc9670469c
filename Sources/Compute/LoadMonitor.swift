// How many cores other processes keep busy, sampled from the kernel's run queue, and the thread count that
// follows from it (see `ComputeThreads.adaptsToLoad`).
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Samples the cores other processes are using and turns them into a thread count, at most once per `interval`
/// for the whole process; thread-safe.
final class LoadMonitor: @unchecked Sendable {
    /// Time between two samples: 10 ms, so a change of load is followed within about 20 ms. A sample reads
    /// /proc/loadavg (about 6 µs); when something besides the reading thread is runnable, also the states of this
    /// process's threads (about 10 µs each; 40-60 µs in all, 0.5% of the interval).
    static let interval: UInt64 = 10_000_000

    static let shared = LoadMonitor()

    private let lock = NSLock()
    private let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
    private var lastSample: UInt64 = 0
    private var sampled = false
    /// Cores other processes used in the last sample, and in how many samples in a row.
    private var pendingBusy = 0, pendingRepeats = 0
    /// Cores other processes are taken to use: the first sample, then one that two samples in a row agreed on.
    private var busy = 0
    /// False once /proc could not be read: no more samples are taken.
    private var available = true

    /// `requested` threads; while other processes keep cores busy, the cores they leave free when that is fewer
    /// (at least 1). More threads than cores, when asked for, are left alone on a quiet machine.
    func threads(upTo requested: Int) -> Int {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.lock()
        defer { lock.unlock() }
        if available && (!sampled || now &- lastSample >= Self.interval) {
            lastSample = now
            if let others = Self.otherRunnableThreads() {
                let sample = min(others, cores - 1)
                if sample == pendingBusy { pendingRepeats += 1 } else { (pendingBusy, pendingRepeats) = (sample, 1) }
                if !sampled || pendingRepeats >= 2 { busy = sample }
                sampled = true
            } else {
                available = false
                busy = 0
            }
        }
        return busy == 0 ? requested : max(1, min(requested, cores - busy))
    }

    /// Threads that are running or waiting to run on this machine, other than this process's own: the kernel's
    /// count of runnable threads (the fourth field of `/proc/loadavg`, "runnable/total") less this process's
    /// threads in state R (`/proc/self/task/*/stat`). nil without these files.
    static func otherRunnableThreads() -> Int? {
        #if os(Linux)
        guard let loadavg = readSmallFile("/proc/loadavg") else { return nil }
        // "0.00 0.01 0.05 3/123 4567": the fourth field's numerator.
        let fields = loadavg.split(separator: 0x20)
        guard fields.count >= 4, let slash = fields[3].firstIndex(of: 0x2F),
              let runnable = Int(String(decoding: fields[3][..<slash], as: UTF8.self)) else { return nil }
        // The thread reading is one of them: alone, nothing else runs (the common case, and no task list to read).
        if runnable <= 1 { return 0 }
        guard let tasks = opendir("/proc/self/task") else { return nil }
        defer { closedir(tasks) }
        var own = 0
        while let entry = readdir(tasks) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let first = name.utf8.first, first >= 0x30 && first <= 0x39 else { continue }
            // "TID (comm) S ...": the state follows the last ')' (comm may itself contain parentheses).
            guard let stat = readSmallFile("/proc/self/task/\(name)/stat"),
                  let close = stat.lastIndex(of: 0x29), close + 2 < stat.count else { continue }
            if stat[close + 2] == UInt8(ascii: "R") { own += 1 }
        }
        return max(0, runnable - own)
        #else
        return nil
        #endif
    }

    /// The first bytes (up to 512) of a small file such as those of /proc, or nil.
    private static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        return Array(buffer[..<n])
    }
}
