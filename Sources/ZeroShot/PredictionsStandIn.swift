// Stand-in for the facade's `predictions(imageEmbeddings:textEmbeddings:candidateLabels:)` of the design contract;
// deleted when the streaming facade is merged.
extension ZeroShotClassifier {
    public func predictions(imageEmbeddings: [[Float]], textEmbeddings: [[Float]], candidateLabels: [String]) -> [[Prediction]] {
        model.logitsPerImage(imageEmbeddings: imageEmbeddings, textEmbeddings: textEmbeddings).map { logits in
            Self.rank(labels: candidateLabels, logits: logits, scoring: model.scoring)
        }
    }
}
