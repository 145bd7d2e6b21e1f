import Foundation

/// A small hand-written SVG chart: points and lines on linear or log axes, with a legend and
/// labelled points. Enough for recall-vs-latency frontiers and quality-vs-dims curves,
/// without a plotting dependency.
package struct SVGChart {
    package struct Series {
        /// dots: faint small points (a cloud); points: solid ones; line: joined, left to right;
        /// markers: open squares.
        package enum Style { case dots, points, line, markers }
        package var name: String
        package var points: [(x: Double, y: Double, label: String?)]
        package var style: Style
        package var color: String

        package init(name: String, points: [(x: Double, y: Double, label: String?)], style: Style, color: String) {
            self.name = name
            self.points = points
            self.style = style
            self.color = color
        }
    }

    package var title: String
    package var xLabel: String
    package var yLabel: String
    package var logX = false
    package var series: [Series] = []

    private let width = 760.0, height = 480.0
    private let left = 70.0, right = 190.0, top = 40.0, bottom = 56.0

    package init(title: String, xLabel: String, yLabel: String, logX: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
    }

    package func render() -> String {
        let all = series.flatMap(\.points)
        guard !all.isEmpty else { return "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" }
        let tx = { (x: Double) in logX ? log10(max(x, 1e-9)) : x }
        var (x0, x1) = (all.map { tx($0.x) }.min()!, all.map { tx($0.x) }.max()!)
        var (y0, y1) = (all.map(\.y).min()!, all.map(\.y).max()!)
        if logX { (x0, x1) = (floor(x0), ceil(x1)) } else { (x0, x1) = Self.padded(x0, x1) }
        (y0, y1) = Self.padded(y0, y1)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let px = { (x: Double) in left + (tx(x) - x0) / max(x1 - x0, 1e-12) * plotWidth }
        let py = { (y: Double) in top + (1 - (y - y0) / max(y1 - y0, 1e-12)) * plotHeight }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="22" text-anchor="middle" font-size="15">\(Self.escaped(title))</text>

            """
        // Grid and tick labels.
        let xTicks: [Double] = logX ? stride(from: x0, through: x1, by: 1).map { pow(10, $0) } : Self.ticks(x0, x1)
        for x in xTicks {
            let p = px(x)
            svg += "<line x1=\"\(f(p))\" y1=\"\(f(top))\" x2=\"\(f(p))\" y2=\"\(f(top + plotHeight))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(f(p))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(Self.number(x))</text>\n"
        }
        for y in Self.ticks(y0, y1) {
            let p = py(y)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(p))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(p))\" stroke=\"#e4e4e4\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(p + 4))\" text-anchor=\"end\">\(Self.number(y))</text>\n"
        }
        svg += "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#888\"/>\n"
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 14))\" text-anchor=\"middle\">\(Self.escaped(xLabel))</text>\n"
        svg += "<text transform=\"translate(18 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(Self.escaped(yLabel))</text>\n"
        // Series, then the legend.
        for s in series {
            switch s.style {
            case .line:
                let path = s.points.sorted { $0.x < $1.x }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                svg += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"/>\n"
                for p in s.points { svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(s.color)\"/>\n" }
            case .dots, .points:
                let (radius, opacity) = s.style == .dots ? (2.5, 0.45) : (3.5, 1.0)
                for p in s.points { svg += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"\(radius)\" fill=\"\(s.color)\" fill-opacity=\"\(opacity)\"/>\n" }
            case .markers:
                for p in s.points {
                    let (x, y) = (px(p.x), py(p.y))
                    svg += "<rect x=\"\(f(x - 5))\" y=\"\(f(y - 5))\" width=\"10\" height=\"10\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\"/>\n"
                }
            }
            for p in s.points { if let label = p.label {
                svg += "<text x=\"\(f(px(p.x) + 8))\" y=\"\(f(py(p.y) - 6))\" fill=\"\(s.color)\">\(Self.escaped(label))</text>\n"
            } }
        }
        for (i, s) in series.enumerated() {
            let y = top + 14 + Double(i) * 20, x = left + plotWidth + 16
            svg += "<rect x=\"\(f(x))\" y=\"\(f(y - 9))\" width=\"12\" height=\"12\" fill=\"\(s.color)\"/>\n"
            svg += "<text x=\"\(f(x + 18))\" y=\"\(f(y + 1))\">\(Self.escaped(s.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    private static func padded(_ a: Double, _ b: Double) -> (Double, Double) {
        let span = max(b - a, abs(b) * 0.01, 1e-6)
        return (a - span * 0.05, b + span * 0.05)
    }

    /// Five to ten round ticks between a and b.
    private static func ticks(_ a: Double, _ b: Double) -> [Double] {
        let raw = (b - a) / 8
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        return stride(from: ceil(a / step) * step, through: b, by: step).map { $0 }
    }

    private static func number(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e6 { return String(Int(v)) }
        return String(format: abs(v) < 0.01 ? "%.3g" : "%.3f", v).replacingOccurrences(of: #"0+$"#, with: "", options: .regularExpression)
    }

    private static func escaped(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    package func write(to path: String) throws {
        try render().write(toFile: path, atomically: true, encoding: .utf8)
    }
}
