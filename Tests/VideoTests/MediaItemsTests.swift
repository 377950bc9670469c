import Foundation
import ImageIO
import Inputs
import TestSupport
import XCTest
@testable import Video

final class MediaItemsTests: XCTestCase {
    func entry(_ path: String, explicit: Bool = true) -> InputEntry {
        InputEntry(name: path, location: .file(URL(fileURLWithPath: path)), shardKey: (path as NSString).lastPathComponent,
                   explicit: explicit)
    }

    func describe(_ item: MediaItem) -> String {
        let name = (item.entry.name as NSString).lastPathComponent
        switch item {
        case .image(let i, _, let bytes): return "image \(i) \(name)\(bytes == nil ? "" : " downloaded")"
        case .frame(let i, _, let frame): return "frame \(i) \(VideoTime.text(frame.time)) #\(frame.index)"
        case .failure(let i, _, let error): return "failure \(i) \(error)"
        case .videoEnd(let i, _, let summary): return "end \(i) \(summary.frames)"
        }
    }

    func testOrderFramesFailuresAndEnds() throws {
        try TestVideos.requireFFmpeg()
        let video = try TestVideos.encoded("items.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"])
        let truncated = try TestVideos.copy(video, to: "items-truncated.mp4") { $0 = Array($0.prefix($0.count * 6 / 10)) }
        let audio = try TestVideos.make("items-audio.mp4", ["-f", "lavfi", "-i", "sine=d=0.3", "-c:a", "aac"])
        let photo = TestVideos.photos[0]
        let notAVideo = TestVideos.folder.appendingPathComponent("notes.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notAVideo))
        let missing = TestVideos.folder.appendingPathComponent("missing.mp4").path
        // The ipod muxer writes the M4A brand: an audio file, not a video container, yet named, it says why.
        let m4a = try TestVideos.make("items-audio.m4a", ["-f", "lavfi", "-i", "sine=d=0.3", "-c:a", "aac"])
        let items = MediaItems([entry(photo), entry(video), entry(notAVideo), entry(truncated), entry(audio), entry(missing),
                                entry(m4a)],
                               loader: InputLoader(), sampling: VideoSampling(mode: .every(seconds: 0.5)))
        let described = items.map(describe)
        XCTAssertEqual(described, [
            "image 0 chelsea.jpg",
            "frame 1 0.000 #0", "frame 1 0.520 #1", "frame 1 1.000 #2", "frame 1 1.520 #3", "end 1 4",
            "image 2 notes.txt",
            "frame 3 0.000 #0", "frame 3 0.520 #1", "frame 3 1.000 #2",
            // 45 frames of 0.04 s; 27 read (the 27th cut short), 18 missing.
            "failure 3 \(truncated): decoding stopped after 1.000 s (the file ends before the last 18 frame(s) its "
                + "index lists: truncated or corrupt); the frames before were kept",
            "end 3 3",
            "failure 4 \(audio): no video stream (an audio-only file?)", "end 4 0",
            // Not readable to sniff: passed on as an image, whose loading reports the error as before.
            "image 5 missing.mp4",
            "failure 6 \(m4a): no video stream (an audio-only file?)", "end 6 0",
        ])
        // Frames convert on demand, as images do; the other items as before.
        for item in items {
            switch item {
            case .frame:
                let image = try items.image(item)
                XCTAssertEqual(image.width, 176)
                XCTAssertEqual(image.height, 144)
            case .image(5, _, _):
                XCTAssertThrowsError(try items.image(item))
            case .image(2, _, _):
                XCTAssertThrowsError(try items.image(item)) { error in
                    XCTAssertEqual("\(error)", "\(notAVideo): not an image or a video (no JPEG, PNG, WebP, GIF or BMP "
                                   + "signature, nor that of a video container: MP4/MOV, Matroska/WebM, AVI, MPEG-TS)")
                }
            case .image:
                XCTAssertEqual(try items.image(item).width, 451)
            case .failure:
                XCTAssertThrowsError(try items.image(item))
            case .videoEnd:
                XCTAssertThrowsError(try items.image(item))
            }
        }
    }

    /// URLs are downloaded and sniffed: a video among them is decoded from memory, an image keeps its bytes.
    func testURLsAreDownloadedAndSniffed() throws {
        try TestVideos.requireFFmpeg()
        let video = try Data(contentsOf: URL(fileURLWithPath: try TestVideos.encoded("items.mp4", ["-c:v", "libx264", "-preset", "ultrafast", "-movflags", "+faststart"])))
        let photo = try Data(contentsOf: URL(fileURLWithPath: TestVideos.photos[1]))
        let server = try LoopbackServer { request in
            switch request.path {
            case "/clip": return .init(status: 200, body: video)
            case "/photo": return .init(status: 200, body: photo)
            default: return .init(status: 404)
            }
        }
        defer { server.stop() }
        func remote(_ path: String) -> InputEntry {
            let url = server.baseURL.appendingPathComponent(path)
            return InputEntry(name: url.absoluteString, location: .remote(url), shardKey: url.absoluteString, explicit: true)
        }
        let items = MediaItems([remote("clip"), remote("photo"), remote("gone")], loader: InputLoader(),
                               sampling: VideoSampling(mode: .every(seconds: 0.9)))
        let described = items.map(describe)
        XCTAssertEqual(Array(described.prefix(4)), ["frame 0 0.000 #0", "frame 0 0.920 #1", "end 0 2", "image 1 photo downloaded"])
        XCTAssertEqual(described.count, 5)
        XCTAssertTrue(described[4].hasPrefix("failure 2 "), described[4])
        // The downloaded video's frames equal the local file's.
        let local = try VideoReader(path: try TestVideos.encoded("items.mp4", []), name: "items.mp4").frame(at: 0.9)
        for item in items {
            if case .frame(_, _, let frame) = item, frame.index == 1 {
                XCTAssertEqual(try frame.rgbImage(), try local.rgbImage())
            }
        }
    }

    /// The producer runs ahead by at most the queue's capacity, and stops when the iterator goes away.
    func testTheProducerStopsWhenTheIteratorIsReleased() throws {
        try TestVideos.requireFFmpeg()
        let video = try TestVideos.encoded("items.mp4", [])
        var items = MediaItems(Array(repeating: entry(video), count: 50), loader: InputLoader(),
                               sampling: VideoSampling(mode: .every(seconds: 0.04)))
        items.queueCapacity = 2
        var channel: Channel?
        do {
            var iterator = items.makeIterator()
            XCTAssertNotNil(iterator.next())
            XCTAssertNotNil(iterator.next())
            channel = iterator.producer?.channel
        }
        let deadline = Date().addingTimeInterval(10)
        while channel?.isFinished == false && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(channel?.isFinished, true, "the producer thread did not stop")
        XCTAssertEqual(channel?.isCancelled, true)
    }
}
