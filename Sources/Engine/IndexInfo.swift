import Foundation
import Search
import Store

/// What `mrl info` and `GET /indexes/{name}` report about an index.
public struct IndexInfo: Sendable {
    public var name: String
    public var documents: Int
    public var manifest: Manifest
    public var fileBytes: Int
    public var usedBytes: Int
    public var mapBytes: Int
    public var kernelISA: String
    /// The head searches use (nil: never set, the identity) and one left half-written, if any.
    public var head: HeadRecord?
    public var pendingHead: HeadRecord?
    /// The ANN graph (nil: none), whether it is over the current head, and the plans measured on it.
    public var graph: GraphRecord?
    public var graphIsCurrent: Bool
    public var costModel: CostModel?
    /// The fusion weight `mrl tune` fitted for hybrid searches (nil: none, equal weights).
    public var fusion: FusionTuning? = nil
    /// What the daemon's recall monitor has seen (nil outside a daemon, or before any search).
    public var monitor: RecallMonitor?

    /// The report as the API and `mrl info --json` show it (snake_case names).
    public var json: JSON {
        [
            "name": .string(name), "documents": JSON(documents), "dimensions": JSON(manifest.dimensions),
            "format": JSON(manifest.format), "vector_type": .string(manifest.vectorType),
            "prefix_segments": .array(manifest.segmentBoundaries.map { JSON($0) }),
            "model": manifest.model.map { ["name": .string($0.name), "fingerprint": .string($0.fingerprint), "precision": .string($0.precision)] } ?? .null,
            "head": [
                "kind": .string(head?.kind ?? "none"), "version": JSON(Int(head?.version ?? 0)), "fitted_on": JSON(head?.fittedOn ?? 0),
                "automatic": .bool(head?.automatic ?? true), "pending": JSON(pendingHead?.kind),
                "chosen_on_log": head?.chosenOnLog.map { JSON($0) } ?? .null,
            ],
            "graph": graph.map { g in
                ["dims": JSON(g.dims), "m": JSON(g.m), "ef_construction": JSON(g.efConstruction), "encoding": .string(g.encoding),
                 "nodes": JSON(g.nodes), "build_seconds": .number(g.buildSeconds), "built_at": .string(g.builtAt),
                 "guidance": JSON(g.guidance), "guided_by": JSON(g.guidedBy), "query_links": JSON(g.queryLinks),
                 "current": .bool(graphIsCurrent), "plans_measured": JSON(costModel?.measurements.count ?? 0)]
            } ?? .null,
            "created_at": .string(manifest.createdAt), "file_bytes": JSON(fileBytes), "used_bytes": JSON(usedBytes),
            "map_bytes": JSON(mapBytes), "kernel_isa": .string(kernelISA),
            "presets": .array((costModel?.presets ?? []).map { preset in
                ["name": .string(preset.name), "goal": .string(preset.goal.description), "recall": .number(preset.measurement.recall),
                 "p50_ms": .number(preset.measurement.p50Ms), "p99_ms": .number(preset.measurement.p99Ms), "plan": preset.measurement.plan.json]
            }),
            "calibration": costModel.map { model in
                ["queries_from": .string(model.querySource ?? "documents"), "queries": JSON(model.queries), "held_out": JSON(model.heldOut),
                 "measured_at": .string(model.measuredAt)]
            } ?? .null,
            "monitor": monitor?.json ?? .null,
            "fusion": fusion?.json ?? .null,
            "description": .object(dropping: ["head": .string(headDescription), "graph": .string(graphDescription),
                                              "presets": .string(presetsDescription), "monitor": monitor?.summary.map(JSON.string),
                                              "fusion": .string(fusionDescription)]),
        ]
    }
}

