import Foundation
import XCTest
@testable import Inputs
#if canImport(Glibc)
import Glibc
#endif

final class InputWalkerTests: XCTestCase {
    func names(_ walk: InputWalk) -> [String] { walk.entries.map(\.name) }

    /// Sorted by UTF-8 bytes (as Python's sorted(os.listdir)), depth first; hidden and AppleDouble names skipped;
    /// files recognised by content, not by extension.
    func testOrderHiddenAndContent() throws {
        let tree = try TestTree(self)
        for name in ["b.png", "a.png", "B.png", "é.png", "e.png", "z/1.png", "a dir/x.png", "noext", "Z.JPG"] {
            try tree.file("photos/" + name)
        }
        try tree.file("photos/scan.tif", Header.tiff)
        try tree.file("photos/photo.jpg", Header.text)          // named like an image, holds text: skipped
        try tree.file("photos/notes.txt", Header.text)
        try tree.file("photos/empty.png", Data())
        try tree.file("photos/.hidden.png")
        try tree.file("photos/._a.png")                        // AppleDouble
        try tree.file("photos/.git/x.png")
        try tree.file("photos/z/.thumbs/t.png")
        let walk = tree.inRoot { InputWalker().entries(["photos"]) }
        XCTAssertEqual(names(walk), ["photos/B.png", "photos/Z.JPG", "photos/a dir/x.png", "photos/a.png", "photos/b.png",
                                     "photos/e.png", "photos/noext", "photos/scan.tif", "photos/z/1.png", "photos/é.png"])
        XCTAssertEqual(walk.skippedNonImages, 3)
        XCTAssertEqual(walk.problems, [])
        XCTAssertTrue(walk.entries.allSatisfy { !$0.explicit })
        let entry = try XCTUnwrap(walk.entries.first { $0.name == "photos/a dir/x.png" })
        XCTAssertEqual(entry.shardKey, "a dir/x.png")
        XCTAssertEqual(entry.location, .file(URL(fileURLWithPath: tree.path("photos/a dir/x.png"))))

        // The Python order, computed independently: depth-first walk over sorted(os.listdir) byte order.
        let bytesOrder = names(walk).map { Array($0.utf8) }
        XCTAssertEqual(bytesOrder, bytesOrder.sorted { $0.lexicographicallyPrecedes($1) }.sorted { a, b in
            // "a dir/x.png" precedes "a.png" because ' ' < '.'; a plain byte sort agrees here.
            a.lexicographicallyPrecedes(b)
        })

        // A trailing slash and "./" keep the name as typed.
        XCTAssertEqual(tree.inRoot { names(InputWalker().entries(["photos/z/"])) }, ["photos/z/1.png"])
        XCTAssertEqual(tree.inRoot { names(InputWalker().entries(["./photos/z"])) }, ["./photos/z/1.png"])
        // An absolute argument gives absolute names.
        XCTAssertEqual(names(InputWalker().entries([tree.path("photos/z")])), [tree.path("photos/z/1.png")])
    }

