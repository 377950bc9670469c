import XCTest
@testable import CLIP
@testable import Layers

/// Rows that share leading tokens reuse the prefix's keys and values; results must equal running each row alone.
final class SharedPrefixTests: XCTestCase {
    func testSharedPrefixLength() {
        XCTAssertEqual(CLIPTextTransformer.sharedPrefixLength([[1, 2, 3, 4]]), 0)
        XCTAssertEqual(CLIPTextTransformer.sharedPrefixLength([[1, 2, 3, 4, 9], [1, 2, 3, 5, 9]]), 3)
        XCTAssertEqual(CLIPTextTransformer.sharedPrefixLength([[1, 2, 3], [1, 2, 3, 4]]), 2, "each row keeps a token")
        XCTAssertEqual(CLIPTextTransformer.sharedPrefixLength([[1, 2, 3], [1, 7, 3]]), 0, "one shared token does not pay")
        XCTAssertEqual(CLIPTextTransformer.sharedPrefixLength([[1, 2, 3], [1, 2, 3]]), 2)
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
            let batch = try model.textEmbeddings(inputIds: rows)
            var worst: Float = 0
            for (i, row) in rows.enumerated() {
                let alone = try model.textEmbeddings(inputIds: [row])[0]
                for (a, b) in zip(batch[i], alone) { worst = max(worst, abs(a - b)) }
            }
            XCTAssertLessThan(worst, 1e-5, name)
        }
    }
}
