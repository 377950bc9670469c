// The confusion matrix as a heatmap.
import Evaluation
import Foundation

/// Rows the true class, columns the predicted class, in class-index order. A cell's colour is its row-normalised
/// fraction (the share of the true class's images predicted as the column's class) on `ColorScale`, with a colour
/// bar; counts are printed in cells large enough for them. Sizes follow the class count: cells of
/// `min(64, 2000 / classes)` whole pixels (so at most 2,000 px of matrix up to 2,000 classes; beyond, fractional
/// cells in 2,000 px), label fonts of 9-13 px, names ellipsised past 220 px; when rows are too thin for a label
/// each, every k-th class is named and the picture says so.
enum ConfusionChart {
    static let maxLabelWidth = 220.0
    static let margin = 24.0

    /// Where the matrix is in a drawing: its top-left corner and the cell size, in pixels.
    struct Placement {
        let matrixLeft: Double
        let matrixTop: Double
        let cell: Double
    }

    static func drawing(_ result: EvaluationResult, title: String) -> Drawing { plot(result, title: title).drawing }

    static func plot(_ result: EvaluationResult, title: String) -> (drawing: Drawing, placement: Placement?) {
        let classes = result.classes
        let c = classes.count
        let description = "Confusion matrix of \(result.n) images over \(c) classes; rows: true class, columns: "
            + "predicted class, in this order: "
            + classes.enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: "; ")
        guard c > 0 else { return (emptyDrawing(title: title, description: description), nil) }

        // Sizes from the class count.
        let cell: Double = c <= 2000 ? Double(min(64, max(1, 2000 / c))) : 2000 / Double(c)
        let side = cell * Double(c)
        let labelFont = Font(size: min(13, max(9, (cell * 0.65).rounded())))
        let countFont = Font(size: min(18, max(7, (cell * 0.45).rounded())))
        let titleFont = Font(size: 18, bold: true)
        let noteFont = Font(size: 12)
        let axisFont = Font(size: 13, bold: true)
        let tickFont = Font(size: 11)

        let rowSums = result.confusion.map { $0.reduce(0, +) }
        let emptyRows = rowSums.filter { $0 == 0 }.count

        struct Layout {
            var labelStep = 1
            var labelWidth = 0.0
            var labelHeight = 0.0
            var axisHeight = 0.0
            var titleHeight = 0.0
            var noteHeight = 0.0
            var notes: [String] = []
            var countWidths: [Int: Double] = [:]
            var titleWidth = 0.0
            var notesWidth = 0.0
            var tickWidth = 0.0
            var tickHeight = 0.0
            var zeroImagesWidth = 0.0
        }
        var notes = ["\(result.n) images, \(c) classes. Rows: true class; columns: predicted class.",
                     "Colour: fraction of the true class's images predicted as the column's class (row-normalised)"
                         + (cell >= 16 ? "; numbers: image counts." : ".")]
        let layout: Layout = Drawing.measuring { canvas in
            var l = Layout()
            l.labelHeight = canvas.measure("Ag", labelFont).height
            let pitch = l.labelHeight * 1.1
            l.labelStep = cell >= pitch ? 1 : Int((pitch / cell).rounded(.up))
            for i in stride(from: 0, to: c, by: l.labelStep) {
                l.labelWidth = max(l.labelWidth, canvas.measure(classes[i], labelFont, maxWidth: maxLabelWidth).width)
            }
            if l.labelStep > 1 {
                let shown = (c + l.labelStep - 1) / l.labelStep
                notes.append("Names of every \(ordinal(l.labelStep)) class on the axes (\(shown) of \(c)); all names "
                             + "are in index.html and in this picture's SVG description.")
            }
            if emptyRows > 0 { notes.append("Grey rows: classes without images (\(emptyRows)).") }
            l.notes = notes
            l.axisHeight = canvas.measure("Ag", axisFont).height
            l.titleHeight = canvas.measure(title, titleFont).height
            l.noteHeight = canvas.measure("Ag", noteFont).height
            l.titleWidth = canvas.measure(title, titleFont).width
            for note in notes { l.notesWidth = max(l.notesWidth, canvas.measure(note, noteFont).width) }
            if cell >= 16 {
                for digits in 1...String(result.n).count {
                    l.countWidths[digits] = canvas.measure(String(repeating: "8", count: digits), countFont).width
                }
            }
            l.tickWidth = canvas.measure("0.75", tickFont).width
            l.tickHeight = canvas.measure("0", tickFont).height
            l.zeroImagesWidth = canvas.measure("0 images", tickFont).width
            return l
        }

