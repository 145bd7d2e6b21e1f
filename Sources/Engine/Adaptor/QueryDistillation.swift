import Search

/// The distilled part of adaptor training: batches of queries like those an index receives
/// (raw vectors, no labels) scored against documents near them and documents at random, the
/// target being the ranking the full raw vectors give (`BatchStep.Kind.distilled`). The near
/// documents are each query's exact nearest training documents at full dimensions, so that the
/// loss sees the neighbourhoods a search must get right, not only random documents far away.
final class QueryDistillation {
    static let queriesPerBatch = 256
    /// Each query's nearest training documents found once, before training...
    static let neighbours = 16
    /// ...of which each batch takes this many per query, at random.
    static let nearPerQuery = 8
    /// Documents at random beside them in each batch: the rest of the corpus a query ranks.
    static let randomDocuments = 512

    let step: BatchStep
    private let queries: [Float], queryCount: Int, sampleCount: Int
    /// Row numbers in the training sample of each query's nearest documents, nearest first.
    private let nearest: [[Int]]
    private var order: [Int], position: Int

    /// `queries` and `samples` are row-major raw unit vectors of `d` floats; there are at least
    /// `queriesPerBatch` queries and `randomDocuments` samples (the trainer's minimums).
    init(queries: [Float], samples: [Float], count: Int, dimensions d: Int, prefixes: [Int], temperature: Float,
         threads: Int, random: inout SplitMix64) {
        self.queries = queries
        (queryCount, sampleCount) = (queries.count / d, count)
        nearest = PrefixScores(queries: queries, docs: samples, dimensions: d, prefix: d).top(Self.neighbours)
        step = BatchStep(.distilled, batch: Self.queriesPerBatch,
                         rightRows: Self.queriesPerBatch * Self.nearPerQuery + Self.randomDocuments,
                         dimensions: d, prefixes: prefixes, temperature: temperature, threads: threads)
        order = Array(0..<queryCount).shuffled(using: &random)
        position = 0
    }

    /// Loads the next queries of a shuffled pass over them, with near and random documents.
    func loadNext(samples: [Float], mean: [Float], random: inout SplitMix64) {
        if position + Self.queriesPerBatch > queryCount {
            order.shuffle(using: &random)
            position = 0
        }
        let batch = order[position..<position + Self.queriesPerBatch]
        position += Self.queriesPerBatch
        let near = batch.flatMap { q in nearest[q].shuffled(using: &random).prefix(Self.nearPerQuery) }
        let far = (0..<Self.randomDocuments).map { _ in Int(random.next() % UInt64(sampleCount)) }
        load(batch, documents: near + far, samples: samples, mean: mean)
    }

    /// Loads one fixed batch (the first queries, their nearest documents, the first samples),
    /// on which the trainer compares its loss before and after.
    func loadProbe(samples: [Float], mean: [Float]) {
        let batch = Array(0..<Self.queriesPerBatch)
        let near = batch.flatMap { nearest[$0].prefix(Self.nearPerQuery) }
        load(batch[...], documents: near + Array(0..<Self.randomDocuments), samples: samples, mean: mean)
    }

    private func load(_ batch: ArraySlice<Int>, documents: [Int], samples: [Float], mean: [Float]) {
        step.load(rows: batch, from: queries, mean: mean)
        step.load(rows: documents[...], from: samples, mean: mean, right: true)
    }
}
