import Foundation
import XCTest
import TestSupport

/// classify and embed on videos, run as a user runs the built executable, on tiny videos made from the fixture
/// photos with known cut times (see `TestVideos`).
final class VideoCommandLineTests: XCTestCase {
    var model: String { get throws { try fixtureModelDirectory().path } }

    func run(_ arguments: [String]) throws -> CommandRun {
        try ZeroshotProcess.run(arguments)
    }

    /// The photos of the test videos, one per second: cuts at 1.000 and 2.000 s, 3.000 s long.
    let photos = ["chelsea.jpg", "rocket.jpg", "coffee_small.png"]
    /// Labels whose top label differs between the three photos at the test videos' 64x48 pixels with the fixture
    /// model (the segments test checks it on the frames).
    let labels = "camera,cup,cat"

    /// A 3-second, 10 fps video of the three photos (cuts at 1 and 2 s), lossless H.264 in MP4 unless told.
    func cutsVideo(_ name: String = "cuts.mp4", in dir: URL, codec: [String]? = nil) throws -> URL {
        let inputs = photos.map { (fixtureImage($0), 1.0) }
        if let codec { return try TestVideos.make(name, in: dir, photos: inputs, codec: codec) }
        return try TestVideos.make(name, in: dir, photos: inputs)
    }

