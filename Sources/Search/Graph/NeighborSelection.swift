/// The neighbour choice of the HNSW paper (Malkov & Yashunin, algorithm 4): walking the
/// candidates best first, keep one only if it is closer to the base node than to every
/// neighbour kept so far. Links then point in different directions instead of into one
/// tight cluster, which keeps the graph navigable between clusters.
///
/// `hits` holds `count` candidates sorted best first, scored against the base node; the
/// kept ones (at most `limit`) are moved to the front and their number returned. `scratch`
/// holds one prepared row.
func selectDiverse(
    _ hits: UnsafeMutablePointer<Hit>, count: Int, limit: Int,
    vectors: GraphVectors, scratch: UnsafeMutablePointer<Float>
) -> Int {
    var kept = 0
    for i in 0..<count {
        if kept == limit { break }
        let candidate = hits[i]
        var diverse = true
        if kept > 0 {
            vectors.prepare(row: candidate.id, into: scratch)
            for j in 0..<kept where vectors.similarity(scratch, hits[j].id) > candidate.score {
                diverse = false
                break
            }
        }
        if diverse {
            hits[kept] = candidate
            kept += 1
        }
    }
    return kept
}

/// Sorts best first (`Hit.ranksBefore`: higher score, then lower id) in place. A heapsort:
/// no buffer is allocated, and ties order the same way on every run.
func sortBestFirst(_ hits: UnsafeMutablePointer<Hit>, count: Int) {
    // A heap whose root ranks last, so each pop moves the worst remaining hit to the back.
    func siftDown(_ start: Int, _ end: Int) {
        var i = start
        while true {
            let l = 2 * i + 1
            guard l < end else { return }
            let child = l + 1 < end && Hit.ranksBefore(hits[l], hits[l + 1]) ? l + 1 : l
            guard Hit.ranksBefore(hits[i], hits[child]) else { return }
            let held = hits[i]
            hits[i] = hits[child]
            hits[child] = held
            i = child
        }
    }
    for start in stride(from: count / 2 - 1, through: 0, by: -1) { siftDown(start, count) }
    for end in stride(from: count - 1, to: 0, by: -1) {
        let worst = hits[0]
        hits[0] = hits[end]
        hits[end] = worst
        siftDown(0, end)
    }
}
