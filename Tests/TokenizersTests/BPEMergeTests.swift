import Foundation
import XCTest
@testable import Tokenizers

/// The heap-based BPE merge gives the same ids as the direct rule (repeatedly merge the lowest-ranked adjacent
/// pair, leftmost on ties), on random words short and long, with the real CLIP vocabulary and merges.
final class BPEMergeTests: XCTestCase {
    /// The direct O(n^2) rule, kept here as the reference.
    static func referenceMerge(_ model: BPEModel, _ word: [Unicode.Scalar]) -> [Int32] {
        var symbols = model.initialSymbols(word)
        while symbols.count > 1 {
            var best: (rank: Int32, index: Int, id: Int32)? = nil
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(bitPattern: symbols[i])) << 32 | UInt64(UInt32(bitPattern: symbols[i + 1]))
                if let m = model.merges[key], best.map({ m.rank < $0.rank }) ?? true {
                    best = (m.rank, i, m.id)
                }
            }
            guard let b = best else { break }
            symbols[b.index] = b.id
            symbols.remove(at: b.index + 1)
        }
        return symbols
    }

    /// SplitMix64: deterministic across platforms.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func testHeapMergeEqualsReferenceOnRandomWords() throws {
        let tok = try CLIPTokenizer(directory: fixturesDirectory.appendingPathComponent("tokenizers/clip-vocab"))
        let model = tok.pipeline.model
        XCTAssertGreaterThan(model.merges.count, 40_000)
        // Pieces: vocabulary entries without the end-of-word marker (realistic merge chains), single byte-level
        // characters, and a few runs that make overlapping identical pairs.
        let entries = model.vocab.keys.sorted().map { $0.hasSuffix("</w>") ? String($0.dropLast(4)) : $0 }
            .filter { !$0.isEmpty && !$0.hasPrefix("<|") }
        let singles = entries.filter { $0.unicodeScalars.count == 1 }
        XCTAssertGreaterThan(singles.count, 200)
        let runs = ["aaaa", "eeeeee", "lll", "ssss", "oooooooo", "!!!!", "zzzzz"]
        var rng = Generator(state: 20_241_129)
        var checked = 0, longest = 0, totalMerges = 0
        for n in 0..<400 {
            var word = ""
            let pieces = n < 380 ? 1 + rng.below(12) : 200 + rng.below(400)
            for _ in 0..<pieces {
                switch rng.below(10) {
                case 0...5: word += entries[rng.below(entries.count)]
                case 6...8: word += singles[rng.below(singles.count)]
                default: word += runs[rng.below(runs.count)]
                }
            }
            let scalars = Array(word.unicodeScalars)
            let expected = Self.referenceMerge(model, scalars)
            let got = model.merge(scalars)
            XCTAssertEqual(got, expected, "word #\(n): \(word.prefix(80))")
            checked += 1
            longest = max(longest, scalars.count)
            totalMerges += scalars.count - got.count
        }
        XCTAssertEqual(checked, 400)
        XCTAssertGreaterThan(longest, 1000)
        XCTAssertGreaterThan(totalMerges, 10_000)
    }

    func testEdgeCases() throws {
        let tok = try CLIPTokenizer(directory: fixturesDirectory.appendingPathComponent("tokenizers/clip-vocab"))
        let model = tok.pipeline.model
        for word in ["", "a", "ab", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "hello",
                     "photograph", "ÃĥÂł", "abababababababababababababababab"] {
            let scalars = Array(word.unicodeScalars)
            XCTAssertEqual(model.merge(scalars), Self.referenceMerge(model, scalars), word)
        }
        // A 50,000-letter word: the merge completes and agrees with the reference on its shape (every symbol
        // a vocabulary id, concatenating back to the word).
        let long = Array(String(repeating: "abracadabra", count: 4_546).unicodeScalars)
        let ids = model.merge(long)
        let inverse = Dictionary(model.vocab.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        let text = ids.map { inverse[$0] ?? "?" }.joined()
        XCTAssertEqual(text, String(String.UnicodeScalarView(long)) + "</w>")
        XCTAssertLessThan(ids.count, long.count / 2)
    }

    /// `tokenizers` (0.23): BPE(vocab, merges=[("a","b"), ("b","c"), ("a","b")]) encodes "abc" as ["a", "bc"]:
    /// a duplicated pair keeps its last rank.
    func testDuplicatedMergeTakesItsLastRank() throws {
        let vocab: [String: Int32] = ["a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5]
        let scalars = Array("abc".unicodeScalars)
        let dup = try BPEModel(vocab: vocab, merges: [("a", "b"), ("b", "c"), ("a", "b")], unknownToken: nil,
                               endOfWordSuffix: "", source: "test")
        XCTAssertEqual(dup.merge(scalars), [0, 4])
        let plain = try BPEModel(vocab: vocab, merges: [("a", "b"), ("b", "c")], unknownToken: nil,
                                 endOfWordSuffix: "", source: "test")
        XCTAssertEqual(plain.merge(scalars), [3, 2])
    }
}
