import Embedding
import Foundation
import Search

/// The SIMD kernels, chosen once at run time by cpuid and capped by `$MRL_ISA`.
public enum Kernels {
    /// The variant in use, e.g. "avx512f".
    public static var selected: String { ExactSearch.kernelISA }

    /// The reason `$MRL_ISA` names no variant (or `$MRL_ENCODER_THREADS` is no number of
    /// threads), or nil when they are unset, empty or fine. The kernels read them on first use,
    /// below any command's options: a misspelt cap must be refused before a command runs, or it
    /// would silently mean generic code (or the default threads).
    public static var environmentProblem: String? {
        if let problem = EncoderThreads.environmentProblem { return problem }
        guard let isa = ProcessInfo.processInfo.environment["MRL_ISA"], !isa.isEmpty,
              !ExactSearch.kernelVariants.contains(isa) else { return nil }
        return "MRL_ISA=\(isa) is not an instruction set mrl knows: use one of \(ExactSearch.kernelVariants.joined(separator: ", ")), or unset it"
    }
}
