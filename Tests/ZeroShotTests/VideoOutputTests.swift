import Foundation
import XCTest
import Video
import ZeroShot
@testable import zeroshot

/// `--segments` merging and the output of frames and segments, from hand-made predictions.
final class VideoSegmentMergerTests: XCTestCase {
    /// Feeds (time, top label, score) frames and the duration; returns the segments in order.
    private func merge(_ frames: [(Double, String?, Float)], duration: Double?) -> [Segment] {
        var merger = SegmentMerger()
        var result: [Segment] = []
        for (time, label, score) in frames {
            if let s = merger.add(time: time, top: label.map { ($0, score) }) { result.append(s) }
        }
        if let s = merger.finish(duration: duration) { result.append(s) }
        return result
    }

    func testConsecutiveFramesWithTheSameTopLabelMerge() {
        let segments = merge([(0, "dog", 0.9), (1, "dog", 0.7), (2, "cat", 0.6), (3, "cat", 0.8), (4, "dog", 0.5)],
                             duration: 4.5)
        XCTAssertEqual(segments.map(\.label), ["dog", "cat", "dog"])
        XCTAssertEqual(segments.map(\.start), [0, 2, 4])
        // A segment ends at the next sampled frame; the last one at the duration, later than its last frame.
        XCTAssertEqual(segments.map(\.end), [2, 4, 4.5])
        XCTAssertEqual(segments.map(\.frames), [2, 2, 1])
        XCTAssertEqual(segments[0].score, 0.8, accuracy: 1e-6)
        XCTAssertEqual(segments[1].score, 0.7, accuracy: 1e-6)
        XCTAssertEqual(segments[2].score, 0.5)
    }

    func testTheLastSegmentEndsAtItsLastFrameWhenTheDurationIsNotLater() {
        XCTAssertEqual(merge([(0, "a", 1), (0.5, "a", 1)], duration: nil).map(\.end), [0.5])
        XCTAssertEqual(merge([(0, "a", 1), (0.5, "a", 1)], duration: 0.2).map(\.end), [0.5])
        XCTAssertEqual(merge([(0, "a", 1), (0.5, "a", 1)], duration: .infinity).map(\.end), [0.5])
        XCTAssertEqual(merge([(0, "a", 1), (0.5, "b", 1)], duration: 7).map(\.end), [0.5, 7])
    }

    func testAFrameWithoutALabelEndsTheSegmentAndStartsNone() {
        let segments = merge([(0, "a", 0.6), (1, nil, 0), (2, nil, 0), (3, "a", 0.9), (4, "a", 0.7)], duration: 10)
        XCTAssertEqual(segments.map(\.label), ["a", "a"])
        XCTAssertEqual(segments.map(\.start), [0, 3])
        XCTAssertEqual(segments.map(\.end), [1, 10])
        XCTAssertEqual(segments[1].score, 0.8, accuracy: 1e-6)
        XCTAssertEqual(merge([(0, nil, 0), (1, nil, 0)], duration: 5), [])
        XCTAssertEqual(merge([], duration: 5), [])
    }

    func testLabelsAreComparedExactly() {
        XCTAssertEqual(merge([(0, "Dog", 1), (1, "dog", 1), (2, "dog ", 1)], duration: nil).count, 3)
    }
}

final class VideoOutputFormatTests: XCTestCase {
    private let p1 = Prediction(label: "dog", score: 0.75, logit: 3.5)
    private let p2 = Prediction(label: "a cat", score: 0.25, logit: 2.25)

