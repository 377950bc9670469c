import Foundation
import XCTest
@testable import ImageIO

/// The resize and the padding of a preprocessor_config.json cannot make pixel_values larger than
/// `ImageProcessor.maxPixels` (Pillow's MAX_IMAGE_PIXELS): refused from the sizes, before anything is allocated.
final class PreprocessLimitTests: XCTestCase {
    private func processor(_ json: String) throws -> ImageProcessor {
        ImageProcessor(config: try JSONDecoder().decode(ImageProcessorConfig.self, from: Data(json.utf8)))
    }

    private func image(width: Int, height: Int) -> RGBImage {
        RGBImage(width: width, height: height, pixels: [UInt8](repeating: 128, count: width * height * 3))
    }

    func testShortestEdgeResizeOfANarrowImageIsRefused() throws {
        // 1 x 2000 with shortest_edge 16384 and no crop: 32768000 x 16384 pixel_values.
        let p = try processor(#"{"do_resize": true, "size": {"shortest_edge": 16384}, "do_center_crop": false}"#)
        XCTAssertThrowsError(try p.preprocess(image(width: 1, height: 2000))) { error in
            XCTAssertEqual(error as? ImagePreprocessingError,
                           .tooLarge(height: 32_768_000, width: 16384, limit: 178_956_970))
            XCTAssertEqual(error.localizedDescription, "preprocessor_config.json makes the image 32768000x16384 "
                           + "(height x width) pixels, over the limit of 178956970 pixels")
        }
        XCTAssertEqual(p.pixelValues(image(width: 1, height: 2000)), [])
        // The same processor on a square image: 16384 x 16384 (268 M pixels) is over the limit too.
        XCTAssertThrowsError(try p.outputSize(width: 50, height: 50))
        // With a center crop only the crop's window of the resized grid is computed: no limit on the grid.
        let cropped = try processor(#"{"do_resize": true, "size": {"shortest_edge": 16384}, "do_center_crop": true, "crop_size": 224}"#)
        XCTAssertEqual(try cropped.outputSize(width: 1, height: 2000).height, 224)
    }

    func testPaddingOverTheLimitIsRefused() throws {
        let p = try processor(#"{"do_resize": false, "do_center_crop": false, "do_pad": true, "pad_size": {"height": 16384, "width": 16384}}"#)
        XCTAssertThrowsError(try p.outputSize(width: 8, height: 8)) { error in
            XCTAssertEqual(error as? ImagePreprocessingError, .tooLarge(height: 16384, width: 16384, limit: 178_956_970))
        }
        let fits = try processor(#"{"do_resize": false, "do_center_crop": false, "do_pad": true, "pad_size": {"height": 64, "width": 48}}"#)
        XCTAssertEqual(try fits.outputSize(width: 8, height: 8).height, 64)
    }

    func testTheLimitIsInclusive() throws {
        XCTAssertNoThrow(try ImageProcessor.checkPixels((height: 178_956_970, width: 1)))
        XCTAssertThrowsError(try ImageProcessor.checkPixels((height: 178_956_971, width: 1)))
        XCTAssertThrowsError(try ImageProcessor.checkPixels((height: .max, width: 2)))
    }
}
