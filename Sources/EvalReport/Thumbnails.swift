// Thumbnails of example images, read again from their location.
import Foundation
import ImageIO

enum Thumbnails {
    enum Outcome {
        /// PNG bytes, the thumbnail's size, and the source as a `file:` URL (absolute).
        case success(Data, width: Int, height: Int, source: URL)
        /// Why the image could not be shown (it names the file).
        case failure(String)
    }

    /// The image at `location` (a path, absolute or relative to the working directory, or a `file:` URL), decoded
    /// by ImageIO (EXIF orientation applied, as for classification), shrunk to fit a `size`×`size` square with its
    /// aspect kept (bicubic, as Pillow's `resize`; never enlarged), as PNG written by cairo.
    static func png(of location: String, fitting size: Int) -> Outcome {
        let url: URL
        if location.hasPrefix("file://"), let fileURL = URL(string: location), fileURL.isFileURL {
            url = fileURL
        } else if let scheme = location.range(of: "://"), !location[..<scheme.lowerBound].contains("/") {
            return .failure("\(location): not a local file (not downloaded again for a thumbnail)")
        } else {
            url = URL(fileURLWithPath: location)
        }
        do {
            let image = try ImageDecoder.decode(contentsOf: url)
            let scale = min(1, Double(size) / Double(max(image.width, image.height)))
            let width = max(1, Int((Double(image.width) * scale).rounded()))
            let height = max(1, Int((Double(image.height) * scale).rounded()))
            let small = scale < 1 ? image.resized(width: width, height: height, filter: .bicubic) : image
            return .success(try pngData(width: small.width, height: small.height, rgb: small.pixels),
                            width: small.width, height: small.height, source: url.standardizedFileURL)
        } catch {
            return .failure((error as? LocalizedError)?.errorDescription ?? "\(location): \(error)")
        }
    }
}
