#if DEBUG
import Foundation
import ImageIO

extension FuzzTargets {
    static let images: [FuzzTarget] = [
        FuzzTarget("jpeg", parses: "JPEG files (libjpeg-turbo, EXIF and XMP orientation, CMYK)",
                   seeds: ["Tests/Fixtures/**/*.jpg", "Tests/Fixtures/**/*.jpeg"], dictionary: "jpeg.dict",
                   maxLength: 262_144) { data in
            _ = try? ImageDecoder.decode(data)
        },
    ]
}
#endif
