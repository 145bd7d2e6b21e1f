import Foundation

/// How a search runs, returned with its hits (field names as in the socket API): an exact
/// scan, or a graph walk at `graphDims` with beam `ef` followed by rescoring stages.
public struct SearchPlan: Equatable, Hashable, Sendable {
    /// Candidates are rescored with the first `dims` coordinates and the best `keep` go on.
    public struct Stage: Equatable, Hashable, Sendable {
        public var dims: Int
        public var keep: Int
        public init(dims: Int, keep: Int) {
            self.dims = dims
            self.keep = keep
        }
    }
    /// Dimensions of the graph traversal; nil for an exact scan.
    public var graphDims: Int?
    /// Beam width of the graph traversal; nil for an exact scan.
    public var ef: Int?
    public var stages: [Stage]
    /// Skip the stages after a middle one when the k-th and (k+1)-th candidates are
    /// already this far apart (nil: never).
    public var earlyExit: Double?
    public var exact: Bool
    /// Walk on to a wider beam when the k-th hit of the answer scores below `below` (nil:
    /// never).
    public var widen: Widening?
    /// How a filter was served (nil: the search had none).
    public var filter: FilterChoice?

    /// A per-query wider beam: a walk whose answer's k-th similarity (at its one stage's
    /// dims) falls below `below` (a query far from what it finds, which a narrow beam serves
    /// poorly) goes on to beam `ef`; what it adds is scored, and the answer is that beam's.
    public struct Widening: Equatable, Hashable, Sendable {
        public var ef: Int, below: Double
        public init(ef: Int, below: Double) { (self.ef, self.below) = (ef, below) }
    }

    /// What makes this plan unrunnable on an index cut at `boundaries` whose graph walks
    /// `walked` dims, or nil: plans of a stored cost model are read back from disk.
    public func problem(boundaries: [Int], walked: Int) -> String? {
        let stored = Set(boundaries.dropFirst())
        guard !stages.isEmpty, stages.allSatisfy({ stored.contains($0.dims) && $0.keep >= 1 }) else { return "a plan has stages \(stages.map { "\($0.dims)d keep \($0.keep)" })" }
        guard !exact else { return widen.map { _ in "an exact scan has no beam to widen" } }
        guard graphDims == walked, let ef, (1...1_000_000).contains(ef) else {
            return "a plan walks \(graphDims.map(String.init) ?? "no") dims with ef \(ef.map(String.init) ?? "none"), the graph \(walked) dims"
        }
        if let widen, !(widen.ef > ef && widen.ef <= 1_000_000 && widen.below.isFinite && stages.count == 1) {
            return "a plan widens its beam of \(ef) to \(widen.ef) below \(widen.below) with \(stages.count) stages: the wider beam must be wider, the score finite, the stage one"
        }
        return nil
    }

    public init(graphDims: Int?, ef: Int?, stages: [Stage], earlyExit: Double?, exact: Bool, widen: Widening? = nil) {
        self.graphDims = graphDims
        self.ef = ef
        self.stages = stages
        self.earlyExit = earlyExit
        self.exact = exact
        self.widen = widen
    }

    /// How many head-space coordinates of the query the plan reads: the walk's and every
    /// stage's short of full dimensions (full-dimension scores are the raw vectors'); 0 when
    /// it reads none.
    public func headSpacePrefix(fullDimensions: Int) -> Int {
        ([graphDims ?? 0] + stages.map(\.dims).filter { $0 < fullDimensions }).max()!
    }

    /// The shortest prefix the plan scores with: the walk's, else the first stage's. A query
    /// with a direction there has one in every longer prefix too.
    public var shortestPrefix: Int { graphDims ?? stages.map(\.dims).min() ?? 0 }

    /// An exact scan of the first `dims` coordinates.
    public static func exact(dims: Int, k: Int) -> SearchPlan {
        SearchPlan(graphDims: nil, ef: nil, stages: [Stage(dims: dims, keep: k)], earlyExit: nil, exact: true)
    }
}