    func parseArray(_ text: String) throws -> [[String: Any]] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], text)
    }

    func predictions(_ object: [String: Any]) throws -> [[String: Any]] {
        try XCTUnwrap(object["predictions"] as? [[String: Any]])
    }

    func testClassifyGivesFramesWithTheirTimeInEveryFormat() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try cutsVideo(in: dir).path
        let image = fixtureImage("chelsea.jpg").path
        let inputs = [image, video, image]
        let common = ["classify", "--model", try model, "--labels", "cat,dog,rocket", "--every", "0.5"]

        let json = try run(common + ["--format", "json"] + inputs)
        XCTAssertEqual(json.status, 0, json.stderr)
        let objects = try parseArray(json.stdout)
        XCTAssertEqual(objects.count, 8)
        guard objects.count == 8 else { return }
        XCTAssertNil(objects[0]["time"])
        XCTAssertNil(objects[7]["time"])
        XCTAssertEqual(objects[1...6].map { $0["image"] as? String }, Array(repeating: video, count: 6))
        XCTAssertEqual(objects[1...6].map { $0["time"] as? Double }, [0, 0.5, 1, 1.5, 2, 2.5])
        XCTAssertTrue(json.stdout.contains(#""time": 0.500, "predictions""#), json.stdout)
        for object in objects { XCTAssertEqual(try predictions(object).count, 3) }

        // jsonl: the same objects, one per line.
        let jsonl = try run(common + ["--format", "jsonl"] + inputs)
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let lines = jsonl.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 8)
        for (line, object) in zip(lines, objects) {
            let parsed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? NSDictionary)
            XCTAssertEqual(parsed, object as NSDictionary)
        }

        // csv: a time column, empty for the still images.
        let csv = try run(common + ["--format", "csv"] + inputs)
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        XCTAssertEqual(rows.first?.joined(separator: ","), "image,time,rank,label,score,logit")
        XCTAssertEqual(rows.count, 1 + 8 * 3)
        guard rows.count == 1 + 8 * 3, rows.allSatisfy({ $0.count == 6 }) else { return }
        XCTAssertEqual(rows[1][1], "")
        XCTAssertEqual(Set(rows[4...21].map { String($0[1]) }), ["0.000", "0.500", "1.000", "1.500", "2.000", "2.500"])
        XCTAssertEqual(rows[4...21].map { String($0[0]) }, Array(repeating: video, count: 18))
        XCTAssertEqual(rows[22][1], "")

        // table: the video's path once, then a time line per frame and its labels indented one more level.
        let table = try run(common + inputs)
        XCTAssertEqual(table.status, 0, table.stderr)
        let blocks = table.stdout.components(separatedBy: "\n\n")
        XCTAssertEqual(blocks.count, 3)
        guard blocks.count == 3 else { return }
        let videoLines = blocks[1].split(separator: "\n").map(String.init)
        XCTAssertEqual(videoLines.first, video)
        XCTAssertEqual(videoLines.filter { $0.hasSuffix(" s") },
                       ["  0.000 s", "  0.500 s", "  1.000 s", "  1.500 s", "  2.000 s", "  2.500 s"])
        XCTAssertEqual(videoLines.count, 1 + 6 * 4)
        for line in videoLines.dropFirst() where !line.hasSuffix(" s") {
            XCTAssertTrue(line.hasPrefix("     ") && line.contains("%  "), line)
        }
    }

    func testCSVHasTheTimeColumnForALocalVideoOrASamplingOption() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try cutsVideo(in: dir).path
        let image = fixtureImage("rocket.jpg").path
        let base = ["classify", "--model", try model, "--labels", "a,b", "--format", "csv"]
        // A local video among the inputs, no sampling option: one frame per second.
        let r = try run(base + [image, video])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("image,time,rank,label,score,logit\n\(image),,1,"), r.stdout)
        XCTAssertEqual(r.stdout.components(separatedBy: "\n\(video),").count - 1, 3 * 2)
        // Only images, with a sampling option: the column is there, empty.
        let images = try run(base + ["--max-frames", "2", image])
        XCTAssertTrue(images.stdout.hasPrefix("image,time,rank,label,score,logit\n\(image),,1,"), images.stdout)
        // Only images and no sampling option: today's header.
        let plain = try run(base + [image])
        XCTAssertTrue(plain.stdout.hasPrefix("image,rank,label,score,logit\n\(image),1,"), plain.stdout)
    }

    /// A sampled frame classifies exactly as the PNG `ffmpeg -ss t -i VIDEO -frames:v 1` gives for its time.
    func testAFrameClassifiesAsTheFrameFFmpegExtracts() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        // Lossy H.264 this time: the frames differ from the photos, and from each other.
        let video = try cutsVideo("lossy.mp4", in: dir, codec: ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30"])
        let common = ["classify", "--model", try model, "--labels", labels, "--format", "json"]
        let frames = try run(common + ["--every", "0.7", video.path])
        XCTAssertEqual(frames.status, 0, frames.stderr)
        let objects = try parseArray(frames.stdout)
        XCTAssertEqual(objects.map { $0["time"] as? Double }, [0, 0.7, 1.4, 2.1, 2.8])
        // The times as written (3 decimals), given to ffmpeg -ss as they are.
        let times = frames.stdout.components(separatedBy: #""time": "#).dropFirst().compactMap {
            $0.split(separator: ",").first.map(String.init)
        }
        XCTAssertEqual(times, ["0.000", "0.700", "1.400", "2.100", "2.800"])
        var pngs: [String] = []
        for (i, time) in times.enumerated() {
            let png = dir.appendingPathComponent("frame\(i).png")
            try TestVideos.extractFrame(video, time: time, to: png)
            pngs.append(png.path)
        }
        // The same images in one batch, as the frames were: the very same numbers.
        let images = try run(common + pngs)
        XCTAssertEqual(images.status, 0, images.stderr)
        let expected = try parseArray(images.stdout)
        XCTAssertEqual(expected.count, objects.count)
        for (frame, image) in zip(objects, expected) {
            XCTAssertEqual(try predictions(frame) as NSArray, try predictions(image) as NSArray,
                           "frame at \(frame["time"] ?? "?") s")
        }
    }

    func testSegmentsMergeFramesAndShowTheCuts() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try cutsVideo(in: dir).path
        let image = fixtureImage("rocket.jpg").path
        // The frames of each photo have the same pixels (lossless), so they share a top label, and `labels` give
        // each photo another: a segment per photo.
        let common = ["classify", "--model", try model, "--labels", labels, "--every", "0.5"]

        // The frames, merged here by hand, against --segments.
        let frames = try parseArray(try run(common + ["--format", "json", video]).stdout)
        var expected: [(start: Double, end: Double, label: String, scores: [Double])] = []
        for frame in frames {
            let top = try XCTUnwrap(try predictions(frame).first)
            let (time, label, score) = (frame["time"] as! Double, top["label"] as! String, top["score"] as! Double)
            if let last = expected.last, last.label == label {
                expected[expected.count - 1].scores.append(score)
            } else {
                if !expected.isEmpty { expected[expected.count - 1].end = time }
                expected.append((time, time, label, [score]))
            }
        }
        guard !expected.isEmpty else { return XCTFail("no frames: \(frames)") }
        expected[expected.count - 1].end = 3  // the container's duration, later than the last frame (2.5)
        XCTAssertEqual(expected.map(\.start), [0, 1, 2], "\(expected)")
        XCTAssertEqual(expected.map(\.end), [1, 2, 3])
        guard expected.count == 3 else { return }

        let r = try run(common + ["--segments", "--format", "json", image, video])
        XCTAssertEqual(r.status, 0, r.stderr)
        let segments = try parseArray(r.stdout)
        XCTAssertEqual(segments.count, 1 + expected.count)
        guard segments.count == 1 + expected.count else { return }
        XCTAssertTrue(segments[0]["start"] is NSNull)
        XCTAssertTrue(segments[0]["end"] is NSNull)
        XCTAssertEqual(segments[0]["image"] as? String, image)
        for (segment, e) in zip(segments.dropFirst(), expected) {
            XCTAssertEqual(segment["image"] as? String, video)
            XCTAssertEqual(segment["start"] as? Double, e.start)
            XCTAssertEqual(segment["end"] as? Double, e.end)
            XCTAssertEqual(segment["label"] as? String, e.label)
            XCTAssertEqual(try XCTUnwrap(segment["score"] as? Double), e.scores.reduce(0, +) / Double(e.scores.count),
                           accuracy: 1e-6)
        }
        XCTAssertTrue(r.stdout.contains(#""start": 1.000, "end": 2.000"#), r.stdout)

        let csv = try run(common + ["--segments", "--format", "csv", image, video])
        let csvLines = csv.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(csvLines.first, "image,start,end,label,score")
        XCTAssertEqual(csvLines.count, 1 + segments.count)
        guard csvLines.count == 1 + segments.count else { return }
        XCTAssertTrue(csvLines[1].hasPrefix("\(image),,,"), csvLines[1])
        XCTAssertTrue(csvLines[2].hasPrefix("\(video),0.000,1.000,\(expected[0].label),"), csvLines[2])

        let table = try run(common + ["--segments", video])
        let tableLines = table.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(tableLines.first, video)
        XCTAssertEqual(tableLines.count, 1 + expected.count)
        guard tableLines.count == 1 + expected.count else { return }
        XCTAssertTrue(tableLines[1].hasPrefix("  0.000-1.000 s  "), tableLines[1])
        XCTAssertTrue(tableLines[1].hasSuffix("%  \(expected[0].label)"), tableLines[1])
        XCTAssertTrue(tableLines[3].hasPrefix("  2.000-3.000 s  "), tableLines[3])

        let jsonl = try run(common + ["--segments", "--format", "jsonl", video])
        XCTAssertEqual(jsonl.stdout.split(separator: "\n").count, expected.count)
    }

    func testScenesWithoutAValueTakesTheNextArgumentAsAnInput() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try cutsVideo(in: dir).path
        let r = try run(["classify", "--model", try model, "--labels", "a,b", "--format", "json", "--scenes", video])
        XCTAssertEqual(r.status, 0, r.stderr)
        let times = try parseArray(r.stdout).compactMap { $0["time"] as? Double }
        // The first frame and the two cuts.
        XCTAssertEqual(times, [0, 1, 2])
        let tight = try run(["classify", "--model", try model, "--labels", "a,b", "--format", "json", "--scenes", "0.4",
                             "--max-gap", "0.25", video])
        XCTAssertEqual(tight.status, 0, tight.stderr)
        XCTAssertEqual(try parseArray(tight.stdout).compactMap { $0["time"] as? Double },
                       [0, 0.3, 0.6, 0.9, 1, 1.3, 1.6, 1.9, 2, 2.3, 2.6, 2.9])
    }

    func testMaxFramesStopsWithAWarning() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try cutsVideo(in: dir).path
        let r = try run(["classify", "--model", try model, "--labels", "a,b", "--format", "jsonl", "--every", "0.5",
                         "--max-frames", "2", video])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 2)
        XCTAssertTrue(r.stderr.contains("warning: \(video)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--max-frames 2"), r.stderr)
        XCTAssertTrue(r.stderr.contains("0.500 s"), r.stderr)
    }

    func testSamplingOptionsAreCheckedBeforeAnythingRuns() throws {
        let image = fixtureImage("rocket.jpg").path
        for (options, message) in [(["--every", "0"], "--every 0 is out of range"),
                                   (["--every", "-2"], "--every -2 is out of range"),
                                   (["--every", "x"], "--every"),
                                   (["--scenes", "1.5"], "--scenes 1.5 is out of range"),
                                   (["--scenes=-0.5"], "--scenes -0.5 is out of range"),
                                   (["--scenes", "--every", "2"], "--every and --scenes"),
                                   (["--max-gap", "3"], "--max-gap applies to --scenes"),
                                   (["--scenes", "--max-gap", "0"], "--max-gap 0 is out of range"),
                                   (["--max-frames", "0"], "--max-frames 0 is out of range"),
                                   (["--max-frames", "2", "--max-frames", "3"], "--max-frames is given 2 times")] {
            for command in [["classify", "--labels", "a,b"], ["embed"]] {
                let imageOption = command[0] == "embed" ? ["--image", image] : [image]
                let r = try run(command + ["--model", "/nonexistent/model"] + options + imageOption)
                XCTAssertEqual(r.status, 64, "\(command) \(options): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(message), "\(options): \(r.stderr)")
            }
        }
        let segments = try run(["classify", "--model", try model, "--labels", "a,b", "--segments", "--top-k", "1", image])
        XCTAssertEqual(segments.status, 64, segments.stderr)
        XCTAssertTrue(segments.stderr.contains("--top-k"), segments.stderr)
        // With --db no video is read: sampling options and --segments have nothing to act on.
        for options in [["--every", "2"], ["--scenes"], ["--max-frames", "3"], ["--segments"]] {
            let r = try run(["classify", "--db", "/nonexistent/photos.db", "--labels", "a,b"] + options)
            XCTAssertEqual(r.status, 64, "\(options): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(options[0]) && r.stderr.contains("--db"), "\(options): \(r.stderr)")
        }
    }

    /// A video that stops halfway and one that cannot be opened, among good images: the images' results and the
    /// frames before the break are written, each bad video is named on standard error, and the exit code is 1.
    func testABadVideoAmongGoodImagesKeepsEverythingElse() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        // The index first (+faststart), so that a file cut short opens and decodes up to the cut.
        let whole = try cutsVideo("whole.mp4", in: dir, codec: ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "30",
                                                                 "-movflags", "+faststart"])
        let bytes = try Data(contentsOf: whole)
        let cut = dir.appendingPathComponent("cut.mp4")
        try bytes.prefix(bytes.count * 55 / 100).write(to: cut)
        // The index at the end (the default): cut short, the file cannot be opened at all.
        let plain = try cutsVideo("plain.mp4", in: dir)
        let unopenable = dir.appendingPathComponent("unopenable.mp4")
        try (try Data(contentsOf: plain)).prefix(2000).write(to: unopenable)
        let a = fixtureImage("rocket.jpg").path, b = fixtureImage("chelsea.jpg").path

        let r = try run(["classify", "--model", try model, "--labels", "a,b", "--every", "0.5", "--format", "json",
                         a, cut.path, unopenable.path, b])
        XCTAssertEqual(r.status, 1, r.stderr)
        let objects = try parseArray(r.stdout)
        XCTAssertEqual(objects.first?["image"] as? String, a)
        XCTAssertEqual(objects.last?["image"] as? String, b)
        let frames = objects.filter { $0["image"] as? String == cut.path }
        XCTAssertFalse(frames.isEmpty, r.stdout)
        let times = frames.compactMap { $0["time"] as? Double }
        XCTAssertEqual(times, Array([0, 0.5, 1, 1.5, 2, 2.5].prefix(times.count)))
        XCTAssertLessThan(times.count, 6, "frames past the cut: \(times)")
        XCTAssertFalse(objects.contains { $0["image"] as? String == unopenable.path })
        XCTAssertTrue(r.stderr.contains("error: \(cut.path)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("error: \(unopenable.path): "), r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "error: ").count - 1, 2, r.stderr)

        // --segments: the last segment of the broken video ends at its last frame, not at the stated duration.
        let s = try run(["classify", "--model", try model, "--labels", "a,b", "--every", "0.5", "--segments",
                         "--format", "json", cut.path])
        XCTAssertEqual(s.status, 1, s.stderr)
        let ends = try parseArray(s.stdout).compactMap { $0["end"] as? Double }
        XCTAssertEqual(ends.last, times.last)
    }

    /// The last segment ends at the stated duration only when the frames reached it: a --max-frames stop, or a
    /// Matroska file cut short (its header still states the whole duration), ends it at its last frame.
    func testSegmentsEndAtTheLastFrameWhenTheDurationIsNotReached() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try cutsVideo(in: dir).path
        let common = ["classify", "--model", try model, "--labels", "a,b", "--every", "0.5", "--segments",
                      "--format", "json"]
        let limited = try run(common + ["--max-frames", "2", video])
        XCTAssertEqual(limited.status, 0, limited.stderr)
        XCTAssertEqual(try parseArray(limited.stdout).last?["end"] as? Double, 0.5, limited.stdout)
        let whole = try run(common + [video])
        XCTAssertEqual(try parseArray(whole.stdout).last?["end"] as? Double, 3.0, whole.stdout)

        let mkv = try cutsVideo("cuts.mkv", in: dir)
        let cut = dir.appendingPathComponent("cut.mkv")
        let bytes = try Data(contentsOf: mkv)
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let frames = try run(["classify", "--model", try model, "--labels", "a,b", "--every", "0.5", "--format", "json",
                              cut.path])
        let last = try XCTUnwrap(try parseArray(frames.stdout).last?["time"] as? Double, frames.stdout)
        XCTAssertLessThan(last, 2.5)
        let s = try run(common + [cut.path])
        XCTAssertEqual(try parseArray(s.stdout).last?["end"] as? Double, last, s.stdout + s.stderr)
    }

    /// A video URL is recognised once downloaded and decoded from memory; in a csv run whose header has no time
    /// column (no local video, no sampling option) it is an error for that input naming the fix.
    func testAVideoURLInEveryFormatAndInACSVWithoutATimeColumn() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try Data(contentsOf: try cutsVideo(in: dir))
        let image = try Data(contentsOf: fixtureImage("rocket.jpg"))
        let server = try LoopbackServer { request in
            LoopbackServer.Response(status: 200, body: request.path == "/clip" ? video : image)
        }
        defer { server.stop() }
        let clip = server.baseURL.appendingPathComponent("clip").absoluteString
        let photo = server.baseURL.appendingPathComponent("photo").absoluteString
        let base = ["classify", "--model", try model, "--labels", "a,b"]

        let json = try run(base + ["--format", "json", photo, clip])
        XCTAssertEqual(json.status, 0, json.stderr)
        let objects = try parseArray(json.stdout)
        XCTAssertEqual(objects.map { $0["image"] as? String }, [photo, clip, clip, clip])
        XCTAssertEqual(objects.map { $0["time"] as? Double }, [nil, 0, 1, 2])

        let csv = try run(base + ["--format", "csv", photo, clip])
        XCTAssertEqual(csv.status, 1, csv.stderr)
        XCTAssertTrue(csv.stdout.hasPrefix("image,rank,label,score,logit\n\(photo),1,"), csv.stdout)
        XCTAssertFalse(csv.stdout.contains(clip), csv.stdout)
        XCTAssertTrue(csv.stderr.contains("error: \(clip): a video"), csv.stderr)
        XCTAssertTrue(csv.stderr.contains("add --every 1"), csv.stderr)
        XCTAssertEqual(csv.stderr.components(separatedBy: "error: ").count - 1, 1, csv.stderr)

        let timed = try run(base + ["--format", "csv", "--every", "1", photo, clip])
        XCTAssertEqual(timed.status, 0, timed.stderr)
        XCTAssertTrue(timed.stdout.hasPrefix("image,time,rank,label,score,logit\n\(photo),,1,"), timed.stdout)
        XCTAssertTrue(timed.stdout.contains("\n\(clip),2.000,2,"), timed.stdout)
    }

    func testEmbedGivesFramesWithTheirTime() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let video = try cutsVideo(in: dir).path
        let image = fixtureImage("rocket.jpg").path
        let r = try run(["embed", "--model", try model, "--image", image, "--image", video, "--text", "a cat",
                         "--format", "json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try parseArray(r.stdout)
        XCTAssertEqual(rows.map { $0["input"] as? String }, [image, video, video, video, "a cat"])
        XCTAssertEqual(rows.map { $0["time"] as? Double }, [nil, 0, 1, 2, nil])
        guard rows.count == 5 else { return }
        XCTAssertTrue(r.stdout.contains(#""time": 1.000, "embedding": ["#), r.stdout)
        let width = (rows[0]["embedding"] as? [Double])?.count
        XCTAssertNotNil(width)
        for row in rows { XCTAssertEqual((row["embedding"] as? [Double])?.count, width) }
        // Frames of different photos embed differently.
        XCTAssertNotEqual(rows[1]["embedding"] as? [Double], rows[2]["embedding"] as? [Double])
    }
}
