#if DEBUG
import Foundation
import ImageIO
@testable import Video

extension FuzzTargets {
    static let video: [FuzzTarget] = [
        FuzzTarget("video",
                   parses: "video containers (MP4/MOV, Matroska/WebM, AVI, MPEG-TS) decoded from memory, frames to RGB",
                   seeds: ["Tests/Fuzz/Seeds/video/*"], dictionary: "video.dict", maxLength: 65_536) { data in
            // As a downloaded video is read: from memory (the custom AVIOContext), the container sniffed from its
            // first bytes, one frame a second (`--every 1`), at most 3, each converted to RGB. FFmpeg logs nothing (FF.quiet).
            // 4 megapixels at most, so that an execution stays in milliseconds (the checks are the same at any limit).
            let maxPixels = 1 << 22
            guard let reader = try? VideoReader(data: data, name: "fuzz.mp4", maxPixels: maxPixels) else { return }
            precondition(reader.info.width * reader.info.height <= maxPixels)
            // Inputs of odd length are sampled by scene changes (every frame decoded and scored) instead.
            let mode: VideoSampling.Mode = data.count % 2 == 0
                ? .every(seconds: 1)
                : .scenes(threshold: VideoSampling.defaultSceneThreshold, maxGap: VideoSampling.defaultMaxGap)
            let sampling = VideoSampling(mode: mode, maxFrames: 3)
            var previous: Double? = nil
            _ = try? reader.forEachFrame(sampling) { frame in
                precondition(frame.index < 3)
                if let previous { precondition(frame.time >= previous || frame.time.isNaN) }
                previous = frame.time
                if let image = try? frame.rgbImage() {
                    precondition(image.width > 0 && image.height > 0 && image.width * image.height <= maxPixels)
                    precondition(image.pixels.count == image.width * image.height * 3)
                }
            }
        },
    ]
}
#endif