    func testFramesCarryTheirTime() {
        var json = ClassifyOutput(format: .json)
        let text = json.header() + json.item("a.jpg", [p1]) + json.frame(video: 1, path: "v.mp4", time: 12.0333, [p1, p2])
            + json.footer()
        let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]
        XCTAssertEqual(parsed?.count, 2)
        XCTAssertNil(parsed?[0]["time"])
        XCTAssertEqual(parsed?[1]["time"] as? Double, 12.033)
        XCTAssertTrue(text.contains(#"{"image": "v.mp4", "time": 12.033, "predictions": [{"label": "dog""#), text)
        var jsonl = ClassifyOutput(format: .jsonl)
        let line = jsonl.frame(video: 0, path: "v.mp4", time: 0, [p1])
        XCTAssertEqual(line.filter { $0 == "\n" }.count, 1)
        let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        XCTAssertEqual(object?["time"] as? Double, 0)
        XCTAssertTrue(line.contains("0.000"), line)
    }

    func testCSVHasATimeColumnOnlyWhenAsked() {
        var plain = ClassifyOutput(format: .csv)
        XCTAssertEqual(plain.header() + plain.item("a,b.jpg", [p1]), "image,rank,label,score,logit\n\"a,b.jpg\",1,dog,0.75,3.5\n")
        var timed = ClassifyOutput(format: .csv, timeColumn: true)
        XCTAssertEqual(timed.header() + timed.item("a.jpg", [p1]) + timed.frame(video: 1, path: "v.mp4", time: 1.5, [p1, p2]),
                       "image,time,rank,label,score,logit\na.jpg,,1,dog,0.75,3.5\n"
                       + "v.mp4,1.500,1,dog,0.75,3.5\nv.mp4,1.500,2,a cat,0.25,2.25\n")
    }

    func testTableGroupsTheFramesOfAVideo() {
        var table = ClassifyOutput(format: .table, threshold: 0.5)
        let text = table.item("a.jpg", [p1]) + table.frame(video: 1, path: "v.mp4", time: 0, [p1, p2])
            + table.frame(video: 1, path: "v.mp4", time: 2, []) + table.frame(video: 2, path: "v.mp4", time: 0, [p1])
            + table.item("b.jpg", [p2])
        XCTAssertEqual(text, """
            a.jpg
                75.00%  dog

            v.mp4
              0.000 s
                  75.00%  dog
                  25.00%  a cat
              2.000 s
                (no label scored >= 0.5)

            v.mp4
              0.000 s
                  75.00%  dog

            b.jpg
                25.00%  a cat

            """)
    }

    func testSegmentsInEveryFormat() throws {
        let s1 = Segment(start: 0, end: 12, label: "dog", score: 0.912, frames: 3)
        let s2 = Segment(start: 12, end: 13.5, label: "a, cat", score: 0.5, frames: 1)
        func render(_ format: Classify.OutputFormat) -> String {
            var out = SegmentOutput(format: format, threshold: 0.3)
            return out.header() + out.segment(input: 0, path: "v.mp4", s1) + out.segment(input: 0, path: "v.mp4", s2)
                + out.image(input: 1, path: "a.jpg", top: p1) + out.image(input: 2, path: "b.jpg", top: nil)
                + out.empty(input: 3, path: "w.mp4") + out.footer()
        }
        XCTAssertEqual(render(.csv), "image,start,end,label,score\nv.mp4,0.000,12.000,dog,0.912\n"
                       + "v.mp4,12.000,13.500,\"a, cat\",0.5\na.jpg,,,dog,0.75\n")
        XCTAssertEqual(render(.table), """
            v.mp4
              0.000-12.000 s  91.20%  dog
              12.000-13.500 s  50.00%  a, cat

            a.jpg
              75.00%  dog

            b.jpg
              (no label scored >= 0.3)

            w.mp4
              (no label scored >= 0.3)

            """)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(render(.json).utf8)) as? [[String: Any]])
        XCTAssertEqual(json.count, 3)
        XCTAssertEqual(json[0]["start"] as? Double, 0)
        XCTAssertEqual(json[0]["end"] as? Double, 12)
        XCTAssertEqual(json[1]["label"] as? String, "a, cat")
        XCTAssertTrue(json[2]["start"] is NSNull)
        XCTAssertTrue(json[2]["end"] is NSNull)
        XCTAssertEqual(json[2]["label"] as? String, "dog")
        let lines = render(.jsonl).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        for line in lines { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(line.utf8))) }
    }

    func testEmbedRowsOfFramesCarryTheirTime() throws {
        let row = Embed.row("v.mp4", time: 2.0004, [0.5, -1])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
        XCTAssertEqual(object["time"] as? Double, 2)
        XCTAssertTrue(row.contains("2.000"), row)
        XCTAssertNil((try JSONSerialization.jsonObject(with: Data(Embed.row("a.jpg", [1]).utf8)) as? [String: Any])?["time"])
    }
}

