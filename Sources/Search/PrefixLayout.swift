/// The column boundaries at which stored vectors are cut into prefix segments:
/// 32, then doubling (64, 128, 256, ...), ending at the full dimension. Every
/// Matryoshka prefix we serve (32/64/128/256/384) is then a whole number of segments,
/// and a prefix scan reads exactly the bytes of its prefix.
public struct PrefixLayout: Equatable, Sendable {
    public let boundaries: [Int]

    public init(boundaries: [Int]) {
        precondition(boundaries.first == 0 && zip(boundaries, boundaries.dropFirst()).allSatisfy { $0 < $1 },
                     "boundaries start at 0 and increase")
        self.boundaries = boundaries
    }

    /// The standard layout for vectors of `dimensions` floats.
    public init(dimensions: Int) {
        precondition(dimensions > 0)
        var cuts = [0]
        var next = 32
        while next < dimensions {
            cuts.append(next)
            next *= 2
        }
        cuts.append(dimensions)
        self.init(boundaries: cuts)
    }

    public var dimensions: Int { boundaries.last! }
    public var segmentCount: Int { boundaries.count - 1 }
    public func width(_ segment: Int) -> Int { boundaries[segment + 1] - boundaries[segment] }
}
