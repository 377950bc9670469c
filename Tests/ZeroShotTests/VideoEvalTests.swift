import Foundation
import XCTest
import TestSupport

/// `zeroshot eval` scores images: a video in a dataset (an ImageFolder class folder or a manifest) is a failed
/// entry naming it, counted out of `n`, never a crash and never skipped without a word.
final class VideoEvalTests: XCTestCase {
    func testAVideoInADatasetIsAFailureNamingIt() throws {
        let dir = try TestVideos.temporaryDirectory(for: self)
        let folder = dir.appendingPathComponent("set")
        let fm = FileManager.default
        for name in ["cat", "rocket"] {
            try fm.createDirectory(at: folder.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        try fm.copyItem(at: fixtureImage("chelsea.jpg"), to: folder.appendingPathComponent("cat/a.jpg"))
        try fm.copyItem(at: fixtureImage("rocket.jpg"), to: folder.appendingPathComponent("rocket/b.jpg"))
        // A video named like a photo: recognised by its content.
        let video = try TestVideos.make("clip.mp4", in: dir, photos: [(fixtureImage("chelsea.jpg"), 0.3)])
        try fm.copyItem(at: video, to: folder.appendingPathComponent("cat/c.jpg"))
        let model = try fixtureModelDirectory().path

        let r = try ZeroshotProcess.run(["eval", "--model", model, "--no-text-cache", "--format", "json", folder.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cat/c.jpg: a video (MP4); eval takes images"), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(json["n"] as? Int, 2)
        let failed = try XCTUnwrap(json["failed"] as? [[String: String]])
        XCTAssertEqual(failed.map { $0["image"] }, ["cat/c.jpg"])
        XCTAssertTrue(failed.first?["error"]?.contains("a video") ?? false, "\(failed)")

        // In a manifest too.
        let manifest = dir.appendingPathComponent("list.csv")
        try "path,label\n\(fixtureImage("chelsea.jpg").path),0\n\(video.path),1\n".write(to: manifest, atomically: true,
                                                                                         encoding: .utf8)
        let m = try ZeroshotProcess.run(["eval", "--model", model, "--no-text-cache", "--format", "json", manifest.path])
        XCTAssertEqual(m.status, 1, m.stderr)
        XCTAssertTrue(m.stderr.contains("\(video.path): a video (MP4); eval takes images"), m.stderr)
        let mjson = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(m.stdout.utf8)) as? [String: Any], m.stdout)
        XCTAssertEqual(mjson["n"] as? Int, 1)
    }
}
