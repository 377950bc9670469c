#if DEBUG
/// Every harness, by name. Each area adds its own list in its own file.
public enum FuzzTargets {
    public static let all: [FuzzTarget] = images + model + tokenizers + text + server + index + video

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// `scripts/fuzz --list`: one harness a line, its name, then what it parses.
    public static var listing: String {
        let width = all.map(\.name.count).max() ?? 0
        return all.map { $0.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.parses + "\n" }.joined()
    }

    /// What scripts/fuzz needs to run `target`: `seed\tPATTERN` lines, `dict\tFILE`, `max_len\tN`.
    public static func settings(_ target: FuzzTarget) -> String {
        var lines = target.seeds.map { "seed\t\($0)" }
        if let dictionary = target.dictionary { lines.append("dict\t\(dictionary)") }
        lines.append("max_len\t\(target.maxLength)")
        return lines.map { $0 + "\n" }.joined()
    }
}
#endif
