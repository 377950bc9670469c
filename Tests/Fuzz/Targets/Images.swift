#if DEBUG
import Foundation
@testable import ImageIO

/// What the image harnesses share: decode as the classifier does, check the decoded image, then preprocess it with
/// a CLIP preprocessor config when it is small enough to keep executions in milliseconds.
enum ImageFuzzing {
    /// Largest image decoded (width x height). Larger declared sizes are rejected before pixel memory is allocated,
    /// which is the path `--max-pixels` takes; decoding tens of megapixels per execution would only slow the fuzzer.
    static let maxPixels = 1 << 22
    /// Largest image also preprocessed (resize, crop, normalise).
    static let maxPreprocessedPixels = 1 << 16

    /// `CLIPImageProcessor`'s steps (shortest-edge resize with BICUBIC, center crop, rescale, normalise with OpenAI's
    /// mean and std) at 32 pixels instead of 224: the same code, 49 times fewer output pixels per execution.
    static let clip = ImageProcessor(config: ImageProcessorConfig(size: .shortestEdge(32), cropHeight: 32, cropWidth: 32))

    static func decodeAndPreprocess(_ data: Data) {
        guard let image = try? ImageDecoder.decode(data, maxPixels: maxPixels) else { return }
        check(image)
        guard image.width * image.height <= maxPreprocessedPixels else { return }
        preprocess(image, with: clip)
    }

    /// The decoded image's invariants: a positive size within the limit and width x height x 3 bytes.
    static func check(_ image: RGBImage) {
        precondition(image.width > 0 && image.height > 0, "decoded image \(image.width)x\(image.height)")
        precondition(image.width * image.height <= maxPixels,
                     "decoded image \(image.width)x\(image.height) is over the \(maxPixels)-pixel limit")
        precondition(image.pixels.count == image.width * image.height * 3,
                     "decoded image \(image.width)x\(image.height) has \(image.pixels.count) bytes")
    }

    /// pixel_values of `image`: `3 x H x W` floats, of the size the config fixes (if it does); all finite when
    /// `finite` (a config with finite mean, std and rescale factor).
    static func preprocess(_ image: RGBImage, with processor: ImageProcessor, finite: Bool = true) {
        guard let (values, h, w) = try? processor.preprocess(image) else { return }
        precondition(values.count == 3 * h * w, "pixel_values hold \(values.count) floats for 3 x \(h) x \(w)")
        if let fixed = processor.fixedOutputSize {
            precondition(fixed.height == h && fixed.width == w,
                         "pixel_values are \(h)x\(w), the config fixes \(fixed.height)x\(fixed.width)")
        }
        if finite { precondition(values.allSatisfy(\.isFinite), "pixel_values are not finite") }
    }

    static func target(_ name: String, parses: String, seeds: [String]) -> FuzzTarget {
        FuzzTarget(name, parses: parses, seeds: seeds, dictionary: "\(name).dict", maxLength: 262_144) { data in
            decodeAndPreprocess(data)
        }
    }
}

extension FuzzTargets {
    static let images: [FuzzTarget] = [
        ImageFuzzing.target("jpeg", parses: "JPEG files (libjpeg-turbo, EXIF and XMP orientation, CMYK), then preprocessing",
                            seeds: ["Tests/Fixtures/**/*.jpg", "Tests/Fixtures/**/*.jpeg"]),
        ImageFuzzing.target("png", parses: "PNG files (libpng, eXIf and raw-profile orientation, tRNS), then preprocessing",
                            seeds: ["Tests/Fixtures/**/*.png"]),
        ImageFuzzing.target("webp", parses: "WebP files (libwebp, RIFF chunks, EXIF and XMP orientation), then preprocessing",
                            seeds: ["Tests/Fixtures/**/*.webp"]),
        ImageFuzzing.target("gif", parses: "GIF files (giflib, first frame composition, transparency), then preprocessing",
                            seeds: ["Tests/Fixtures/**/*.gif"]),
        ImageFuzzing.target("bmp", parses: "BMP files (palettes, bit fields, RLE4 and RLE8), then preprocessing",
                            seeds: ["Tests/Fixtures/**/*.bmp"]),
        FuzzTarget("exif", parses: "EXIF (TIFF IFD), XMP and PNG raw-profile orientation, applied to an image",
                   seeds: ["Tests/Fuzz/Seeds/exif/*"], dictionary: "exif.dict", maxLength: 65_536) { data in
            // Three files: the EXIF block, the XMP packet, the "Raw profile type exif" text; an empty one is absent.
            let parts = data.fuzzFiles(3).map { $0.isEmpty ? nil : [UInt8]($0) }
            if let block = parts[0] { _ = TIFFDirectory.firstIFDTag(EXIFOrientation.orientationTag, in: block) }
            if let text = parts[2] { _ = EXIFOrientation.decodeRawProfile(text) }
            if let xmp = parts[1] { _ = EXIFOrientation.xmpOrientation(xmp) }
            let orientation = EXIFOrientation.orientation(exif: parts[0], xmp: parts[1], rawProfileText: parts[2])
            precondition((1...8).contains(orientation), "orientation \(orientation)")
            let turned = ExifFuzzing.image.transposed(forOrientation: orientation)
            let swaps = orientation >= 5
            precondition(turned.width == (swaps ? 3 : 2) && turned.height == (swaps ? 2 : 3),
                         "orientation \(orientation) gave \(turned.width)x\(turned.height)")
            precondition(turned.pixels.count == 18 && turned.pixels.sorted() == ExifFuzzing.image.pixels.sorted(),
                         "orientation \(orientation) changed the pixels")
        },
    ]
}

enum ExifFuzzing {
    /// 2 x 3 pixels, every byte different, to see each transposition move pixels rather than change them.
    static let image = RGBImage(width: 2, height: 3, pixels: (0..<18).map { UInt8($0 * 7) })
}
#endif
