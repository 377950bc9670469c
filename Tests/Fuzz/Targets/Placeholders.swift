#if DEBUG
extension FuzzTargets {
    static let tokenizers: [FuzzTarget] = []
    static let server: [FuzzTarget] = []
    static let index: [FuzzTarget] = []
    static let video: [FuzzTarget] = []
}
#endif
