import Foundation

/// A CSV field (RFC 4180): quoted when it holds a comma or a quote.
public func csvQuoted(_ s: String) -> String {
    s.contains(",") || s.contains("\"") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}
