#if DEBUG
extension FuzzTargets {
}
#endif
