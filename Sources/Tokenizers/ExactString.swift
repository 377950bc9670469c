/// A string compared and hashed by its UTF-8 bytes, as Rust and Python compare strings. Swift's `String` equality
/// is canonical equivalence (`"é" == "e\u{301}"`, `"Å" == "\u{212B}"`), which would merge distinct vocabulary
/// entries and find tokens the reference implementations do not.
public struct ExactString: Hashable, Sendable, CustomStringConvertible {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (a: ExactString, b: ExactString) -> Bool {
        a.string.utf8.elementsEqual(b.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    public var description: String { string }
}
