import Foundation

/// Times of frames as output shows them.
public enum VideoTime {
    /// `seconds` with exactly 3 decimals, truncated (not rounded) to the millisecond, so that `ffmpeg -ss TEXT`
    /// selects the very frame the time belongs to ("12.033" for 12.0333...; "0.000" for 0). A tolerance of 1e-9 s
    /// absorbs binary rounding (1.001 stays "1.001"). Any finite time is written: from 2^52 s on a `Double` holds
    /// whole seconds only, so times past 9e15 s (a damaged container's or photo index's) are written in full with
    /// ".000" instead of through milliseconds in an `Int64`, which they would overflow.
    public static func text(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "0.000" }
        let ms = (seconds * 1000 + 1e-6).rounded(.down)
        guard abs(ms) < 9e18 else { return String(format: "%.3f", seconds) }
        let negative = ms < 0
        let value = Int64(abs(ms))
        return (negative ? "-" : "") + "\(value / 1000)." + String(format: "%03lld", value % 1000)
    }
}
