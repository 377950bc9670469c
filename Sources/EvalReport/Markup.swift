// Escaping for HTML and XML (the report page, the SVG's <title>/<desc>).

enum Markup {
    /// `text` safe as HTML/XML character data and as a quoted attribute value: `& < > " '` as references;
    /// characters XML 1.0 forbids (C0 controls other than tab, line feed and carriage return; U+FFFE, U+FFFF)
    /// become U+FFFD.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
