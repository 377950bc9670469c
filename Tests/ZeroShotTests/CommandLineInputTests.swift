import Foundation
import XCTest
import ZeroShot

/// The command line on inputs a new user tries: labels the pipeline accepts, dashes, negative numbers, output that
/// cannot be written, mistyped paths, missing files.
extension CommandLineTests {
    enum Output { case pipe, devFull, closedPipe }

    /// Runs the command with standard output to a pipe, to /dev/full, or to a pipe nobody reads.
    func run(_ arguments: [String], output: Output, directory: URL? = nil,
             environment: [String: String] = [:]) throws -> (Run, Process.TerminationReason) {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        env["ZEROSHOT_CACHE"] = Self.cacheRoot.path
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe()
        switch output {
        case .pipe, .closedPipe: process.standardOutput = out
        case .devFull: process.standardOutput = try XCTUnwrap(FileHandle(forWritingAtPath: "/dev/full"))
        }
        process.standardError = err
        if output == .closedPipe { try out.fileHandleForReading.close() }
        try process.run()
        if output == .closedPipe { try? out.fileHandleForWriting.close() }
        let stdoutData = output == .pipe ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (Run(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                    stderr: String(decoding: stderrData, as: UTF8.self)), process.terminationReason)
    }

    var image: String { fixtureImage("chelsea.jpg").path }

