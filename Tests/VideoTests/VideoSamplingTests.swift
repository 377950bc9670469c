import XCTest
@testable import Video

final class VideoSamplingTests: XCTestCase {
    func testKeyNamesTheSettings() {
        XCTAssertEqual(VideoSampling().key, "every=1")
        XCTAssertEqual(VideoSampling(mode: .every(seconds: 0.5), maxFrames: 20).key, "every=0.5,max-frames=20")
        XCTAssertEqual(VideoSampling(mode: .scenes(threshold: 0.4, maxGap: 10)).key, "scenes=0.4,max-gap=10")
    }

    func testTimesAreTruncatedToMilliseconds() {
        XCTAssertEqual(VideoTime.text(0), "0.000")
        XCTAssertEqual(VideoTime.text(1.001), "1.001")
        XCTAssertEqual(VideoTime.text(12.0333333), "12.033")
        XCTAssertEqual(VideoTime.text(1001.0 / 30000.0 * 30), "1.001")
        XCTAssertEqual(VideoTime.text(59.9999), "59.999")
    }

    /// Times from a damaged container or photo index can be any Double: past 9e15 s their milliseconds overflowed an
    /// Int64 and stopped the process (found by the sqlite-index fuzzer: a frame time of about 1e300 in an index).
    func testEveryFiniteTimeIsWritten() {
        XCTAssertEqual(VideoTime.text(8_999_999_999_999.25), "8999999999999.250")
        XCTAssertEqual(VideoTime.text(-12.5), "-12.500")
        XCTAssertEqual(VideoTime.text(9e15), "9000000000000000.000")
        XCTAssertEqual(VideoTime.text(-1e16), "-10000000000000000.000")
        XCTAssertEqual(VideoTime.text(9.3e18), "9300000000000000000.000")
        XCTAssertEqual(VideoTime.text(1e300), String(format: "%.0f", 1e300) + ".000")
        XCTAssertTrue(VideoTime.text(-Double.greatestFiniteMagnitude).hasSuffix(".000"))
        XCTAssertEqual(VideoTime.text(.infinity), "0.000")
    }
}