        // Geometry.
        let headerBottom = margin + layout.titleHeight + 6 + Double(layout.notes.count) * (layout.noteHeight + 2) + 16
        let matrixTop = headerBottom + layout.axisHeight + 8 + layout.labelWidth + 6
        let matrixLeft = margin + layout.axisHeight + 10 + layout.labelWidth + 6
        let barLeft = matrixLeft + side + 28, barWidth = 16.0
        let barHeight = min(max(side, 140), 320)
        let swatchTop = matrixTop + barHeight + 14
        let captionX = barLeft + barWidth + 6 + layout.tickWidth + 8
        let legendRight = max(captionX + layout.tickHeight, barLeft + barWidth + 6 + layout.zeroImagesWidth)
        // A long title is ellipsised at the chart's width (at least 640 px).
        let titleMax = max(legendRight - margin, 640)
        let width = max(legendRight, margin + max(layout.notesWidth, min(layout.titleWidth, titleMax))) + margin
        let height = max(matrixTop + side, swatchTop + 14 + layout.tickHeight) + margin

        let placement = Placement(matrixLeft: matrixLeft, matrixTop: matrixTop, cell: cell)
        let drawing = Drawing(width: Int(width.rounded(.up)), height: Int(height.rounded(.up)), title: title,
                              description: description) { canvas in
            // Title and notes.
            canvas.text(title, x: margin, y: margin, titleFont, .text, maxWidth: titleMax)
            var y = margin + layout.titleHeight + 6
            for note in layout.notes {
                canvas.text(note, x: margin, y: y, noteFont, .secondaryText)
                y += layout.noteHeight + 2
            }

            // Axis titles.
            canvas.text("Predicted class", x: matrixLeft + side / 2, y: headerBottom, axisFont, .text, align: .center)
            canvas.text("True class", x: margin, y: matrixTop + side / 2, axisFont, .text, align: .center,
                        angle: -Double.pi / 2)

            // Cells: empty rows grey, non-empty cells coloured by their row fraction (empty cells stay white).
            for (t, row) in result.confusion.enumerated() {
                let top = matrixTop + Double(t) * cell
                if rowSums[t] == 0 {
                    canvas.fillRect(matrixLeft, top, side, cell, Color(hex: 0xEEF0F2))
                    continue
                }
                for (p, count) in row.enumerated() where count > 0 {
                    canvas.fillRect(matrixLeft + Double(p) * cell, top, cell, cell,
                                    ColorScale.cellColor(fraction: Double(count) / Double(rowSums[t])))
                }
            }
            if cell >= 6 {
                for i in 1..<max(c, 1) {
                    let o = (Double(i) * cell).rounded() + 0.5
                    canvas.line(matrixLeft + o, matrixTop, matrixLeft + o, matrixTop + side, .grid, width: 1)
                    canvas.line(matrixLeft, matrixTop + o, matrixLeft + side, matrixTop + o, .grid, width: 1)
                }
            }
            canvas.strokeRect(matrixLeft - 1, matrixTop - 1, side + 2, side + 2, .frame)

            // Counts.
            if cell >= 16 {
                for (t, row) in result.confusion.enumerated() where rowSums[t] > 0 {
                    for (p, count) in row.enumerated() where count > 0 {
                        let digits = String(count)
                        guard let w = layout.countWidths[digits.count], w <= cell - 3 else { continue }
                        let fill = ColorScale.cellColor(fraction: Double(count) / Double(rowSums[t]))
                        let ink = fill.luminance < 0.35 ? Color.white : Color.text
                        let h = countFont.size * 1.17
                        canvas.text(digits, x: matrixLeft + (Double(p) + 0.5) * cell,
                                    y: matrixTop + (Double(t) + 0.5) * cell - h / 2, countFont, ink, align: .center)
                    }
                }
            }

            // Class names: rows to the left (right-aligned), columns above (reading upwards).
            for i in stride(from: 0, to: c, by: layout.labelStep) {
                let centre = (Double(i) + 0.5) * cell
                canvas.text(classes[i], x: matrixLeft - 6, y: matrixTop + centre - layout.labelHeight / 2, labelFont,
                            .text, align: .right, maxWidth: maxLabelWidth)
                canvas.text(classes[i], x: matrixLeft + centre - layout.labelHeight / 2, y: matrixTop - 6, labelFont,
                            .text, maxWidth: maxLabelWidth, angle: -Double.pi / 2)
                if layout.labelStep > 1 {
                    canvas.line(matrixLeft - 4, matrixTop + centre, matrixLeft - 1, matrixTop + centre, .frame)
                    canvas.line(matrixLeft + centre, matrixTop - 4, matrixLeft + centre, matrixTop - 1, .frame)
                }
            }

            // Colour bar: the fraction 0 (bottom) to 1 (top), then the swatch of an empty cell.
            let slices = Int(barHeight)
            for s in 0..<slices {
                let f = (Double(s) + 0.5) / Double(slices)
                canvas.fillRect(barLeft, matrixTop + barHeight - Double(s + 1), barWidth, 1,
                                ColorScale.cellColor(fraction: max(f, 1e-9)))
            }
            canvas.strokeRect(barLeft - 1, matrixTop - 1, barWidth + 2, barHeight + 2, .frame)
            for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
                let ty = matrixTop + barHeight * (1 - tick)
                canvas.line(barLeft + barWidth + 1, ty, barLeft + barWidth + 4, ty, .frame)
                canvas.text(tick == 0 ? "0" : tick == 1 ? "1" : String(tick), x: barLeft + barWidth + 6,
                            y: ty - layout.tickHeight / 2, tickFont, .text)
            }
            canvas.text("fraction of the row", x: captionX,
                        y: matrixTop + barHeight / 2, tickFont, .secondaryText, align: .center,
                        angle: -Double.pi / 2)
            canvas.fillRect(barLeft, swatchTop, barWidth, 12, .white)
            canvas.strokeRect(barLeft - 1, swatchTop - 1, barWidth + 2, 14, .frame)
            canvas.text("0 images", x: barLeft + barWidth + 6, y: swatchTop + 6 - layout.tickHeight / 2, tickFont,
                        .text)
        }
        return (drawing, placement)
    }

    private static func emptyDrawing(title: String, description: String) -> Drawing {
        Drawing(width: 480, height: 120, title: title, description: description) { canvas in
            canvas.text(title, x: margin, y: margin, Font(size: 18, bold: true), .text, maxWidth: 480 - 2 * margin)
            canvas.text("No classes: nothing to show.", x: margin, y: margin + 36, Font(size: 13), .secondaryText)
        }
    }
}

/// "2nd", "3rd", "11th", "21st".
func ordinal(_ k: Int) -> String {
    let suffix: String
    switch (k % 10, k % 100) {
    case (_, 11...13): suffix = "th"
    case (1, _): suffix = "st"
    case (2, _): suffix = "nd"
    case (3, _): suffix = "rd"
    default: suffix = "th"
    }
    return "\(k)\(suffix)"
}
