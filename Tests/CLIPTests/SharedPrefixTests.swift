import XCTest
@testable import CLIP
@testable import Layers

/// Rows that share leading tokens reuse their group's prefix keys and values; results must equal running each row
/// alone.
final class SharedPrefixTests: XCTestCase {
    func testPrefixGroups() {
        func groups(_ rows: [[Int32]], maxGroup: Int = 512) -> [[Int]] {
            CLIPTextTransformer.prefixGroups(rows, maxGroup: maxGroup).map { [$0.prefix] + $0.rows }
        }
        XCTAssertEqual(groups([[1, 2, 3, 4]]), [[0, 0]])
        XCTAssertEqual(groups([[1, 2, 3, 4, 9], [1, 2, 3, 5, 9]]), [[3, 0, 1]])
        XCTAssertEqual(groups([[1, 2, 3], [1, 2, 3, 4]]), [[2, 0, 1]], "each row keeps a token")
        XCTAssertEqual(groups([[1, 2, 3], [1, 2, 3]]), [[2, 0, 1]])
        XCTAssertEqual(groups([[5, 6], [7, 8]]), [[0, 0], [0, 1]], "nothing shared")
        // Two templates' rows interleaved (class-major): sorted into one group per template, each with its own
        // prefix, rather than one group sharing only the first token.
        let rows: [[Int32]] = [[1, 2, 3, 4, 50, 9], [1, 2, 7, 8, 50, 9], [1, 2, 3, 4, 60, 9], [1, 2, 7, 8, 60, 9],
                               [1, 2, 3, 4, 70, 9], [1, 2, 7, 8, 70, 9]]
        XCTAssertEqual(groups(rows), [[4, 0, 2, 4], [4, 1, 3, 5]])
        // Every row is in exactly one group, also with groups cut at maxGroup rows.
        let many = (0..<50).map { [1, 2, Int32($0 % 7), Int32($0), 9] as [Int32] }
        for limit in [1, 3, 512] {
            let g = CLIPTextTransformer.prefixGroups(many, maxGroup: limit)
            XCTAssertEqual(g.flatMap(\.rows).sorted(), Array(0..<50))
            XCTAssertTrue(g.allSatisfy { $0.rows.count <= limit })
            for group in g where group.rows.count > 1 {
                let first = many[group.rows[0]]
                XCTAssertTrue(group.rows.allSatisfy { many[$0].prefix(group.prefix) == first.prefix(group.prefix) })
                XCTAssertTrue(group.rows.allSatisfy { many[$0].count > group.prefix })
            }
        }
    }

    /// The rows of one pass, against each row run alone.
    private func assertRowsAlone(_ rows: [[Int32]], _ model: CLIPModel, _ name: String,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let batch = try model.textEmbeddings(inputIds: rows)
        var worst: Float = 0
        for (i, row) in rows.enumerated() {
            let alone = try model.textEmbeddings(inputIds: [row])[0]
            for (a, b) in zip(batch[i], alone) { worst = max(worst, abs(a - b)) }
        }
        XCTAssertLessThan(worst, 1e-5, name, file: file, line: line)
    }

    func testBatchWithSharedPrefixEqualsRowsAlone() throws {
        for name in ["tiny-p8-quickgelu", "tiny-legacy-eos", "tiny-p16-gelu"] {
            let model = try CLIPModel(directory: modelsDirectory.appendingPathComponent(name))
            let eos = Int32(model.config.textConfig.eosTokenId == 2 ? model.config.textConfig.vocabSize - 1
                                                                     : model.config.textConfig.eosTokenId)
            let bos: Int32 = Int32(model.config.textConfig.vocabSize - 2)
            let rows: [[Int32]] = [
                [bos, 300, 12, 40, 77, 5, eos],
                [bos, 300, 12, 40, 77, 9, 100, eos],
                [bos, 300, 12, 40, 77, 6, eos],
                [bos, 300, 12, 40, 77, 6, eos],         // identical rows
                [bos, 300, 12, 40, 77, 8],              // no end token: pools inside or at its own rows
                [bos, 300, 12, 40, 77],                 // shorter than the others' prefix
            ]
            try assertRowsAlone(rows, model, name)
        }
    }

    /// Several prefix groups in one pass (an ensemble's prompts, class-major), rows that share nothing with any
    /// other, and a row that is another's prefix.
    func testSeveralPrefixGroupsEqualRowsAlone() throws {
        for name in ["tiny-p8-quickgelu", "tiny-legacy-eos", "tiny-p16-gelu"] {
            let model = try CLIPModel(directory: modelsDirectory.appendingPathComponent(name))
            let eos = Int32(model.config.textConfig.eosTokenId == 2 ? model.config.textConfig.vocabSize - 1
                                                                     : model.config.textConfig.eosTokenId)
            let bos: Int32 = Int32(model.config.textConfig.vocabSize - 2)
            let templates: [[Int32]] = [[bos, 300, 12, 40], [bos, 300, 12, 41, 42], [bos, 7], [bos, 300, 90, 91, 92, 93]]
            var rows: [[Int32]] = []
            for label in [[5], [9, 100], [6], [8, 8, 8]] as [[Int32]] {
                for template in templates { rows.append(template + label + [eos]) }
            }
            rows += [[11, 12, 13, eos], [14, eos], [eos], [bos, 300, 12, 40]]
            try assertRowsAlone(rows, model, name)
            // No two rows share a first token.
            try assertRowsAlone([[21, 22, eos], [23, 24, 25, eos], [26, eos]], model, name)
        }
    }
}
