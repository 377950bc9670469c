import Foundation
import ImageIndex
import ZeroShot

/// What the API routes use once the model is loaded: the configuration, the engine that runs inference, the photo
/// index of `--db` (nil without), and the name the model is served as.
public struct ServerState: Sendable {
    public let configuration: ServerConfiguration
    public let engine: InferenceEngine
    public let index: ImageIndex?
    /// The `model` of responses: the Hub repo id, or the model directory's last path component.
    public let modelName: String

    public init(configuration: ServerConfiguration, engine: InferenceEngine, index: ImageIndex?, modelName: String) {
        self.configuration = configuration
        self.engine = engine
        self.index = index
        self.modelName = modelName
    }
}
