import Embedding
import Foundation
import Search

/// What follows writes to an index: fit or refit the head, build the graph, time its plans,
/// each only when due, and read changed filter fields into memory once filters use them. `mrl index` runs it after a run, the daemon after each commit: one
/// rule, here.
public struct Upkeep: Sendable {
    public var head: HeadChange?
    public var graph: GraphBuild?
    public var costModel: CostModel?

    public init() {}

    /// A head asked for by hand (`mrl index --head`), instead of the automatic rule.
    public struct HeadRequest: Sendable {
        public var kind: MatryoshkaHead.Kind
        public var adaptor: AdaptorTrainer.Options
        public var pairs: [KnownItemQuery]?
        /// Queries to distil an adaptor from, no relevant document needed (nil: the log's; none when empty).
        public var queries: [KnownItemQuery]?

        public init(kind: MatryoshkaHead.Kind, adaptor: AdaptorTrainer.Options, pairs: [KnownItemQuery]?, queries: [KnownItemQuery]? = nil) {
            self.kind = kind
            self.adaptor = adaptor
            self.pairs = pairs
            self.queries = queries
        }
    }

    /// Where long steps report how far they are: adaptor training steps (step, steps, loss),
    /// vector blocks rewritten in the head's space, plans timed.
    public struct Progress {
        public var training: (Int, Int, Double) -> Void = { _, _, _ in }
        public var blocks: (Int, Int) -> Void = { _, _ in }
        public var plans: (Int, Int) -> Void = { _, _ in }
        public init() {}
    }

    /// What was done, for `--json` summaries.
    public var json: [String: JSON] {
        ["graph_built": graph.map { ["nodes": JSON($0.record.nodes), "dims": JSON($0.record.dims), "seconds": JSON($0.record.buildSeconds)] } ?? .null,
         "head_fitted": head.map { ["kind": .string($0.kind.rawValue), "version": JSON(Int($0.version)), "seconds": JSON($0.seconds)] } ?? .null]
    }
}

extension Index {
    /// Runs what is due after writes (see `Upkeep`); with `head`, changes to that head when
    /// the index is large enough for one and has another.
    public func upkeep(head request: Upkeep.HeadRequest? = nil, progress: Upkeep.Progress = .init()) throws -> Upkeep {
        var upkeep = Upkeep()
        if let request, try currentHead().record?.kind ?? MatryoshkaHead.Kind.none.rawValue != request.kind.rawValue,
           try store.read({ try $0.documentCount() }) >= Index.automaticHeadMinimum {
            upkeep.head = try changeHead(to: request.kind, automatic: request.kind != .none, adaptor: request.adaptor,
                                         pairs: request.pairs, queries: try request.queries.map { .queries(try queryVectors($0)) } ?? .log,
                                         training: progress.training, progress: progress.blocks)
        } else {
            upkeep.head = try refitHeadIfDue(training: progress.training, progress: progress.blocks)
        }
        upkeep.graph = try buildGraphIfDue()
        upkeep.costModel = try calibrateIfDue(progress: progress.plans)
        try refreshFieldColumnsIfUsed()
        return upkeep
    }
}