    /// Arguments keep their order; a file argument is taken whatever it holds; a missing one is a problem and the
    /// others are still listed; URLs are inputs.
    func testArguments() throws {
        let tree = try TestTree(self)
        try tree.file("dir/b.png")
        try tree.file("dir/a.png")
        try tree.file("notes.txt", Header.text)
        try tree.file(".hidden/c.png")
        let walk = tree.inRoot {
            InputWalker(exclude: ["*.txt", "*.png"]).entries(["notes.txt", "missing.jpg", "dir", "https://example.com/x.jpg?a=1",
                                                             "http://", ".hidden"])
        }
        XCTAssertEqual(names(walk), ["notes.txt", "https://example.com/x.jpg?a=1"])
        XCTAssertEqual(walk.entries[0], InputEntry(name: "notes.txt", location: .file(URL(fileURLWithPath: tree.path("notes.txt"))),
                                                   shardKey: "notes.txt", explicit: true))
        XCTAssertEqual(walk.entries[1].location, .remote(URL(string: "https://example.com/x.jpg?a=1")!))
        XCTAssertEqual(walk.entries[1].shardKey, "https://example.com/x.jpg?a=1")
        XCTAssertEqual(walk.problems, [.missingArgument("missing.jpg", reason: "No such file or directory"), .invalidURL("http://")])
        XCTAssertEqual(walk.problems[0].description, "missing.jpg: cannot read the file (No such file or directory)")
        // A URL of a scheme that is not downloaded is looked for as a file, and the message says why.
        let ftp = tree.inRoot { InputWalker().entries(["ftp://example.com/x.jpg"]) }
        XCTAssertEqual(ftp.problems.map(\.description), [
            "ftp://example.com/x.jpg: cannot read the file (No such file or directory); only http:// and https:// URLs are downloaded",
        ])

        // A hidden folder named as an argument is walked; without the exclusion both files come in order.
        let plain = tree.inRoot { InputWalker().entries(["dir", ".hidden", "dir/b.png"]) }
        XCTAssertEqual(names(plain), ["dir/a.png", "dir/b.png", ".hidden/c.png", "dir/b.png"])
        XCTAssertEqual(plain.entries[3].shardKey, "b.png")
    }

    /// A glob without "/" matches names at any depth (a matching folder is not entered); one with "/" matches the
    /// path relative to the argument.
    func testExclude() throws {
        let tree = try TestTree(self)
        for name in ["a.png", "a.jpg", "raw/b.png", "raw/deep/c.png", "keep/raw.png", "keep/thumbs/d.png", "keep/e.png"] {
            try tree.file("p/" + name)
        }
        func walked(_ exclude: [String]) -> [String] {
            tree.inRoot { names(InputWalker(exclude: exclude).entries(["p"])) }
        }
        XCTAssertEqual(walked(["raw"]), ["p/a.jpg", "p/a.png", "p/keep/e.png", "p/keep/raw.png", "p/keep/thumbs/d.png"])
        XCTAssertEqual(walked(["*.png"]), ["p/a.jpg"])
        XCTAssertEqual(walked(["raw/*"]), ["p/a.jpg", "p/a.png", "p/keep/e.png", "p/keep/raw.png", "p/keep/thumbs/d.png"])
        XCTAssertEqual(walked(["keep/*.png"]), ["p/a.jpg", "p/a.png", "p/raw/b.png", "p/raw/deep/c.png"])
        XCTAssertEqual(walked(["thumbs", "a.*"]), ["p/keep/e.png", "p/keep/raw.png", "p/raw/b.png", "p/raw/deep/c.png"])
        XCTAssertEqual(walked(["[ab].png"]), ["p/a.jpg", "p/keep/e.png", "p/keep/raw.png", "p/keep/thumbs/d.png", "p/raw/deep/c.png"])
    }

    /// Symbolic links are followed; one that leads back to a folder on the way down is reported and not entered;
    /// a broken one is reported; the walk goes on.
    func testSymlinks() throws {
        let tree = try TestTree(self)
        try tree.file("lib/a.png")
        try tree.file("lib/sub/b.png")
        try tree.file("elsewhere/c.png")
        try tree.symlink("lib/sub/up", to: "..")                   // loop: lib/sub/up -> lib
        try tree.symlink("lib/sub/self", to: ".")                  // loop to itself
        try tree.symlink("lib/other", to: tree.path("elsewhere"))  // a plain link to another folder: followed
        try tree.symlink("lib/d.png", to: "sub/b.png")             // a link to a file: taken under its own name
        try tree.symlink("lib/gone.png", to: "nowhere.png")        // broken
        try tree.symlink("lib/x1", to: "x2")                       // a file link loop
        try tree.symlink("lib/x2", to: "x1")
        let walk = tree.inRoot { InputWalker().entries(["lib"]) }
        XCTAssertEqual(names(walk), ["lib/a.png", "lib/d.png", "lib/other/c.png", "lib/sub/b.png"])
        XCTAssertEqual(walk.problems, [
            .unreadableEntry("lib/gone.png", reason: "broken symbolic link"),
            .symlinkLoop("lib/sub/self", ancestor: "lib/sub"),
            .symlinkLoop("lib/sub/up", ancestor: "lib"),
            .unreadableEntry("lib/x1", reason: "Too many levels of symbolic links"),
            .unreadableEntry("lib/x2", reason: "Too many levels of symbolic links"),
        ].sorted { $0.path < $1.path })
        XCTAssertEqual(walk.problems.first { $0.path == "lib/sub/up" }?.description,
                       "lib/sub/up: symbolic link loop (it leads back to lib, which is being walked); not followed")
        // The same folder reached twice without a loop is walked twice.
        try tree.symlink("twice", to: "lib/sub")
        let again = tree.inRoot { InputWalker(exclude: ["up", "self", "x?", "gone.png"]).entries(["lib", "twice"]) }
        XCTAssertEqual(names(again), ["lib/a.png", "lib/d.png", "lib/other/c.png", "lib/sub/b.png", "twice/b.png"])
        XCTAssertEqual(again.problems, [])
    }

