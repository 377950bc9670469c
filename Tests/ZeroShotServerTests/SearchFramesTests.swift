import Foundation
import TestSupport
import XCTest
import ZeroShot
@testable import ZeroShotServer

/// `POST /v1/search` and `GET /v1/images` over an index that holds video frames (a video made with Debian's ffmpeg
/// at test time, indexed by `zeroshot index --every 0.5`).
final class SearchFramesTests: XCTestCase {
    override class func tearDown() {
        PayloadServer.stopAll()
        super.tearDown()
    }

    /// A folder with two photos and a 2-second video of two others, and its index; nil when ffmpeg or the index
    /// run failed (the message says which).
    static let indexed: Result<(folder: URL, video: String, db: String), Error> = Result {
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("zeroshot-search-frames-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["chelsea.jpg", "coffee_small.png"] {
            try FileManager.default.copyItem(at: pipelineImage(name), to: folder.appendingPathComponent(name))
        }
        let video = folder.appendingPathComponent("clip.mkv")
        let ffmpeg = Process()
        ffmpeg.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        ffmpeg.arguments = ["-nostdin", "-loglevel", "error", "-y",
                            "-loop", "1", "-t", "1", "-i", pipelineImage("rocket.jpg").path,
                            "-loop", "1", "-t", "1", "-i", pipelineImage("camera_gray.png").path,
                            "-filter_complex", "[0:v]scale=64:48,setsar=1,fps=10[a];[1:v]scale=64:48,setsar=1,fps=10[b];[a][b]concat=n=2:v=1:a=0[v]",
                            "-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", video.path]
        try ffmpeg.run()
        ffmpeg.waitUntilExit()
        guard ffmpeg.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        let db = folder.appendingPathComponent("media.db").path
        let run = try ZeroshotProcess.run(["index", "--db", db, "--model", fixtureModel("tiny-f16").path, "--quiet",
                                           "--every", "0.5", folder.path])
        guard run.status == 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: run.stderr]) }
        return (folder, video.path, db)
    }

    func setUpIndex() throws -> (folder: URL, video: String, db: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") else {
            if ProcessInfo.processInfo.environment["ZEROSHOT_CI"] == "1" { XCTFail("ffmpeg is missing (ZEROSHOT_CI=1)") }
            throw XCTSkip("ffmpeg is missing")
        }
        return try Self.indexed.get()
    }

    func testSearchGivesFrameTimesAsTheCommandLine() throws {
        let (_, video, db) = try setUpIndex()
        let server = try PayloadServer.shared("tiny-f16-frames-db", model: "tiny-f16", index: db)
        for (allFrames, topK) in [(false, 10), (true, 10), (true, 3)] {
            var body: [String: Any] = ["query": "a rocket", "top_k": topK]
            if allFrames { body["all_frames"] = true }
            let response = try server.postJSON("/v1/search", body)
            XCTAssertEqual(response.status, 200, response.text)
            let got = try XCTUnwrap(try response.json() as? [[String: Any]])
            let run = try ZeroshotProcess.run(["search", "--db", db, "--format", "json", "--top-k", "\(topK)", "a rocket"]
                                              + (allFrames ? ["--all-frames"] : []))
            XCTAssertEqual(run.status, 0, run.stderr)
            let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]])
            XCTAssertEqual(got.map { $0["path"] as? String }, expected.map { $0["path"] as? String })
            XCTAssertEqual(got.map { $0["time"] as? Double }, expected.map { $0["time"] as? Double })
            for (g, e) in zip(got, expected) {
                XCTAssertEqual(g["score"] as? Double ?? .nan, e["score"] as? Double ?? .nan, accuracy: 1e-6)
                // A frame has path, time and score; an image path and score.
                XCTAssertEqual(Array(g.keys).sorted(), g["path"] as? String == video ? ["path", "score", "time"] : ["path", "score"])
            }
            let frames = got.filter { $0["path"] as? String == video }
            if allFrames {
                XCTAssertEqual(got.count, topK == 10 ? 6 : 3, "4 frames and 2 photos")
                if topK == 10 { XCTAssertEqual(Set(frames.compactMap { $0["time"] as? Double }), [0, 0.5, 1, 1.5]) }
            } else {
                XCTAssertEqual(got.count, 3, "one hit per file")
                XCTAssertEqual(frames.count, 1)
            }
        }
        // The time is written with 3 decimals.
        let raw = try server.postJSON("/v1/search", ["query": "a rocket", "all_frames": true])
        XCTAssertTrue(raw.text.contains(#""time":1.500,"#) || raw.text.contains(#""time": 1.500,"#), raw.text)
        let wrongType = try server.postJSON("/v1/search", ["query": "a rocket", "all_frames": "yes"])
        XCTAssertEqual(wrongType.status, 422, wrongType.text)
        XCTAssertTrue(wrongType.errorMessage?.contains("all_frames") == true, wrongType.text)
    }

    func testImagesOfAVideoIsAClearError() throws {
        let (folder, video, db) = try setUpIndex()
        let server = try PayloadServer.shared("tiny-f16-frames-db", model: "tiny-f16", index: db)
        let response = try server.request("GET", "/v1/images?path=" + video.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertEqual(response.status, 422, response.text)
        XCTAssertEqual(response.errorType, "invalid_request_error")
        XCTAssertTrue(response.errorMessage?.contains("\(video) is a video of the index") == true, response.text)
        // The photos beside it are served.
        let photo = folder.appendingPathComponent("chelsea.jpg").path
        let served = try server.request("GET", "/v1/images?path=" + photo.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        XCTAssertEqual(served.status, 200, served.text)
    }
}