    func testLabelsThePipelineAcceptsMatchTransformers() throws {
        let golden = try LabelParityTests.golden()
        let modelName = try fixtureModelDirectory().lastPathComponent
        let c = try XCTUnwrap(golden.cases.first { $0.model == modelName && $0.labels.contains("\t") })
        XCTAssertEqual(c.image, "chelsea.jpg")
        let r = try run(["classify", "--model", model, "--template", c.template, "--format", "json", image]
                        + c.labels.flatMap { ["--label", $0] })
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let predictions = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.compactMap { $0["label"] as? String }, c.predictions.map(\.label))
        for (p, g) in zip(predictions, c.predictions) {
            XCTAssertEqual(try XCTUnwrap(p["score"] as? Double), try XCTUnwrap(g.score), accuracy: 1e-5)
        }
        // One warning per empty or whitespace-only label (#1-#4), none for the zero-width space (#5).
        let warnings = r.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: candidate label #") }
        XCTAssertEqual(warnings.count, 4, r.stderr)
        XCTAssertTrue(warnings.allSatisfy { $0.contains("scored as the hypothesis template alone") }, r.stderr)
        XCTAssertFalse(r.stderr.contains("#5"), r.stderr)
    }

    /// --labels adds up; a second --template or --top-k is an error instead of replacing the first.
    func testRepeatedOptionsAddUpOrAreRefused() throws {
        let r = try run(["classify", "--model", model, "--labels", "cat,dog", "--label", "fish", "--labels", "owl",
                         "--format", "json", image])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let predictions = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]])
        XCTAssertEqual(Set(predictions.compactMap { $0["label"] as? String }), ["cat", "dog", "owl", "fish"])
        for twice in [["--template", "a {}", "--template", "b {}"], ["--top-k", "1", "--top-k", "2"]] {
            let refused = try run(["classify", "--model", model, "--labels", "cat,dog"] + twice + [image])
            XCTAssertEqual(refused.status, 64, refused.stderr)
            XCTAssertTrue(refused.stderr.contains("\(twice[0]) is given 2 times; give it once"), refused.stderr)
        }
    }

    /// An unknown ZEROSHOT_KERNELS_ISA is named in a warning; a known one in any case is taken.
    func testKernelPathFromTheEnvironment() throws {
        let (bogus, _) = try run(["classify", "--model", model, "--labels", "cat,dog", image], output: .pipe,
                                 environment: ["ZEROSHOT_KERNELS_ISA": "sse9"])
        XCTAssertEqual(bogus.status, 0, bogus.stderr)
        XCTAssertTrue(bogus.stderr.contains("warning: ZEROSHOT_KERNELS_ISA=sse9 is not avx512, avx2 or portable; ignored"),
                      bogus.stderr)
        let (upper, _) = try run(["bench", "--model", model, "--iterations", "1", "--format", "json"], output: .pipe,
                                 environment: ["ZEROSHOT_KERNELS_ISA": "PORTABLE"])
        XCTAssertEqual(upper.status, 0, upper.stderr)
        XCTAssertFalse(upper.stderr.contains("ZEROSHOT_KERNELS_ISA"), upper.stderr)
        XCTAssertTrue(upper.stdout.contains("\"kernels\": \"portable\""), upper.stdout)
    }

    func testLabelListSeparatorsAndTrailingComma() throws {
        let r = try run(["classify", "--model", model, "--labels", "猫，狗、鳥, fish", "--format", "json", image])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let labels = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]]).compactMap { $0["label"] as? String }
        XCTAssertEqual(Set(labels), ["猫", "狗", "鳥", "fish"])

        for (labels, words) in [("cat, dog,", "trailing comma"), ("猫，狗，", "trailing comma"), (",cat", "leading comma"),
                                ("cat,,dog", "two commas in a row"), (" ", "no labels")] {
            for command in [["classify", image], ["bench"]] {
                let r = try run([command[0], "--model", model, "--labels", labels] + command.dropFirst())
                XCTAssertEqual(r.status, 64, "\(labels): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("error: --labels \"\(labels)\": ") && r.stderr.contains(words), r.stderr)
            }
        }
    }

    func testLabelsAndTextsStartingWithADash() throws {
        let r = try run(["classify", "--model", model, "--label", "-negative", "--label", "--positive", "--format", "json", image])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let labels = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]]).compactMap { $0["label"] as? String }
        XCTAssertEqual(Set(labels), ["-negative", "--positive"])
        let list = try run(["classify", "--model", model, "--labels", "-a,b", "--template", "-{}-", image])
        XCTAssertEqual(list.status, 0, list.stderr)
        let embed = try run(["embed", "--model", model, "--text", "-x"])
        XCTAssertEqual(embed.status, 0, embed.stderr)
        XCTAssertTrue(embed.stdout.contains("\"input\": \"-x\""), embed.stdout)
        let tokenize = try run(["tokenize", "--model", model, "--", "-x"])
        XCTAssertEqual(tokenize.status, 0, tokenize.stderr)

        // An unknown option is reported as such, before what its absence leaves missing.
        for arguments in [["classify", "-l", "cat", image], ["classify", "--lables", "cat", image], ["embed", "-t", "x"]] {
            let r = try run(arguments)
            XCTAssertEqual(r.status, 64, "\(arguments): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: Unknown option '\(arguments[1])'"), "\(arguments): \(r.stderr)")
        }
    }

    func testEveryNumericOptionRejectsNegativeAndZeroAsOutOfRange() throws {
        let cases: [([String], String)] = [
            (["classify", "--labels", "a,b", image], "--threads"), (["classify", "--labels", "a,b", image], "--top-k"),
            (["classify", "--labels", "a,b", image], "--max-pixels"), (["embed", "--text", "a"], "--threads"),
            (["embed", "--text", "a"], "--max-pixels"), (["bench"], "--batch"), (["bench"], "--iterations"),
            (["bench"], "--threads"), (["bench"], "--max-pixels"),
        ]
        for (command, option) in cases {
            for value in ["-1", "0", "-100"] {
                let r = try run([command[0], "--model", model, option, value] + command.dropFirst())
                XCTAssertEqual(r.status, 64, "\(command[0]) \(option) \(value): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("error: \(option) \(value) is out of range"), "\(option) \(value): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("Usage: zeroshot \(command[0])"), r.stderr)
            }
        }
        let large = try run(["bench", "--model", model, "--batch", "1025"])
        XCTAssertTrue(large.stderr.hasPrefix("error: --batch 1025 is out of range: give a number from 1 to 1024"), large.stderr)
    }

    func testWarningsForResultsThatLookWrong() throws {
        let noField = try run(["classify", "--model", model, "--labels", "cat,dog", "--template", "a photo", image])
        XCTAssertEqual(noField.status, 0, noField.stderr)
        XCTAssertTrue(noField.stderr.contains("warning: the hypothesis template \"a photo\" does not contain the label"), noField.stderr)
        let single = try run(["classify", "--model", model, "--label", "cat", image])
        XCTAssertEqual(single.status, 0, single.stderr)
        XCTAssertTrue(single.stderr.contains("warning: only one candidate label") && single.stderr.contains("1.0"), single.stderr)
        XCTAssertTrue(single.stdout.contains("100.00%  cat"), single.stdout)
        let clean = try run(["classify", "--model", model, "--labels", "cat,dog", image])
        XCTAssertEqual(clean.stderr, "")
    }

    func testNonFiniteScoresAreKeptWithAWarningNamingLogitScale() throws {
        let golden = try LabelParityTests.golden()
        let copy = try LabelParityTests.checkpointWithLogitScale(golden.overflow.logit_scale, from: golden.overflow.model)
        defer { try? FileManager.default.removeItem(at: copy) }
        let c = try XCTUnwrap(golden.overflow.cases.first)
        let r = try run(["classify", "--model", copy.path, "--labels", c.labels.joined(separator: ","), "--format", "json", image])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: scores are not finite") && r.stderr.contains("logit_scale is 100.0"), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let predictions = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]])
        XCTAssertEqual(predictions.compactMap { $0["label"] as? String }, c.predictions.map(\.label))
        XCTAssertTrue(predictions.allSatisfy { $0["score"] is NSNull }, "\(predictions)")
        let table = try run(["classify", "--model", copy.path, "--labels", "cat,dog", image])
        XCTAssertTrue(table.stdout.contains("     NaN  cat") && !table.stdout.contains("-nan"), table.stdout)
    }

    /// `"image_std": 0` gives NaN scores in transformers too (the pixel_values are infinite); the warning names
    /// image_std, not logit_scale or the checkpoint's weights.
    func testNonFiniteScoresFromAZeroImageStdNameIt() throws {
        let source = try fixtureModelDirectory()
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("zero-std-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: copy) }
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where name != "preprocessor_config.json" {
            try FileManager.default.createSymbolicLink(at: copy.appendingPathComponent(name),
                                                       withDestinationURL: source.appendingPathComponent(name))
        }
        var config = try XCTUnwrap(JSONSerialization.jsonObject(
            with: Data(contentsOf: source.appendingPathComponent("preprocessor_config.json"))) as? [String: Any])
        config["image_std"] = 0
        try JSONSerialization.data(withJSONObject: config).write(to: copy.appendingPathComponent("preprocessor_config.json"))
        let r = try run(["classify", "--model", copy.path, "--labels", "cat,dog", "--format", "json", image])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: scores are not finite") && r.stderr.contains("image_std [0.0, 0.0, 0.0] holds 0"),
                      r.stderr)
        XCTAssertFalse(r.stderr.contains("checkpoint's weights"), r.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let predictions = try XCTUnwrap(json.first?["predictions"] as? [[String: Any]])
        XCTAssertTrue(predictions.allSatisfy { $0["score"] is NSNull }, "\(predictions)")
    }

    func testOutputThatCannotBeWritten() throws {
        let model = try self.model
        let commands: [[String]] = [
            ["classify", "--model", model, "--labels", "cat,dog", "--format", "csv", image],
            ["embed", "--model", model, "--text", "a cat"],
            ["tokenize", "--model", model, "a cat"],
            ["bench", "--model", model, "--iterations", "1"],
            ["classify", "--help"],
        ]
        for arguments in commands {
            let (full, fullReason) = try run(arguments, output: .devFull)
            XCTAssertEqual(fullReason, .exit, "\(arguments): \(full.stderr)")
            XCTAssertEqual(full.status, 1, "\(arguments): \(full.stderr)")
            XCTAssertEqual(full.stderr, "error: cannot write to standard output: No space left on device\n", "\(arguments)")

            // `| head`: the reader is gone; the command ends quietly by SIGPIPE, as Unix tools do.
            let (closed, closedReason) = try run(arguments, output: .closedPipe)
            XCTAssertEqual(closedReason, .uncaughtSignal, "\(arguments): \(closed.stderr)")
            XCTAssertEqual(closed.status, SIGPIPE, "\(arguments)")
            XCTAssertEqual(closed.stderr, "", "\(arguments)")
        }
    }

    /// Started with standard output or error closed (`>&-`, `2>&-`): the files the command opens must not take
    /// their place. A closed standard output is an output that cannot be written, with one reason every time
    /// (before, the write went to whatever file held the number: "Invalid argument", "Bad file descriptor").
    func testClosedStandardStreams() throws {
        let model = try self.model
        /// Runs the command through `sh -c script`, which redirects before it execs "$@".
        func shell(_ script: String, _ arguments: [String]) throws -> Run {
            try Self.runProcess(URL(fileURLWithPath: "/bin/sh"), ["-c", script, "sh", Self.executable.path] + arguments)
        }
        let commands: [[String]] = [
            ["classify", "--model", model, "--labels", "cat,dog", image],
            ["bench", "--model", model, "--iterations", "1"],
            ["tokenize", "--model", model, "a cat"],
        ]
        for arguments in commands {
            let closedOut = try shell("exec \"$@\" >&-", arguments)
            XCTAssertEqual(closedOut.status, 1, "\(arguments): \(closedOut.stderr)")
            XCTAssertEqual(closedOut.stderr, "error: cannot write to standard output: Bad file descriptor\n", "\(arguments)")
        }
        // With standard error closed, the results still reach standard output and the exit code still tells.
        let closedErr = try shell("exec \"$@\" 2>&-", ["classify", "--model", model, "--labels", "cat,dog",
                                                      "/nonexistent/a.jpg", image])
        XCTAssertEqual(closedErr.status, 1)
        XCTAssertTrue(closedErr.stdout.hasPrefix(image + "\n"), closedErr.stdout)
        XCTAssertEqual(closedErr.stdout.split(separator: "\n").count, 3, closedErr.stdout)
    }

    func testImagesAreNamedByThePathAsGiven() throws {
        let directory = fixturesDirectory.appendingPathComponent("pipeline")
        let (r, _) = try run(["classify", "--model", model, "--labels", "cat,dog", "--format", "json",
                              "images/missing.jpg", "./images/chelsea.jpg", "images/../images/rocket.jpg"],
                             output: .pipe, directory: directory)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stderr, "error: images/missing.jpg: cannot read the file (No such file or directory)\n")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(json.compactMap { $0["image"] as? String }, ["./images/chelsea.jpg", "images/../images/rocket.jpg"])

        let bomb = try run(["classify", "--model", model, "--labels", "cat,dog", "--max-pixels", "1000", image])
        XCTAssertEqual(bomb.status, 1)
        XCTAssertTrue(bomb.stderr.hasPrefix("error: \(image): ") && bomb.stderr.contains("--max-pixels"), bomb.stderr)
    }

    func testMistypedModelPathSaysFirstThereIsNoSuchDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-cwd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("models"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for command in [["classify", "--labels", "a,b", image], ["tokenize", "a"]] {
            let (r, _) = try run([command[0], "--model", "models/b32"] + command.dropFirst(), output: .pipe, directory: directory,
                                 environment: ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": directory.appendingPathComponent("cache").path])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("error: no model directory 'models/b32' (in "), r.stderr)
            XCTAssertTrue(r.stderr.contains("tried as a Hugging Face repo id") && r.stderr.contains("HF_HUB_OFFLINE"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
    }

    /// Without --model, the message says where the name came from instead of speaking of a directory.
    func testModelNameFromTheEnvironmentOrTheDefaultIsNamedAsSuch() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zeroshot-cwd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let offline = ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": directory.appendingPathComponent("cache").path]
        let (byDefault, _) = try run(["classify", "--labels", "a,b", image], output: .pipe, directory: directory,
                                     environment: offline.merging(["ZEROSHOT_MODEL": ""]) { $1 })
        XCTAssertEqual(byDefault.status, 1, byDefault.stderr)
        XCTAssertTrue(byDefault.stderr.hasPrefix("error: the default model openai/clip-vit-base-patch32 (no --model given, "
                                                 + "ZEROSHOT_MODEL unset) could not be loaded: "), byDefault.stderr)
        let (fromEnvironment, _) = try run(["classify", "--labels", "a,b", image], output: .pipe, directory: directory,
                                           environment: offline.merging(["ZEROSHOT_MODEL": "acme/no-such-model"]) { $1 })
        XCTAssertEqual(fromEnvironment.status, 1, fromEnvironment.stderr)
        XCTAssertTrue(fromEnvironment.stderr.hasPrefix("error: ZEROSHOT_MODEL='acme/no-such-model' is no model directory"),
                      fromEnvironment.stderr)
        // The default model's name set in the environment is still the environment's.
        let (defaultFromEnvironment, _) = try run(["classify", "--labels", "a,b", image], output: .pipe, directory: directory,
                                                  environment: offline.merging(["ZEROSHOT_MODEL": "openai/clip-vit-base-patch32"]) { $1 })
        XCTAssertTrue(defaultFromEnvironment.stderr.hasPrefix("error: ZEROSHOT_MODEL='openai/clip-vit-base-patch32'"),
                      defaultFromEnvironment.stderr)
    }

    func testMissingFilesShareOneWordingAndTokenizeNeedsOnlyTheTokenizer() throws {
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("zeroshot-files-\(UUID().uuidString)")
        defer { try? fm.removeItem(at: base) }
        for file in ["preprocessor_config.json", "config.json"] {
            let copy = base.appendingPathComponent("without-\(file)")
            try fm.createDirectory(at: base, withIntermediateDirectories: true)
            try fm.copyItem(at: try fixtureModelDirectory(), to: copy)
            try fm.removeItem(at: copy.appendingPathComponent(file))
            let r = try run(["classify", "--model", copy.path, "--labels", "a,b", image])
            XCTAssertEqual(r.status, 1, r.stderr)
            XCTAssertEqual(r.stderr, "error: missing file \(copy.appendingPathComponent(file).path)\n")
        }

        // tokenize reads the tokenizer files alone: the same ids (and truncation) without config.json, weights or
        // preprocessor_config.json.
        let tokenizerOnly = base.appendingPathComponent("tokenizer-only")
        try fm.createDirectory(at: tokenizerOnly, withIntermediateDirectories: true)
        for file in try fm.contentsOfDirectory(atPath: try fixtureModelDirectory().path)
        where ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"].contains(file) {
            try fm.copyItem(at: try fixtureModelDirectory().appendingPathComponent(file), to: tokenizerOnly.appendingPathComponent(file))
        }
        let long = Array(repeating: "cat", count: 100).joined(separator: " ")
        let full = try run(["tokenize", "--model", model, "a photo of a cat", long])
        let alone = try run(["tokenize", "--model", tokenizerOnly.path, "a photo of a cat", long])
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertEqual(alone.stdout, full.stdout)
        XCTAssertTrue(alone.stderr.contains("truncated to 77"), alone.stderr)
    }
}
