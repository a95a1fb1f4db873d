/// A line chart drawn as inline SVG: a value per time bucket (or per point of a numeric x axis)
/// for each series, labelled axes, a legend, and shaded windows (incidents). A value that is not
/// finite (no data) is a gap in its line. Deterministic text: the same data give the same bytes.
public struct LineChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]
        /// Drawn dashed (bounds, such as a confidence interval's).
        public var dashed: Bool
        /// Drawn in the colour of another series (a bound in its line's colour).
        public var colourOf: Int?

        public init(_ name: String, _ values: [Double], dashed: Bool = false, colourOf: Int? = nil) {
            self.name = name
            self.values = values
            self.dashed = dashed
            self.colourOf = colourOf
        }
    }

    /// An x axis of numbers rather than evenly spaced labels: each point's position, and the
    /// positions to label.
    public struct NumericAxis: Sendable {
        public var positions: [Double]
        public var ticks: [(Double, String)]

        public init(positions: [Double], ticks: [(Double, String)]) {
            self.positions = positions
            self.ticks = ticks
        }
    }

    public struct Shade: Sendable {
        public var from: Int
        public var to: Int
        public var label: String

        public init(from: Int, to: Int, label: String) {
            self.from = from
            self.to = to
            self.label = label
        }
    }

    public var title: String
    /// The y axis's quantity and unit, e.g. "Gbit/s".
    public var unit: String
    /// A label per bucket (the x axis), e.g. "21:00".
    public var labels: [String]
    public var series: [Series]
    public var shades: [Shade]
    /// A numeric x axis instead of `labels`.
    public var x: NumericAxis?

    public init(title: String, unit: String, labels: [String], series: [Series], shades: [Shade] = [], x: NumericAxis? = nil) {
        self.title = title
        self.unit = unit
        self.labels = labels
        self.series = series
        self.shades = shades
        self.x = x
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
    static let width = 760.0, height = 250.0
    static let left = 70.0, right = 16.0, top = 40.0, bottom = 40.0

    /// The chart as an `<svg>` element.
    public var svg: String {
        let w = LineChart.width, h = LineChart.height
        let plotW = w - LineChart.left - LineChart.right, plotH = h - LineChart.top - LineChart.bottom
        let n = max(labels.count, series.map(\.values.count).max() ?? 0)
        let maximum = series.flatMap(\.values).filter(\.isFinite).max() ?? 0
        let (top, step) = LineChart.niceScale(maximum)
        let xLow = self.x?.positions.min() ?? 0, xHigh = self.x?.positions.max() ?? Double(max(n - 1, 0))
        /// The x coordinate of point `i`.
        func x(_ i: Double) -> Double {
            let position = self.x.map { i < Double($0.positions.count) ? $0.positions[Int(i)] : xHigh } ?? i
            return xAt(position)
        }
        func xAt(_ position: Double) -> Double { LineChart.left + (xHigh > xLow ? (position - xLow) / (xHigh - xLow) : 0.5) * plotW }
        func y(_ v: Double) -> Double { LineChart.top + plotH - (top > 0 ? v / top : 0) * plotH }
        let decimals = LineChart.decimals(step)
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(w)) \(f(h))\" width=\"\(f(w))\" height=\"\(f(h))\" role=\"img\" "
        out += "aria-label=\"\(escape(title))\">\n"
        out += "<text x=\"\(f(LineChart.left))\" y=\"16\" class=\"title\">\(escape(title))</text>\n"
        // Shaded windows first, under the lines.
        for shade in shades where n > 0 {
            let x0 = x(Double(max(0, shade.from))), x1 = x(Double(min(n - 1, max(shade.from, shade.to))))
            out += "<rect x=\"\(f(x0))\" y=\"\(f(LineChart.top))\" width=\"\(f(max(2, x1 - x0)))\" height=\"\(f(plotH))\" class=\"shade\"/>\n"
            out += "<text x=\"\(f(x0 + 2))\" y=\"\(f(LineChart.top + 11))\" class=\"shade-label\">\(escape(shade.label))</text>\n"
        }
        // Y axis: gridlines and values.
        var v = 0.0
        while v <= top * (1 + 1e-9) && step > 0 {
            out += "<line x1=\"\(f(LineChart.left))\" y1=\"\(f(y(v)))\" x2=\"\(f(w - LineChart.right))\" y2=\"\(f(y(v)))\" class=\"grid\"/>\n"
            out += "<text x=\"\(f(LineChart.left - 6))\" y=\"\(f(y(v) + 4))\" class=\"tick\" text-anchor=\"end\">\(LineChart.compact(v, decimals: decimals))</text>\n"
            v += step
        }
        out += "<text x=\"12\" y=\"\(f(LineChart.top + plotH / 2))\" class=\"axis\" transform=\"rotate(-90 12 \(f(LineChart.top + plotH / 2)))\" "
        out += "text-anchor=\"middle\">\(escape(unit))</text>\n"
        // X axis: the numeric axis's ticks, or at most eight labels.
        if let axis = self.x {
            for (position, label) in axis.ticks {
                out += "<text x=\"\(f(xAt(position)))\" y=\"\(f(h - LineChart.bottom + 16))\" class=\"tick\" text-anchor=\"middle\">\(escape(label))</text>\n"
            }
        } else if n > 0 {
            let every = max(1, Int((Double(n) / 8).rounded(.up)))
            for i in stride(from: 0, to: n, by: every) where i < labels.count {
                out += "<text x=\"\(f(x(Double(i))))\" y=\"\(f(h - LineChart.bottom + 16))\" class=\"tick\" text-anchor=\"middle\">\(escape(labels[i]))</text>\n"
            }
        }
        out += "<line x1=\"\(f(LineChart.left))\" y1=\"\(f(LineChart.top + plotH))\" x2=\"\(f(w - LineChart.right))\" y2=\"\(f(LineChart.top + plotH))\" class=\"axisline\"/>\n"
        // Series, a polyline per run of finite values.
        for (k, s) in series.enumerated() {
            let colour = LineChart.palette[(s.colourOf ?? k) % LineChart.palette.count]
            let dash = s.dashed ? " stroke-dasharray=\"5 3\"" : ""
            var run: [String] = []
            func flush() {
                if run.count == 1 { run.append(run[0]) }
                if !run.isEmpty {
                    out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.6\"\(dash) points=\"\(run.joined(separator: " "))\"/>\n"
                }
                run.removeAll()
            }
            for (i, value) in s.values.enumerated() {
                if value.isFinite { run.append("\(f(x(Double(i)))),\(f(y(value)))") } else { flush() }
            }
            flush()
        }
        // Legend, along the top.
        var lx = LineChart.left
        for (k, s) in series.enumerated() {
            let colour = LineChart.palette[(s.colourOf ?? k) % LineChart.palette.count]
            if s.dashed {
                out += "<line x1=\"\(f(lx))\" y1=\"27\" x2=\"\(f(lx + 10))\" y2=\"27\" stroke=\"\(colour)\" stroke-width=\"1.6\" stroke-dasharray=\"3 2\"/>"
            } else {
                out += "<rect x=\"\(f(lx))\" y=\"22\" width=\"10\" height=\"10\" fill=\"\(colour)\"/>"
            }
            out += "<text x=\"\(f(lx + 14))\" y=\"31\" class=\"legend\">\(escape(s.name))</text>\n"
            lx += 24 + Double(s.name.count) * 6.5
        }
        return out + "</svg>\n"
    }

    /// A round upper bound and step for an axis from 0 to `maximum` (about five steps of 1, 2 or 5 × 10ⁿ).
    static func niceScale(_ maximum: Double) -> (top: Double, step: Double) {
        guard maximum > 0 else { return (1, 0.25) }
        var magnitude = 1.0
        while magnitude * 10 <= maximum / 5 { magnitude *= 10 }
        while magnitude > maximum / 5 { magnitude /= 10 }
        for m in [1.0, 2, 5, 10] where magnitude * m * 5 >= maximum {
            let step = magnitude * m
            return ((maximum / step).rounded(.up) * step, step)
        }
        return (maximum, maximum / 5)
    }

    /// 1234 → "1.2k", 0.25 → "0.25"; below 10,000 with `decimals` decimals (an axis's ticks all
    /// with the precision its step needs: 0.002, 0.004, not 0.00, 0.00).
    static func compact(_ v: Double, decimals: Int = 2) -> String {
        let a = abs(v)
        if a >= 1e9 { return trim(v / 1e9) + "G" }
        if a >= 1e6 { return trim(v / 1e6) + "M" }
        if a >= 1e4 { return trim(v / 1e3) + "k" }
        return fixed(v, decimals: decimals)
    }

    /// The decimals a tick step needs to be written exactly (0.25 → 2, 0.002 → 3, 5 → 0).
    static func decimals(_ step: Double) -> Int {
        var scaled = step
        for d in 0..<9 {
            if abs(scaled - scaled.rounded()) <= 1e-9 * max(1, abs(scaled)) { return d }
            scaled *= 10
        }
        return 9
    }

    /// `v` with exactly `decimals` decimals, without Foundation's locale.
    static func fixed(_ v: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let n = Int64((v * scale).rounded())
        let digits = String(n.magnitude)
        guard decimals > 0 else { return (n < 0 ? "-" : "") + digits }
        let padded = String(repeating: "0", count: max(0, decimals + 1 - digits.count)) + digits
        return (n < 0 ? "-" : "") + padded.dropLast(decimals) + "." + padded.suffix(decimals)
    }

    public static func trim(_ v: Double) -> String {
        var s = Tolerance.trim(v)
        if let dot = s.firstIndex(of: "."), s.distance(from: dot, to: s.endIndex) > 3 { s = String(s[..<s.index(dot, offsetBy: 3)]) }
        return s
    }

    /// A coordinate with one decimal.
    func f(_ x: Double) -> String {
        let n = Int64((x * 10).rounded())
        return "\(n < 0 ? "-" : "")\(n.magnitude / 10).\(n.magnitude % 10)"
    }
}

/// Text safe inside HTML and SVG.
public func escape(_ text: String) -> String {
    var out = ""
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}

