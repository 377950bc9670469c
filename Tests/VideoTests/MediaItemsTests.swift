import Foundation
import ImageIO
import Inputs
import XCTest
@testable import Video

final class MediaItemsTests: XCTestCase {
    func entry(_ path: String, explicit: Bool = true) -> InputEntry {
        InputEntry(name: path, location: .file(URL(fileURLWithPath: path)), shardKey: (path as NSString).lastPathComponent,
                   explicit: explicit)
    }

    func describe(_ item: MediaItem) -> String {
        switch item {
        case .image(let i, _, _): return "image \(i)"
        case .frame(let i, _, let frame): return "frame \(i) \(VideoTime.text(frame.time))"
        case .failure(let i, _, _): return "failure \(i)"
        case .videoEnd(let i, _, let summary): return "end \(i) \(summary.frames)"
        }
    }

    func testOrderFramesFailuresAndEnds() throws {
        try TestVideos.requireFFmpeg()
        let video = try TestVideos.encoded("items.mp4", ["-c:v", "libx264", "-preset", "ultrafast"])
        // A video cut at 60% of its bytes: frames, then a failure, then its end.
        let photo = TestVideos.photos[0]
        let notAVideo = TestVideos.folder.appendingPathComponent("notes.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notAVideo))
        let items = MediaItems([entry(photo), entry(video), entry(notAVideo), entry(video)],
                               loader: InputLoader(), sampling: VideoSampling(mode: .every(seconds: 0.5)))
        let described = items.map(describe)
        XCTAssertEqual(described, [
            "image 0",
            "frame 1 0.000", "frame 1 0.520", "frame 1 1.000", "frame 1 1.520", "end 1 4",
            "image 2",
            "frame 3 0.000", "frame 3 0.520", "frame 3 1.000", "frame 3 1.520", "end 3 4",
        ])
        // Frames convert on demand, as images do.
        for item in items {
            if case .frame = item {
                let image = try items.image(item)
                XCTAssertEqual(image.width, 176)
                XCTAssertEqual(image.height, 144)
            }
        }
    }
}