extension Index {
    public func info() throws -> IndexInfo {
        let usage = try store.diskUsage()
        let costModel = try self.costModel()
        return try store.read { snapshot in
            let head = try snapshot.head(), graph = try snapshot.graphRecord()
            return IndexInfo(name: name, documents: try snapshot.documentCount(), manifest: manifest,
                             fileBytes: usage.fileBytes, usedBytes: usage.usedBytes, mapBytes: store.mapSize,
                             kernelISA: Kernels.selected, head: head, pendingHead: try snapshot.pendingHead(),
                             graph: graph, graphIsCurrent: graph?.isOver(head) ?? false, costModel: costModel,
                             fusion: try snapshot.meta(Index.fusionKey, as: FusionTuning.self),
                             monitor: recallMonitor.isEmpty ? nil : recallMonitor)
        }
    }
}

extension IndexInfo {
    /// One line for people: which head, fitted on how much, and whether it refits itself.
    public var headDescription: String {
        if let head, let seen = head.chosenOnLog {
            return "\(head.kind)\(head.isIdentity ? "" : " v\(head.version)"), chosen on the query log (offered \(seen.formatted()) queries then) over none, pca and adaptor; chosen again as the log or the index grows"
        }
        guard let head, !head.isIdentity else {
            let auto = head?.automatic ?? true
            return "none (plain truncation)" + (auto ? "; PCA is fitted from \(Index.automaticHeadMinimum.formatted()) documents on" : ", chosen by hand")
                + (pendingHead.map { "; an interrupted \($0.kind) fit is left over (the next fit discards it)" } ?? "")
        }
        return "\(head.kind) v\(head.version), fitted on \(head.fittedOn.formatted()) documents"
            + (head.automatic ? " (refitted automatically at \(Index.automaticHeadRegrowth)x growth)" : " (chosen by hand)")
    }
}

extension IndexInfo {
    /// One line for people: the graph, and the plan a search without a budget runs.
    public var graphDescription: String {
        guard let graph else {
            return "none: searches scan exactly" + (documents >= Index.automaticGraphMinimum ? " (build one with `mrl graph`)" : "")
        }
        var line = "\(graph.dims) dims, \(graph.encoding), M=\(graph.m), \(graph.nodes.formatted()) nodes, built in \(String(format: "%.1f", graph.buildSeconds)) s"
        if graph.guidedBy > 0 {
            line += ", links guided by \(graph.guidedBy.formatted()) \(graph.guidance == "log" ? "logged queries" : "queries of a file")"
        }
        if !graphIsCurrent { line += "; stale (built over another head): searches scan exactly until `mrl graph` or `mrl index` rebuilds it" }
        if let costModel {
            let planner = Planner(model: costModel).plan(budgetMs: nil, k: costModel.k)
            let recall = costModel.measurements.first { $0.plan == planner.plan }?.recall ?? 0
            line += String(format: "; %d plans measured, default reaches recall %.3f in %.3f ms", costModel.measurements.count, recall, planner.measured.meanMs)
        }
        return line
    }
}

extension IndexInfo {
    /// One line for people: each preset's recall and p99, and whether the times still hold here.
    public var presetsDescription: String {
        guard let costModel, !costModel.presets.isEmpty else { return "none yet (they come with the graph's measured plans; see `mrl tune`)" }
        let list = costModel.presets.map { String(format: "%@ %.3f recall at p99 %.3f ms", $0.name, $0.measurement.recall, $0.measurement.p99Ms) }
        let held = costModel.heldOut > 0 ? ", \(costModel.heldOut) of them held out to measure these" : ""
        let source = "; calibrated on \(costModel.queries) \(costModel.querySource ?? "documents")\(held)"
        return list.joined(separator: "; ") + source + (costModel.staleness.map { " (\($0): run `mrl tune` to re-measure)" } ?? "")
    }
}

extension IndexInfo {
    /// One line for people: the weight hybrid searches give the semantic ranking, and whence.
    public var fusionDescription: String {
        fusion?.summary ?? "equal weights (plain reciprocal rank fusion): `mrl tune --queries LABELLED.jsonl` fits one"
    }
}
