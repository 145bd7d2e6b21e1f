/// The stored form: level 0 as byte blocks of 1,024 rows (one value each, read back in
/// place by `MappedGraph`), the rest as one blob (`GraphUpperLevels`).
extension GraphLayers {
    /// All level-0 rows, `idLimit × (1 + 2M)` UInt32; valid until the graph next changes.
    public var level0Bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: level0, count: idLimit * level0Width * 4)
    }

    public var level0BlockCount: Int { (idLimit + GraphFormat.blockNodes - 1) / GraphFormat.blockNodes }

    /// Rows of nodes `[1024·index, 1024·(index+1))`, fewer in the last block. Valid until
    /// the graph next changes.
    public func level0Block(_ index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < level0BlockCount)
        let first = index * GraphFormat.blockNodes, rows = min(GraphFormat.blockNodes, idLimit - first)
        return UnsafeRawBufferPointer(start: level0 + first * level0Width, count: rows * level0Width * 4)
    }

    /// Entry point, top level and upper lists as one blob for `GraphUpperLevels(decoding:)`.
    public func encodeUpperLevels() -> [UInt8] { GraphUpperLevels.encode(self) }

    /// A changeable copy of a stored graph, to insert into or delete from and store again.
    public convenience init(restoring graph: MappedGraph) {
        let upper = graph.upperLevels
        self.init(m: upper.m)
        reserve(idLimit: upper.idLimit)
        var levelOf = [Int](repeating: 0, count: upper.idLimit)
        for (node, level) in upper.nodesWithUpperLevels { levelOf[Int(node)] = level }
        for node in 0..<UInt32(upper.idLimit) where graph.level0Row(node)[0] & GraphFormat.presentBit != 0 {
            let level = levelOf[Int(node)]
            place(node, level: level)
            list(of: node, level: 0)!.update(from: graph.level0Row(node), count: level0Width)
            for l in stride(from: 1, through: level, by: 1) {
                let links = upper.neighbors(of: node, level: l), target = list(of: node, level: l)!
                target[0] = UInt32(links.count)
                for (i, link) in links.enumerated() { target[1 + i] = link }
            }
        }
        entryPoint = upper.entryPoint
        maxLevel = upper.maxLevel
    }
}
