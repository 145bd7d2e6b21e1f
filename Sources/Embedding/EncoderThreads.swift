import Foundation

/// How many cores the encoder splits each pass across: 2 (this machine's kind), or
/// `$MRL_ENCODER_THREADS` (1-64), e.g. 1 in each of several encoder processes that share the
/// cores (Ray actors of one CPU each). Vectors do not depend on it: each output is computed
/// the same way whichever core computes it.
public enum EncoderThreads {
    static let count = valid ?? 2

    static var setting: String? { ProcessInfo.processInfo.environment["MRL_ENCODER_THREADS"].flatMap { $0.isEmpty ? nil : $0 } }

    /// The setting when it is a number from 1 to 64.
    static var valid: Int? { setting.flatMap(Int.init).flatMap { (1...64).contains($0) ? $0 : nil } }

    /// Why `$MRL_ENCODER_THREADS` is unusable, or nil when it is unset or fine: checked before
    /// any command runs, since a typo would silently mean the default.
    public static var environmentProblem: String? {
        guard let text = setting, valid == nil else { return nil }
        return "MRL_ENCODER_THREADS=\(text) is not a number of threads from 1 to 64: set one, or unset it for 2"
    }
}