/// `--scenes` with an optional value: the arguments are rewritten before parsing.
final class VideoOptionsParsingTests: XCTestCase {
    private func rewrite(_ arguments: [String]) -> [String] {
        VideoOptions.rewritingBareScenes(arguments, root: ZeroShotCommand.self)
    }

    func testABareScenesGetsTheDefault() {
        XCTAssertEqual(rewrite(["classify", "--scenes", "a.mp4"]), ["classify", "--scenes=0.4", "a.mp4"])
        XCTAssertEqual(rewrite(["classify", "a.mp4", "--scenes"]), ["classify", "a.mp4", "--scenes=0.4"])
        XCTAssertEqual(rewrite(["embed", "--scenes", "--max-gap", "3"]), ["embed", "--scenes=0.4", "--max-gap", "3"])
        XCTAssertEqual(rewrite(["classify", "--scenes", "nan"]), ["classify", "--scenes=0.4", "nan"])
    }

    func testANumberAfterScenesIsItsValue() {
        for value in ["0.3", "1", "0", ".5", "1.5", "-1", "1e-1"] {
            XCTAssertEqual(rewrite(["classify", "--scenes", value, "a.mp4"]), ["classify", "--scenes", value, "a.mp4"])
        }
        XCTAssertEqual(rewrite(["classify", "--scenes=0.2", "a.mp4"]), ["classify", "--scenes=0.2", "a.mp4"])
    }

    func testOnlyAnOptionInItsPlaceIsRewritten() {
        // The value of an option that takes the next argument whatever it is, and anything after "--".
        XCTAssertEqual(rewrite(["classify", "--label", "--scenes", "a.mp4"]), ["classify", "--label", "--scenes", "a.mp4"])
        XCTAssertEqual(rewrite(["classify", "--", "--scenes"]), ["classify", "--", "--scenes"])
        XCTAssertEqual(rewrite(["classify", "--label", "x", "--scenes", "a.mp4"]),
                       ["classify", "--label", "x", "--scenes=0.4", "a.mp4"])
        // A subcommand without the option is left alone (its parser reports it).
        XCTAssertEqual(rewrite(["tokenize", "--scenes", "x"]), ["tokenize", "--scenes", "x"])
    }

    func testSampling() throws {
        func sampling(_ arguments: [String]) throws -> VideoSampling {
            try VideoOptions.parse(arguments).sampling()
        }
        XCTAssertEqual(try sampling([]), VideoSampling(mode: .every(seconds: 1)))
        XCTAssertEqual(try sampling(["--every", "2.5", "--max-frames", "7"]),
                       VideoSampling(mode: .every(seconds: 2.5), maxFrames: 7))
        XCTAssertEqual(try sampling(["--scenes=0.3"]), VideoSampling(mode: .scenes(threshold: 0.3, maxGap: 10)))
        XCTAssertEqual(try sampling(["--scenes", "0", "--max-gap", "2"]),
                       VideoSampling(mode: .scenes(threshold: 0, maxGap: 2)))
        XCTAssertFalse(try VideoOptions.parse([]).anyGiven)
        XCTAssertTrue(try VideoOptions.parse(["--max-frames", "3"]).anyGiven)
        for (bad, option) in [(["--every", "0"], "--every 0"), (["--every", "-1"], "--every -1"),
                              (["--every", "inf"], "--every inf"), (["--every", "nan"], "--every nan"),
                              (["--scenes", "1.5"], "--scenes 1.5"), (["--scenes", "-0.1"], "--scenes -0.1"),
                              (["--scenes=0.3", "--max-gap", "0"], "--max-gap 0"),
                              (["--max-gap", "3"], "--max-gap applies to --scenes"),
                              (["--max-frames", "0"], "--max-frames 0"),
                              (["--every", "1", "--scenes=0.3"], "--every and --scenes"),
                              (["--every", "1", "--every", "2"], "--every is given 2 times")] {
            XCTAssertThrowsError(try sampling(bad), "\(bad)") { error in
                XCTAssertTrue("\(error)".contains(option), "\(bad): \(error)")
            }
        }
    }
}
