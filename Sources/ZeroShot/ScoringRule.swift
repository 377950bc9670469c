import Foundation
import Layers

/// How `ZeroShotClassifier` turns logits_per_image into the predictions it returns: the pipeline's scores
/// (`.pipeline`, the default), or labels decided independently (`multiLabel`), then optionally only the labels
/// whose score reaches `threshold`.
///
/// The logits are never changed: each `Prediction.logit` stays logits_per_image = exp(logit_scale) · cosine
/// (+ logit_bias for SigLIP); only the scores and which predictions are kept depend on the rule.
///
/// Multi-label scores (our rule; transformers' pipeline has no multi-label mode):
///
/// - sigmoid models (SigLIP): the pipeline's own scores, `sigmoid(logit)` with the checkpoint's logit_bias. They are
///   already independent per label, so `multiLabel` changes nothing, and `minSimilarity` is refused: the
///   checkpoint's logit_bias is the trained decision point.
/// - softmax models (CLIP, Chinese-CLIP): `sigmoid((cosine - τ) · exp(logit_scale))` per label, computed as
///   `sigmoid(logit - τ · exp(logit_scale))` (logit_scale has no bias to subtract). τ = `minSimilarity`, a cosine
///   similarity in [-1, 1], is the similarity at which a label scores exactly 0.5. exp(logit_scale) is about 100
///   for trained CLIP checkpoints, so the sigmoid is sharp around τ: 0.02 of cosine above τ scores 0.88, 0.05
///   above 0.993, 0.05 below 0.007. A label's score depends on its own text alone: adding a label changes no
///   other score, and every label can be low (none fits) or several high.
///
/// The default τ, `defaultMinSimilarity` = 0.28, is the image-text cosine LAION-5B (Schuhmann et al., 2022) kept
/// English pairs above with OpenAI's CLIP ViT-B/32 when it filtered captions that fit their images (LAION-400M
/// used 0.3). Filled hypothesis templates are not the web captions LAION filtered, and other checkpoints spread cosines
/// differently, so calibrate τ on a few images of your own for anything but a first look.
public struct ScoringRule: Sendable, Equatable {
    /// The pipeline's scores, all predictions kept.
    public static let pipeline = ScoringRule()
    /// τ for softmax models when none is given: LAION-5B's CLIP ViT-B/32 image-caption filter threshold.
    public static let defaultMinSimilarity: Float = 0.28

    /// Keep only predictions with `score >= threshold` (in 0...1); nil keeps all. Applied after scoring over all
    /// candidate labels, so a threshold never changes a score. A NaN score is never >= a threshold, so with a
    /// threshold such a prediction is not kept (not even at 0).
    public private(set) var threshold: Float?
    /// Score each label on its own instead of a softmax over the labels (see the type's documentation).
    public let multiLabel: Bool
    /// τ given for softmax models in multi-label mode; nil: `defaultMinSimilarity`.
    public let minSimilarity: Float?

    /// - Throws: `ScoringRuleError` when `threshold` is outside 0...1 (or NaN), `minSimilarity` is given without
    ///   `multiLabel`, or `minSimilarity` is outside -1...1 (or NaN).
    public init(threshold: Float? = nil, multiLabel: Bool = false, minSimilarity: Float? = nil) throws {
        if let threshold, !(0...1).contains(threshold) { throw ScoringRuleError.thresholdOutOfRange(threshold) }
        if let minSimilarity {
            guard multiLabel else { throw ScoringRuleError.minSimilarityWithoutMultiLabel }
            guard (-1...1).contains(minSimilarity) else { throw ScoringRuleError.minSimilarityOutOfRange(minSimilarity) }
        }
        self.threshold = threshold
        self.multiLabel = multiLabel
        self.minSimilarity = minSimilarity
    }

    private init() {
        threshold = nil
        multiLabel = false
        minSimilarity = nil
    }

    /// The scoring actually used with a model that scores by `scoring`: the sigmoid for any multi-label rule.
    public func effectiveScoring(_ scoring: Scoring) -> Scoring {
        multiLabel ? .sigmoid : scoring
    }

    /// What is subtracted from each logit before the sigmoid: τ · exp(logit_scale) for a softmax model in
    /// multi-label mode, else 0 (SigLIP's logit_bias is already in its logits).
    ///
    /// - Throws: `ScoringRuleError.minSimilarityWithSigmoidModel` when `minSimilarity` is given for a sigmoid model.
    public func logitOffset(scoring: Scoring, logitScale: Float) throws -> Float {
        guard multiLabel else { return 0 }
        switch scoring {
        case .sigmoid:
            if minSimilarity != nil { throw ScoringRuleError.minSimilarityWithSigmoidModel }
            return 0
        case .softmax:
            return (minSimilarity ?? Self.defaultMinSimilarity) * expf(logitScale)
        }
    }

    /// The same rule without a threshold: every prediction kept (to look at all scores before thresholding).
    public var droppingThreshold: ScoringRule {
        var rule = self
        rule.threshold = nil
        return rule
    }

    /// Whether a prediction with this score is kept (`score >= threshold`; NaN is not).
    public func keeps(_ score: Float) -> Bool {
        guard let threshold else { return true }
        return score >= threshold
    }
}

/// A `ScoringRule` that cannot be built or cannot be used with the model.
public enum ScoringRuleError: LocalizedError, Equatable {
    case thresholdOutOfRange(Float)
    case minSimilarityOutOfRange(Float)
    case minSimilarityWithoutMultiLabel
    case minSimilarityWithSigmoidModel

    public var errorDescription: String? {
        switch self {
        case .thresholdOutOfRange(let t):
            return "threshold \(t) is not a score: give a value from 0 to 1"
        case .minSimilarityOutOfRange(let t):
            return "minimum similarity \(t) is not a cosine similarity: give a value from -1 to 1"
        case .minSimilarityWithoutMultiLabel:
            return "a minimum similarity only applies to multi-label scoring (the softmax over the labels has no "
                + "such point)"
        case .minSimilarityWithSigmoidModel:
            return "a minimum similarity does not apply to this model: it scores each label with a sigmoid whose "
                + "logit_bias, trained with the checkpoint, decides where a label scores 0.5"
        }
    }
}
