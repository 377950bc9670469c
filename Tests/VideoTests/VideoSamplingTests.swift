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
}