    /// A folder without read permission is reported with the system's reason and the walk goes on. Root reads any
    /// folder (CAP_DAC_OVERRIDE), so there the folder is simply walked; the report itself is then checked with a
    /// folder root cannot list either: one whose path is longer than PATH_MAX (ENAMETOOLONG for everyone).
    func testUnreadableFolder() throws {
        let tree = try TestTree(self)
        try tree.file("p/a.png")
        try tree.file("p/locked/b.png")
        try tree.file("p/z.png")
        let locked = tree.path("p/locked")
        XCTAssertEqual(chmod(locked, 0), 0)
        let walk = tree.inRoot { InputWalker().entries(["p"]) }
        let privileged = opendir(locked).map { closedir($0); return true } ?? false
        if privileged {
            XCTAssertEqual(geteuid(), 0, "only a privileged user reads a mode-000 folder")
            XCTAssertEqual(names(walk), ["p/a.png", "p/locked/b.png", "p/z.png"])
        } else {
            XCTAssertEqual(names(walk), ["p/a.png", "p/z.png"])
            XCTAssertEqual(walk.problems, [.unreadableDirectory("p/locked", reason: "Permission denied")])
            XCTAssertEqual(walk.problems[0].description,
                           "p/locked: cannot read the folder (Permission denied); its images are left out")
        }
        // A named folder that cannot be listed.
        XCTAssertEqual(chmod(locked, 0o300), 0)
        let named = InputWalker().entries([locked])
        if !privileged { XCTAssertEqual(named.problems, [.unreadableDirectory(locked, reason: "Permission denied")]) }
        XCTAssertEqual(chmod(locked, 0o755), 0)
    }

