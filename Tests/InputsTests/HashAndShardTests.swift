import Foundation
import XCTest
@testable import Inputs

/// SHA-256 and `--shard` against Python's hashlib (Tools/reference/shard_fixtures.py).
final class HashAndShardTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable {
            let key: String
            let sha256: String
            let buckets: [String: Int]
        }
        let cases: [Case]
    }

    func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: fixturesDirectory.appendingPathComponent("inputs/shards.json")))
    }

    func testSHA256MatchesHashlib() throws {
        // FIPS 180-2 examples.
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data(repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(SHA256.hash(Data()).count, 32)
        let cases = try golden().cases
        XCTAssertEqual(cases.count, 72)
        for c in cases { XCTAssertEqual(SHA256.hex(Array(c.key.utf8)), c.sha256, c.key) }
    }

    func testShardBucketsMatchThePythonRule() throws {
        for c in try golden().cases {
            for (n, k) in c.buckets {
                let n = try XCTUnwrap(Int(n))
                XCTAssertEqual(Shard.bucket(key: c.key, n: n), k, "\(c.key) % \(n)")
                XCTAssertTrue(try Shard(k: k, n: n).contains(key: c.key))
                if n > 1 { XCTAssertFalse(try Shard(k: (k + 1) % n, n: n).contains(key: c.key)) }
            }
        }
    }

    /// 64 keys over 3 shares: each key in exactly one, and no share empty.
    func testSharesPartitionTheKeys() throws {
        let keys = try golden().cases.map(\.key)
        let shards = try (0..<3).map { try Shard(k: $0, n: 3) }
        var sizes = [0, 0, 0]
        for key in keys {
            let owners = shards.filter { $0.contains(key: key) }
            XCTAssertEqual(owners.count, 1, key)
            sizes[owners[0].k] += 1
        }
        XCTAssertTrue(sizes.allSatisfy { $0 > 10 }, "\(sizes)")
    }

    func testParsing() throws {
        XCTAssertEqual(try Shard(parsing: "0/4"), try Shard(k: 0, n: 4))
        XCTAssertEqual(try Shard(parsing: "3/4").description, "3/4")
        XCTAssertEqual(try Shard(parsing: "0/1"), try Shard(k: 0, n: 1))
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/2/3", "", "/4"] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad) { error in
                XCTAssertTrue("\(error)".hasPrefix("invalid shard '\(bad)': "), "\(error)")
            }
        }
        XCTAssertThrowsError(try Shard(k: 2, n: 2))
    }
}
