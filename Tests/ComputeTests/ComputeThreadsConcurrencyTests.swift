import Dispatch
import XCTest
import Compute

/// The compute layer's thread bookkeeping is shared by every thread that runs a model (the server runs the text and
/// image towers at once): `scripts/sanitize thread` reports any unsynchronised access here.
final class ComputeThreadsConcurrencyTests: XCTestCase {
    func testStepsOnSeveralThreadsAtOnce() {
        DispatchQueue.concurrentPerform(iterations: 4) { thread in
            for _ in 0..<200 {
                if thread == 0 {
                    XCTAssertGreaterThanOrEqual(ComputeThreads.lastStepThreads, 0)
                } else {
                    XCTAssertGreaterThanOrEqual(ComputeThreads.forNextStep(), 1)
                }
            }
        }
        XCTAssertGreaterThanOrEqual(ComputeThreads.lastStepThreads, 1)
    }

    /// A parallel loop reads what its caller wrote just before, and the caller reads what the loop wrote.
    func testParallelLoopSeesTheCallersWritesAndTheCallerSeesTheLoops() {
        var input = [Int](repeating: 0, count: 4096)
        for i in input.indices { input[i] = i }
        var output = [Int](repeating: 0, count: 4096)
        input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                let source = UncheckedSendable(source), target = UncheckedSendable(target)
                ComputeThreads.parallelFor(4096, adapting: false) { i, _ in target.value[i] = 2 * source.value[i] }
            }
        }
        XCTAssertEqual(output, input.map { 2 * $0 })
    }
}