    /// Fails for root too: folders nested deeper than PATH_MAX allows a path to reach.
    func testFolderBeyondPathMaxIsReported() throws {
        let tree = try TestTree(self)
        try tree.file("p/a.png")
        let component = String(repeating: "d", count: 200)
        // mkdirat through descriptors, since the full path is too long for mkdir.
        var fd = open(tree.path("p"), O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        for _ in 0..<24 {
            XCTAssertEqual(mkdirat(fd, component, 0o755), 0)
            let next = openat(fd, component, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
            XCTAssertGreaterThanOrEqual(fd, 0)
        }
        let image = openat(fd, "deep.png", O_WRONLY | O_CREAT, 0o644)
        XCTAssertGreaterThanOrEqual(image, 0)
        close(image)
        close(fd)
        let walk = InputWalker().entries([tree.path("p")])
        XCTAssertEqual(names(walk), [tree.path("p/a.png")])
        XCTAssertEqual(walk.problems.count, 1, "\(walk.problems)")
        XCTAssertTrue(walk.problems.first?.description.hasSuffix("File name too long)") ?? false, "\(walk.problems)")
        XCTAssertTrue(walk.problems.first?.path.hasPrefix(tree.path("p/ddd")) ?? false)
        // Clean up with descriptors too (removeItem cannot reach it by path).
        XCTAssertEqual(Self.removeTree(tree.path("p"), component), 0)
    }

    static func removeTree(_ path: String, _ component: String) -> Int32 {
        var fds: [Int32] = [open(path, O_RDONLY | O_DIRECTORY)]
        while case let next = openat(fds.last!, component, O_RDONLY | O_DIRECTORY), next >= 0 { fds.append(next) }
        unlinkat(fds.last!, "deep.png", 0)
        var status: Int32 = 0
        while fds.count > 1 {
            close(fds.removeLast())
            status |= unlinkat(fds.last!, component, AT_REMOVEDIR)
        }
        close(fds[0])
        return status
    }

    /// FIFOs and sockets are never opened while walking (a FIFO would block); they count as non-images.
    func testSpecialFilesAreSkipped() throws {
        let tree = try TestTree(self)
        try tree.file("p/a.png")
        XCTAssertEqual(mkfifo(tree.path("p/pipe.png"), 0o644), 0)
        let walk = InputWalker().entries([tree.path("p")])
        XCTAssertEqual(names(walk), [tree.path("p/a.png")])
        XCTAssertEqual(walk.skippedNonImages, 1)
    }

    /// A name that is not UTF-8 cannot be shown or stored as text: reported, not dropped silently.
    func testNonUTF8NameIsReported() throws {
        let tree = try TestTree(self)
        try tree.file("p/a.png")
        let bad: [CChar] = Array((tree.path("p") + "/").utf8CString.dropLast()) + [CChar(bitPattern: 0xFF), 0x2E, 0x70, 0]
        let fd = bad.withUnsafeBufferPointer { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o644) }
        guard fd >= 0 else { throw XCTSkip("this file system refuses non-UTF-8 names") }
        close(fd)
        let walk = InputWalker().entries([tree.path("p")])
        XCTAssertEqual(names(walk), [tree.path("p/a.png")])
        XCTAssertEqual(walk.problems, [.invalidName(directory: tree.path("p"), bytes: [0xFF, 0x2E, 0x70])])
    }

    /// Shares of a walk: disjoint, together the whole walk, each in walk order; keys relative to the argument, so a
    /// tree mounted elsewhere gives the same shares.
    func testShards() throws {
        let tree = try TestTree(self)
        for i in 0..<40 { try tree.file(String(format: "a/photos/%02d/img%d.png", i % 5, i)) }
        try tree.file("a/photos/notes.txt", Header.text)
        let all = InputWalker().entries([tree.path("a/photos")])
        XCTAssertEqual(all.entries.count, 40)
        var union: [InputEntry] = []
        for k in 0..<3 {
            let shard = try Shard(k: k, n: 3)
            let part = InputWalker(shard: shard).entries([tree.path("a/photos")])
            XCTAssertEqual(part.entries, all.entries.filter { shard.contains(key: $0.shardKey) })
            XCTAssertGreaterThan(part.entries.count, 5)
            union += part.entries
            // The same share of the same tree under another mount point.
            let moved = tree.inRoot { InputWalker(shard: shard).entries(["a/photos"]) }
            XCTAssertEqual(moved.entries.map(\.shardKey), part.entries.map(\.shardKey))
        }
        XCTAssertEqual(Set(union), Set(all.entries))
        XCTAssertEqual(union.count, all.entries.count)
        XCTAssertEqual(all.entries[0].shardKey, "00/img0.png")

        // URLs by the URL string, file arguments by their file name (buckets from Tools/reference/shard_fixtures.py:
        // the URL's is 2 of 3, IMG_0001.JPG's 5 of 7).
        let url = "https://example.com/cat.jpg"
        XCTAssertEqual(InputWalker(shard: try Shard(k: 2, n: 3)).entries([url]).entries.map(\.name), [url])
        XCTAssertEqual(InputWalker(shard: try Shard(k: 1, n: 3)).entries([url]).entries, [])
        let file = try tree.file("elsewhere/IMG_0001.JPG")
        XCTAssertEqual(InputWalker(shard: try Shard(k: 5, n: 7)).entries([file]).entries.map(\.shardKey), ["IMG_0001.JPG"])
        XCTAssertEqual(InputWalker(shard: try Shard(k: 4, n: 7)).entries([file]).entries, [])
    }
}
