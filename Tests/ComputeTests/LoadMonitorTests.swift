import Foundation
import XCTest
@testable import Compute

/// The load monitor sees a busy process and never asks for fewer than 1 or more than the requested threads.
final class LoadMonitorTests: XCTestCase {
    func testSeesABusyProcess() throws {
        #if os(Linux)
        XCTAssertNotNil(LoadMonitor.otherRunnableThreads(), "/proc/loadavg and /proc/self/task are readable")
        let busy = Process()
        busy.executableURL = URL(fileURLWithPath: "/bin/sh")
        busy.arguments = ["-c", "while :; do :; done"]
        try busy.run()
        defer { busy.terminate(); busy.waitUntilExit() }
        usleep(100_000)
        // The busy loop is always runnable; this process's own running threads are not counted.
        var seen = 0
        for _ in 0..<20 {
            if let others = LoadMonitor.otherRunnableThreads(), others >= 1 { seen += 1 }
            usleep(2_000)
        }
        XCTAssertGreaterThanOrEqual(seen, 18, "a busy process was counted in \(seen) of 20 samples")
        #else
        throw XCTSkip("reads /proc")
        #endif
    }

    func testThreadCountStaysInRange() {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for requested in [1, 2, cores, 4 * cores] {
            for _ in 0..<5 {
                let threads = LoadMonitor.shared.threads(upTo: requested)
                XCTAssertGreaterThanOrEqual(threads, 1)
                XCTAssertLessThanOrEqual(threads, requested)
                if threads < requested { XCTAssertLessThan(threads, cores, "only fewer when cores are busy") }
                usleep(6_000)
            }
        }
    }

    func testHelperThreadGetsACore() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard cores >= 2 else { throw XCTSkip("needs 2 cores") }
        let previous = (ComputeThreads.count, ComputeThreads.adaptsToLoad)
        defer { ComputeThreads.set(previous.0); ComputeThreads.adaptsToLoad = previous.1 }
        ComputeThreads.set(cores)
        ComputeThreads.adaptsToLoad = true
        // While a helper decodes, the compute steps leave it a core (and other processes may take more).
        let during = ComputeThreads.asHelper { ComputeThreads.forNextStep() }
        XCTAssertGreaterThanOrEqual(during, 1)
        XCTAssertLessThanOrEqual(during, cores - 1)
        XCTAssertEqual(Helpers.shared.busy, 0, "the helper is counted only while it runs")
        // Two at once leave two cores (at least one thread stays).
        let two = ComputeThreads.asHelper { ComputeThreads.asHelper { ComputeThreads.forNextStep() } }
        XCTAssertEqual(two, max(1, min(two, cores - 2)))
        // Without adaptation the count stands.
        ComputeThreads.adaptsToLoad = false
        XCTAssertEqual(ComputeThreads.asHelper { ComputeThreads.forNextStep() }, cores)
    }

    func testAdaptationCanBeTurnedOff() {
        let previous = ComputeThreads.adaptsToLoad
        defer { ComputeThreads.adaptsToLoad = previous }
        ComputeThreads.adaptsToLoad = false
        XCTAssertEqual(ComputeThreads.forNextStep(), ComputeThreads.count)
    }
}
