// The facade re-exports the types its API speaks in: RGBImage and ImageDecoder (ImageIO), Encoding and
// TokenizerError (Tokenizers), CLIPModel and its errors (CLIP), HubEnvironment and HubError (Hub).
@_exported import CLIP
@_exported import Hub
@_exported import ImageIO
@_exported import Tokenizers
@_exported import Compute
