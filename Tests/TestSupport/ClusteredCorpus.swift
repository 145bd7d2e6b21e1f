import Engine
import Foundation
import Search

/// A 64-d corpus of vectors around 60 random centres, so neighbourhoods are meaningful (as in
/// real embeddings) and recall measures the graph, not the hubness of uniform noise. Graphs
/// over it walk the first `graphDims` dimensions.
public enum ClusteredCorpus {
    public static let dims = 64
    public static let graphDims = 32

    public static let centres: [[Float]] = {
        var rng = SplitMix64(seed: 5)
        return (0..<60).map { _ in (0..<dims).map { _ in uniform(&rng) } }
    }()

    /// Documents `start ..< start + count`, "d<n>", each near centre n mod 60.
    public static func documents(_ count: Int, from start: Int = 0) -> [DocumentInput] {
        (start..<start + count).map { n in
            var rng = SplitMix64(seed: UInt64(n) &+ 1_000)
            return DocumentInput(id: "d\(n)", text: "doc \(n)", vector: centres[n % 60].map { $0 + 0.4 * uniform(&rng) })
        }
    }

    /// Queries the graph's prefix says little of: a centre's coordinates damped to 0.3 in the
    /// dimensions the graph walks, whole in the others, and noise. Walks for them go astray;
    /// presets tuned on the documents fall short on them. (Seeds other than the corpus's 5.)
    public static func blindQueries(_ count: Int, seed: UInt64) -> [[Float]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { n in
            let centre = centres[(n * 7) % 60]
            return (0..<dims).map { j in (j < graphDims ? 0.3 : 1) * centre[j] + 0.4 * uniform(&rng) }
        }
    }

    public static func uniform(_ rng: inout SplitMix64) -> Float { Float(Int(rng.next() % 2_000_001) - 1_000_000) / 1e6 }
}

