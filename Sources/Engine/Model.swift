import Embedding
import Foundation
import Store
import Synchronization

/// Finds and loads the embedding model, once per process: the first query after start-up
/// pays the load, later ones share the memory-mapped weights.
public enum Model {
    public static let defaultName = "all-MiniLM-L6-v2"
    public static let defaultDimensions = 384
    /// Texts per forward pass unless told otherwise: `mrl embed`'s default, and how
    /// `mrl-bench serve` times the encoder on its own.
    public static let batchSize = 256

    /// The model identity recorded in a new index; the fingerprint is "unknown" when the
    /// model is not installed (bring-your-own vectors need no model).
    public static func identity(precision: Precision = .fp32) -> ModelIdentity {
        ModelIdentity(name: defaultName, fingerprint: (try? encoder().weightsFingerprint) ?? "unknown", precision: precision.rawValue)
    }

    /// The one rule for which model a new index belongs to, wherever it is created (`mrl
    /// index`, `PUT /indexes/{name}`): an index for texts (nil dimensions), or for vectors of
    /// the built-in model's size, belongs to the built-in model: those vectors are taken to be
    /// in its raw space, so texts and text queries are embedded into the same space. Vectors
    /// of any other size are of the user's own model: the index has none. `precision` is how
    /// its texts will be embedded; an index without the model refuses any but fp32, the default.
    public static func forNewIndex(dimensions: Int?, precision: Precision = .fp32) throws -> (dimensions: Int, model: ModelIdentity?) {
        let dimensions = dimensions ?? defaultDimensions
        guard dimensions == defaultDimensions else {
            guard precision == .fp32 else {
                throw EngineError.invalidRequest(field: "precision", message:
                    "an index of \(dimensions)-d vectors holds your own model's vectors, which mrl does not embed: leave out the precision")
            }
            return (dimensions, nil)
        }
        return (dimensions, identity(precision: precision))
    }

    /// `$MRL_MODEL_DIR`, else `models/all-MiniLM-L6-v2` in a folder above the executable (a
    /// built `mrl` finds the repo's models/), or `share/mrl/models/...` there (where `make
    /// install` puts it). Never the working directory: a `models/` that happens to be where
    /// mrl is run from is not what the user installed.
    public static func directory() -> URL? {
        let fm = FileManager.default
        if let explicit = ProcessInfo.processInfo.environment["MRL_MODEL_DIR"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        var candidates: [URL] = []
        // The running binary's own path (argv[0] is a bare name when found through $PATH).
        let executable = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        while dir.path != "/" {
            candidates.append(dir)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.flatMap { [$0.appendingPathComponent("models/\(defaultName)"),
                                     $0.appendingPathComponent("share/mrl/models/\(defaultName)")] }
            .first { fm.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
    }

    private static let cache = Mutex<TextEncoder?>(nil)

    /// The process's encoder, loaded on first use.
    /// Throws `modelUnavailable` with what to do when the model is missing or damaged.
    public static func encoder() throws -> TextEncoder {
        try cache.withLock { cached in
            if let cached { return cached }
            guard let directory = directory() else {
                throw EngineError.modelUnavailable(
                    "model \(defaultName) not found (looked in $MRL_MODEL_DIR, and models/ and share/mrl/models/ in the folders above the mrl executable): run `make setup`, or set MRL_MODEL_DIR")
            }
            do {
                let encoder = try TextEncoder(modelDirectory: directory)
                cached = encoder
                return encoder
            } catch {
                throw EngineError.modelUnavailable("\(error)")
            }
        }
    }
}
