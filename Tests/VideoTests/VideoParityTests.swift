import Foundation
import ImageIO
import XCTest
@testable import Video

/// Frames equal the `ffmpeg -ss t -i VIDEO -frames:v 1 -pix_fmt rgb24` frames, pixel for pixel.
final class VideoParityTests: XCTestCase {
    /// Compares the frame sampled at each time with the command line's.
    func assertParity(_ path: String, times: [Double], filter: ((VideoReader) -> String?)? = nil,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let reader = try VideoReader(path: path, name: path)
        for time in times {
            let frame = try reader.frame(at: time)
            XCTAssertGreaterThanOrEqual(frame.time + 1e-9, time, file: file, line: line)
            let image = try frame.rgbImage()
            XCTAssertEqual(image.width, reader.info.width, file: file, line: line)
            XCTAssertEqual(image.height, reader.info.height, file: file, line: line)
            let expected = try TestVideos.cliFrame(path, at: VideoTime.text(time), filter: filter?(reader))
            XCTAssertEqual(expected.count, image.pixels.count, "\(path) at \(time)", file: file, line: line)
            XCTAssertTrue(Data(image.pixels) == expected, "\(path) at \(time): pixels differ from ffmpeg's", file: file, line: line)
        }
    }

    func testH264InMP4() throws {
        try TestVideos.requireFFmpeg()
        let path = try TestVideos.encoded("h264.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-g", "12"])
        let reader = try VideoReader(path: path, name: "h264.mp4")
        XCTAssertEqual(reader.info.codec, "h264")
        XCTAssertEqual(reader.info.width, 176)
        XCTAssertEqual(reader.info.height, 144)
        XCTAssertEqual(reader.info.frameRate ?? 0, 25, accuracy: 0.01)
        XCTAssertEqual(reader.info.duration ?? 0, 1.8, accuracy: 0.05)
        try assertParity(path, times: [0, 0.3, 0.61, 1.0, 1.45, 1.76])
    }
}
