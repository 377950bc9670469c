// Per-class recall as horizontal bars.
import Evaluation
import Foundation

/// One bar per class, worst first: classes with images by ascending recall (ties: class-index order), then the
/// classes without images (no bar). Each row shows the class name, the bar (recall 0 to 1), and "recall · n".
/// A dashed line marks the mean per-class recall. Rows are `min(24, max(2, 1600 / classes))` px high; when they
/// are too thin for a label each, every k-th row is named and the picture says so.
enum RecallChart {
    static let maxLabelWidth = 220.0
    static let margin = 24.0
    static let barAreaWidth = 560.0
    static let barColor = Color(hex: 0x3B77B0)

    /// Class indices in the chart's order (worst first, classes without images last).
    static func order(_ result: EvaluationResult) -> [Int] {
        let present = result.perClass.indices.filter { result.perClass[$0].n > 0 }
        let absent = result.perClass.indices.filter { result.perClass[$0].n == 0 }
        return present.sorted { a, b in
            let ra = result.perClass[a].recall, rb = result.perClass[b].recall
            return ra != rb ? ra < rb : a < b
        } + absent
    }

    static func drawing(_ result: EvaluationResult, title: String) -> Drawing {
        let classes = result.classes
        let c = classes.count
        let order = order(result)
        let description = "Per-class recall of \(c) classes, worst first: "
            + order.map { k in
                let m = result.perClass[k]
                return m.n > 0 ? "\(classes[k]) \(format(m.recall)) (n=\(m.n))" : "\(classes[k]) (no images)"
            }.joined(separator: "; ")

        let row = Double(min(24, max(2, 1600 / max(c, 1))))
        let labelFont = Font(size: min(13, max(9, (row * 0.6).rounded())))
        let valueFont = Font(size: max(9, labelFont.size - 1))
        let titleFont = Font(size: 18, bold: true)
        let noteFont = Font(size: 12)
        let tickFont = Font(size: 11)
        let present = result.perClass.filter { $0.n > 0 }.count
        guard c > 0 else {
            return Drawing(width: 480, height: 120, title: title, description: description) { canvas in
                canvas.text(title, x: margin, y: margin, titleFont, .text, maxWidth: 480 - 2 * margin)
                canvas.text("No classes: nothing to show.", x: margin, y: margin + 36, Font(size: 13), .secondaryText)
            }
        }

        struct Layout {
            var labelStep = 1
            var labelWidth = 0.0
            var labelHeight = 0.0
            var valueWidth = 0.0
            var titleHeight = 0.0
            var noteHeight = 0.0
            var tickHeight = 0.0
            var notes: [String] = []
            var titleWidth = 0.0
            var notesWidth = 0.0
        }
        let layout: Layout = Drawing.measuring { canvas in
            var l = Layout()
            l.labelHeight = canvas.measure("Ag", labelFont).height
            let pitch = l.labelHeight * 1.05
            l.labelStep = row >= pitch ? 1 : Int((pitch / row).rounded(.up))
            for i in stride(from: 0, to: c, by: l.labelStep) {
                l.labelWidth = max(l.labelWidth,
                                   canvas.measure(classes[order[i]], labelFont, maxWidth: maxLabelWidth).width)
            }
            l.notes = [present == 0
                ? "\(c) classes, none with images: no recall to show."
                : "\(c) classes, worst first\(present < c ? "; \(c - present) without images last" : ""). "
                    + "Bar: recall (top-1) of the class's images; dashed line: mean per-class recall "
                    + "\(format(result.meanPerClassRecall))."]
            if l.labelStep > 1 {
                let shown = (c + l.labelStep - 1) / l.labelStep
                l.notes.append("Names and values of every \(ordinal(l.labelStep)) row (\(shown) of \(c)); all are in "
                               + "index.html and in this picture's SVG description.")
            }
            if l.labelStep == 1 {
                l.valueWidth = canvas.measure("0.000 · n=\(result.perClass.map(\.n).max() ?? 0)", valueFont).width
            } else {
                l.valueWidth = canvas.measure("0.000 · n=\(result.perClass.map(\.n).max() ?? 0)", labelFont).width
            }
            l.titleHeight = canvas.measure(title, titleFont).height
            l.noteHeight = canvas.measure("Ag", noteFont).height
            l.tickHeight = canvas.measure("0", tickFont).height
            l.titleWidth = canvas.measure(title, titleFont).width
            for note in l.notes { l.notesWidth = max(l.notesWidth, canvas.measure(note, noteFont).width) }
            return l
        }

        let axisTop = margin + layout.titleHeight + 6 + Double(layout.notes.count) * (layout.noteHeight + 2) + 12
        let chartTop = axisTop + layout.tickHeight + 6
        let chartHeight = row * Double(c)
        let barLeft = margin + layout.labelWidth + 8
        let valueLeft = barLeft + barAreaWidth + 8
        // A long title is ellipsised at the chart's width (at least 640 px).
        let chartRight = valueLeft + layout.valueWidth
        let titleMax = max(chartRight - margin, 640)
        let width = max(chartRight, margin + max(layout.notesWidth, min(layout.titleWidth, titleMax))) + margin
        let height = chartTop + chartHeight + 6 + layout.tickHeight + 4 + layout.tickHeight + margin

        return Drawing(width: Int(width.rounded(.up)), height: Int(height.rounded(.up)), title: title,
                       description: description) { canvas in
            canvas.text(title, x: margin, y: margin, titleFont, .text, maxWidth: titleMax)
            var y = margin + layout.titleHeight + 6
            for note in layout.notes {
                canvas.text(note, x: margin, y: y, noteFont, .secondaryText)
                y += layout.noteHeight + 2
            }

            // Axis: ticks above and below, grid lines through the rows.
            for tick in stride(from: 0.0, through: 1.0, by: 0.2) {
                let x = (barLeft + tick * barAreaWidth).rounded() + 0.5
                canvas.line(x, chartTop, x, chartTop + chartHeight, .grid)
                let label = String(format: "%.1f", tick)
                canvas.text(label, x: x, y: axisTop, tickFont, .secondaryText, align: .center)
                canvas.text(label, x: x, y: chartTop + chartHeight + 6, tickFont, .secondaryText, align: .center)
            }

            // Bars (a gap between rows when they are tall enough), labels and values.
            let gap = row >= 8 ? (row * 0.2).rounded() : 0
            for (i, k) in order.enumerated() {
                let top = chartTop + Double(i) * row
                let m = result.perClass[k]
                if m.n > 0, m.recall > 0 {
                    canvas.fillRect(barLeft, top + gap / 2, m.recall * barAreaWidth, row - gap, barColor)
                }
                guard i % layout.labelStep == 0 else { continue }
                let font = layout.labelStep == 1 ? valueFont : labelFont
                let centre = top + row / 2
                canvas.text(classes[k], x: barLeft - 8, y: centre - layout.labelHeight / 2, labelFont, .text,
                            align: .right, maxWidth: maxLabelWidth)
                let value = m.n > 0 ? "\(format(m.recall)) · n=\(m.n)" : "no images"
                let valueHeight = layout.labelStep == 1 ? canvas.measure(value, font).height : layout.labelHeight
                canvas.text(value, x: valueLeft, y: centre - valueHeight / 2, font,
                            m.n > 0 ? .text : .secondaryText)
                if layout.labelStep > 1 { canvas.line(barLeft - 5, centre, barLeft - 1, centre, .frame) }
            }
            canvas.line(barLeft + 0.5, chartTop, barLeft + 0.5, chartTop + chartHeight, .frame)

            // Mean per-class recall.
            if present > 0 {
                let x = barLeft + result.meanPerClassRecall * barAreaWidth
                let accent = Color(hex: 0xC2410C)
                canvas.line(x, chartTop - 3, x, chartTop + chartHeight + 3, accent, width: 1.5, dash: [5, 3])
                canvas.text("mean \(format(result.meanPerClassRecall))", x: x,
                            y: chartTop + chartHeight + 6 + layout.tickHeight + 4, tickFont, accent, align: .center)
            }
        }
    }
}

/// A fraction with 3 decimals ("0.857").
func format(_ value: Double) -> String { String(format: "%.3f", value) }
