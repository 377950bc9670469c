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

    func testAdaptationCanBeTurnedOff() {
        let previous = ComputeThreads.adaptsToLoad
        defer { ComputeThreads.adaptsToLoad = previous }
        ComputeThreads.adaptsToLoad = false
        XCTAssertEqual(ComputeThreads.forNextStep(), ComputeThreads.count)
    }
}
