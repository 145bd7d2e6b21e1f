/// A plain text table for people: columns padded to their widest cell,
/// numeric columns right-aligned. A nil header gives a key–value listing.
package struct Table {
    package var header: [String]?
    package var rows: [[String]] = []
    package var rightAligned: Set<Int> = []

    package init(header: [String]?, rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    package func render() -> String {
        let all = (header.map { [$0] } ?? []) + rows
        let widths = (all.first ?? []).indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { c, cell in
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                return rightAligned.contains(c) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        return all.map(line).joined(separator: "\n")
    }
}

extension String {
    package func trimmingTrailingSpaces() -> String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }

    /// The first line, shortened to `limit` characters with an ellipsis.
    package func snippet(_ limit: Int) -> String {
        let firstLine = split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
        return firstLine.count <= limit ? firstLine : String(firstLine.prefix(limit - 1)) + "…"
    }
}
