import XCTest
@testable import zeroshot

/// The progress line's text: done/total, rate, and the time left as m:ss or h:mm:ss.
final class ProgressTextTests: XCTestCase {
    func testText() {
        XCTAssertEqual(RunProgress.text(done: 0, total: 10, elapsed: 0), "0/10 images, 0.0 images/s")
        XCTAssertEqual(RunProgress.text(done: 12, total: 340, elapsed: 1.5), "12/340 images, 8.0 images/s, ETA 0:41")
        XCTAssertEqual(RunProgress.text(done: 1, total: 100_000, elapsed: 2), "1/100000 images, 0.5 images/s, ETA 55:33:18")
        XCTAssertEqual(RunProgress.text(done: 10, total: 10, elapsed: 4), "10/10 images, 2.5 images/s")
    }
}
