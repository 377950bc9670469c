// The facade re-exports the types its API speaks in: RGBImage and ImageDecoder (ImageIO), Encoding and
// TokenizerError (Tokenizers), HubEnvironment and HubError (Hub), and by name the model-family interface.
@_exported import Hub
@_exported import ImageIO
@_exported import Tokenizers
@_exported import Compute
@_exported import enum Layers.ModelError
@_exported import enum Layers.Precision
@_exported import protocol Layers.ZeroShotModel
@_exported import struct Layers.TextBatch
@_exported import enum Layers.TextPadding
@_exported import enum Layers.Scoring
@_exported import enum Models.ModelTypeRegistry
