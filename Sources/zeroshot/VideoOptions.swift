import ArgumentParser
import Foundation
import Video

/// How videos are sampled (classify, embed, index): `--every`, `--scenes [THRESHOLD]`, `--max-gap`, `--max-frames`.
///
/// `--scenes` takes an optional value, which ArgumentParser cannot express: `ZeroShotCommand.main` rewrites the
/// arguments first (`VideoOptions.rewritingBareScenes`), so that `--scenes` not followed by a number becomes
/// `--scenes=0.4`. `--scenes=T` always works.
struct VideoOptions: ParsableArguments {
    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Sample a video every S seconds (default \(number(VideoSampling.defaultEvery)); S > 0; once).",
        discussion: "For each time 0, S, 2S, ... (seconds from the start of the file, the origin of ffmpeg -ss) the "
            + "first frame at or after it is taken, each frame at most once.",
        valueName: "seconds"))
    var every: [Double] = []

    @Option(name: .long, parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Sample a video where the picture changes: the first frame, each frame whose scene score is above T "
        + "(0 to 1; default \(number(VideoSampling.defaultSceneThreshold)) when T is left out), and one per --max-gap "
        + "seconds without one (not with --every; once).",
        discussion: "The scene score is FFmpeg's select filter's scene measure. Write --scenes=T when the next "
            + "argument is a file whose name is a number.",
        valueName: "threshold"))
    var scenes: [Double] = []

    @Option(name: .customLong("max-gap"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "With --scenes: take a frame when none was taken for this many seconds (default "
        + "\(number(VideoSampling.defaultMaxGap)); > 0; once).",
        valueName: "seconds"))
    var maxGap: [Double] = []

    @Option(name: .customLong("max-frames"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Take at most the first N samples of each video (N >= 1; once; a warning names the video and where it stopped).",
        valueName: "N"))
    var maxFrames: [Int] = []

    /// Whether any sampling option was given (classify's csv then has a time column, whatever the inputs are).
    var anyGiven: Bool { !every.isEmpty || !scenes.isEmpty || !maxGap.isEmpty || !maxFrames.isEmpty }

    /// The names of the options given, in this order: --every, --scenes, --max-gap, --max-frames.
    var givenNames: [String] {
        [("--every", every.count), ("--scenes", scenes.count), ("--max-gap", maxGap.count),
         ("--max-frames", maxFrames.count)].filter { $0.1 > 0 }.map(\.0)
    }

    /// Checks the options (a usage error names the option).
    func check() throws { _ = try sampling() }

    /// The sampling these options ask for (`VideoSampling()`, one frame per second, when none is given).
    /// - Throws: `ValidationError` naming the option: a value given twice, out of range (--every and --max-gap
    ///   must be finite and > 0, --scenes from 0 to 1, --max-frames >= 1), --every with --scenes, or --max-gap
    ///   without --scenes.
    func sampling() throws -> VideoSampling {
        try checkGivenOnce("--every", every.count)
        try checkGivenOnce("--scenes", scenes.count)
        try checkGivenOnce("--max-gap", maxGap.count)
        try checkGivenOnce("--max-frames", maxFrames.count)
        if let s = every.first, !(s.isFinite && s > 0) {
            throw ValidationError("--every \(Self.shown(s)) is out of range: give a number of seconds greater than 0")
        }
        if let t = scenes.first, !(t >= 0 && t <= 1) {
            throw ValidationError("--scenes \(Self.shown(t)) is out of range: give a scene-score threshold from 0 to 1 "
                                  + "(for an input named so, write --scenes=T before it, or ./\(Self.shown(t)))")
        }
        if let g = maxGap.first, !(g.isFinite && g > 0) {
            throw ValidationError("--max-gap \(Self.shown(g)) is out of range: give a number of seconds greater than 0")
        }
        if let n = maxFrames.first { try checkRange("--max-frames", n, 1...Int.max) }
        if !every.isEmpty && !scenes.isEmpty {
            throw ValidationError("--every and --scenes are two ways of sampling a video; give one of them")
        }
        if !maxGap.isEmpty && scenes.isEmpty {
            throw ValidationError("--max-gap applies to --scenes sampling (--every takes a frame every S seconds "
                                  + "already); add --scenes or leave --max-gap out")
        }
        let mode: VideoSampling.Mode
        if let t = scenes.first {
            mode = .scenes(threshold: t, maxGap: maxGap.first ?? VideoSampling.defaultMaxGap)
        } else {
            mode = .every(seconds: every.first ?? VideoSampling.defaultEvery)
        }
        return VideoSampling(mode: mode, maxFrames: maxFrames.first)
    }

    /// A number as given back in a message: `2` rather than `2.0`.
    private static func shown(_ value: Double) -> String { number(value) }

    // MARK: - `--scenes` without a value

    /// `arguments` (without the program name) with each `--scenes` that is not followed by a number written as
    /// `--scenes=<default>`, so that the option's value is optional: `--scenes`, `--scenes 0.3` and `--scenes=0.3`
    /// all work. Only a `--scenes` in an option's place is rewritten: not the value of an option that takes the
    /// next argument whatever it is (`--label --scenes` is a label), not after `--`, and only for a subcommand
    /// that has the option (`command` tells which, from ArgumentParser's description of it).
    ///
    /// A following argument that looks like a number (`0.3`, `1.5`, `-1`) is kept as the value, so that one out
    /// of range is a usage error rather than an input file; an input named like a number follows `--scenes=T`.
    static func rewritingBareScenes(_ arguments: [String], root: ParsableCommand.Type) -> [String] {
        guard arguments.contains("--scenes"), let name = arguments.first,
              let subcommand = root.configuration.subcommands.first(where: {
                  ($0.configuration.commandName ?? $0._commandName) == name
              }),
              let options = CommandOptions(subcommand), options.hasScenes else { return arguments }
        var result = Array(arguments.prefix(1))
        var i = 1
        while i < arguments.count {
            let token = arguments[i]
            if token == "--" {
                result += arguments[i...]
                break
            }
            if token == "--scenes" {
                let next = i + 1 < arguments.count ? arguments[i + 1] : nil
                if let next, looksLikeNumber(next) {
                    result += [token, next]
                    i += 2
                } else {
                    result.append("--scenes=" + number(VideoSampling.defaultSceneThreshold))
                    i += 1
                }
                continue
            }
            result.append(token)
            if options.takesNextArgument(token), i + 1 < arguments.count {
                result.append(arguments[i + 1])
                i += 1
            }
            i += 1
        }
        return result
    }

    /// A decimal number as written on a command line (`0.4`, `.5`, `1`, `-2`, `1e-1`): not `nan`, `inf` or a hex
    /// float, which are more likely file names.
    static func looksLikeNumber(_ text: String) -> Bool {
        text.range(of: #"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"#, options: .regularExpression) != nil
    }

    /// What ArgumentParser says about a subcommand's options (its `_dumpHelp` description).
    private struct CommandOptions {
        private struct Dump: Decodable {
            struct Command: Decodable { let arguments: [Argument]? }
            struct Argument: Decodable {
                struct Name: Decodable { let kind: String; let name: String }
                let kind: String
                let parsingStrategy: String?
                let names: [Name]?
            }
            let command: Command
        }

        /// Spellings (`--label`, `-k`) of the options that take the next argument whatever it is.
        private var unconditional: Set<String> = []
        private(set) var hasScenes = false

        init?(_ command: ParsableCommand.Type) {
            guard let dump = try? JSONDecoder().decode(Dump.self, from: Data(command._dumpHelp().utf8)) else { return nil }
            for argument in dump.command.arguments ?? [] where argument.kind == "option" {
                let spellings = (argument.names ?? []).map { ($0.kind == "long" ? "--" : "-") + $0.name }
                if spellings.contains("--scenes") { hasScenes = true }
                if argument.parsingStrategy == "unconditional" { unconditional.formUnion(spellings) }
            }
        }

        func takesNextArgument(_ token: String) -> Bool { unconditional.contains(token) }
    }
}

/// `value` as a short decimal text: `1` for 1.0, `0.4` for 0.4.
private func number(_ value: Double) -> String {
    value.isFinite && value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
}
