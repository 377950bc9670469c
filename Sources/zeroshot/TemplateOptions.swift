import ArgumentParser
import ZeroShot

/// `--template` (one hypothesis template) or `--templates` (a prompt ensemble), for the commands that put labels or
/// class names through templates (classify, eval).
struct TemplateOptions: ParsableArguments {
    @Option(name: .customLong("template"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Hypothesis template; {} stands for the label or class name (once; default: "
        + "\"\(ZeroShotClassifier.defaultHypothesisTemplate)\").", valueName: "template"))
    var templates: [String] = []

    @Option(name: .customLong("templates"), parsing: .unconditionalSingleValue, help: ArgumentHelp(
        "Prompt ensemble: a built-in template set (\(PromptSets.templateSetNames.joined(separator: ", "))) or a file "
        + "with one template per line; each label's embedding is the renormalised mean over its prompts (once; not "
        + "with --template).", valueName: "name|file"))
    var templateSets: [String] = []

    /// The hypothesis template: `--template` (given at most once), else the pipeline's default.
    var template: String { templates.last ?? ZeroShotClassifier.defaultHypothesisTemplate }

    /// The `--templates` set name or file, if given.
    var templateSet: String? { templateSets.last }

    /// The hypothesis templates: those of `--templates` (a prompt ensemble), else the one of `--template`.
    func hypothesisTemplates() throws -> [String] {
        guard let set = templateSets.last else { return [template] }
        do { return try PromptSets.templates(set) } catch { throw ValidationError("--templates: \(error)") }
    }

    /// Each option at most once, and not both.
    func check() throws {
        try checkGivenOnce("--template", templates.count)
        try checkGivenOnce("--templates", templateSets.count)
        if !templates.isEmpty && !templateSets.isEmpty {
            throw ValidationError("give either --template (one template) or --templates (a set), not both")
        }
    }

    /// How a run's summary names the templates: the set and its size, or the one template quoted.
    func summary(count: Int) -> String {
        templateSets.last.map { "\($0) (\(count))" } ?? "\"\(template)\""
    }
}
