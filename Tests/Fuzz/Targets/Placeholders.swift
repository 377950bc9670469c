#if DEBUG
extension FuzzTargets {
    static let tokenizers: [FuzzTarget] = []
}
#endif
