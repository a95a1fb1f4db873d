/// The parts every vodsim HTML page shares (run reports, sweeps): one self-contained page, no
/// scripts, no network, charts as inline SVG (`LineChart`).
public enum HTMLPage {
    /// From the doctype to the opening `<body>`.
    public static func head(title: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>\(escape(title))</title>
        <style>
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 800px; color: #222; }
        h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; margin: 8px 0; display: block; max-width: 100%; overflow-x: auto; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; } .met { color: #2a7a2a; } .missed { color: #b22222; font-weight: 600; } .nodata { color: #777; font-style: italic; }
        svg { display: block; margin: 12px 0; } svg .title { font-weight: 600; font-size: 13px; } svg .tick, svg .legend { font-size: 11px; fill: #444; }
        svg .axis { font-size: 11px; fill: #444; } svg .grid { stroke: #eee; } svg .axisline { stroke: #888; }
        svg .shade { fill: #f4d9d9; opacity: 0.6; } svg .shade-label { font-size: 10px; fill: #a33; }
        </style>
        </head>
        <body>

        """
    }

    public static let end = "</body>\n</html>\n"
}

extension TextTable {
    /// The table as HTML, numeric columns right-aligned.
    public var html: String {
        var out = "<table>\n<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
        for row in rows {
            out += "<tr>" + row.enumerated().map { i, cell in
                "<td\(rightAligned.contains(i) ? " class=\"num\"" : "")>\(escape(cell))</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }
}
