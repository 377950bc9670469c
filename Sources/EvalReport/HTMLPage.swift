// index.html of the report: one self-contained page (inline CSS, no scripts, no external assets).
import Evaluation
import Foundation

enum HTMLPage {
    static func render(_ result: EvaluationResult, title: String, details: [(String, String)],
                       pairs: [ConfusedPair], chartSizes: [String: (width: Int, height: Int)]) -> String {
        func size(_ chart: String) -> String {
            chartSizes[chart].map { " width=\"\($0.width)\" height=\"\($0.height)\"" } ?? ""
        }
        let e = Markup.escape
        let classes = result.classes
        let title = title.isEmpty ? "Evaluation report" : title
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(e(title))</title>
        <style>
        \(css)
        </style>
        </head>
        <body>
        <h1>\(e(title))</h1>

        """

        // Summary.
        let correct1 = result.records.filter { $0.predictedClass == $0.trueClass }.count
        let correct5 = result.records.filter { $0.topClasses.prefix(5).contains($0.trueClass) }.count
        let withImages = result.perClass.filter { $0.n > 0 }.count
        // " (67 of 125)", when the records are the ones counted.
        func counted(_ k: Int) -> String { result.records.count == result.n ? " (\(k) of \(result.n))" : "" }
        var summary: [(String, String)] = [
            ("Images", "\(result.n)"),
            ("Top-1 accuracy", percent(result.top1) + counted(correct1)),
            ("Top-5 accuracy", percent(result.top5) + counted(correct5)),
            ("Mean per-class recall",
             "\(percent(result.meanPerClassRecall)) (over \(withImages) classes with images)"),
            ("Classes", "\(classes.count)"),
        ]
        summary += details
        h += "<table class=\"summary\">\n"
        for (key, value) in summary { h += "<tr><th>\(e(key))</th><td>\(e(value))</td></tr>\n" }
        h += "</table>\n"

        h += """
        <nav><a href="#confusion">Confusion matrix</a> · <a href="#recall">Per-class recall</a> · \
        <a href="#pairs">Most confused pairs</a> · <a href="#classes">Per-class metrics</a></nav>

        <h2 id="confusion">Confusion matrix</h2>
        <p>Rows: true class; columns: predicted (top-1) class. Colour: the fraction of the true class's images \
        predicted as the column's class. Full size: <a href="confusion.png">PNG</a>, \
        <a href="confusion.svg">SVG</a>.</p>
        <a class="chart" href="confusion.png"><img src="confusion.png"\(size("confusion")) \
        alt="Confusion matrix heatmap of \(classes.count) classes"></a>

        <h2 id="recall">Per-class recall</h2>
        <p>Worst first; classes without images last. Full size: <a href="recall.png">PNG</a>, \
        <a href="recall.svg">SVG</a>.</p>
        <a class="chart" href="recall.png"><img src="recall.png"\(size("recall")) \
        alt="Per-class recall bar chart"></a>

        <h2 id="pairs">Most confused pairs</h2>

        """

        // Most confused pairs.
        if pairs.isEmpty {
            h += "<p>No image was predicted as another class.</p>\n"
        } else {
            h += "<p>Images of the true class predicted (top-1) as the other, most images first; up to "
                + "\(EvalReport.examplesPerPair) examples each, in dataset order.</p>\n"
        }
        for pair in pairs {
            let n = result.perClass[pair.trueClass].n
            h += "<section class=\"pair\">\n<h3><span class=\"true\">\(e(classes[pair.trueClass]))</span> "
                + "<span class=\"arrow\">→</span> <span class=\"pred\">\(e(classes[pair.predictedClass]))</span>"
                + "</h3>\n"
            let share = percent(Double(pair.count) / Double(max(n, 1)))
            h += "<p>\(pair.count) of \(n) image\(n == 1 ? "" : "s") (\(share))</p>\n"
            h += "<div class=\"thumbs\">\n"
            for thumbnail in pair.thumbnails {
                let r = thumbnail.record
                let predictedScore = r.topScores.first.map { String(format: "%.3f", $0) } ?? "?"
                let caption = "\(e(r.image))<br><span class=\"score\">score: predicted \(predictedScore), "
                    + "true \(String(format: "%.3f", r.trueScore))</span>"
                if let file = thumbnail.file {
                    // Shown with its long side at the thumbnail size: small images (CIFAR's 32 px) enlarged,
                    // pixelated.
                    let scale = Double(EvalReport.thumbnailSize) / Double(max(thumbnail.width, thumbnail.height, 1))
                    let w = Int((Double(thumbnail.width) * scale).rounded())
                    let ht = Int((Double(thumbnail.height) * scale).rounded())
                    let img = "<img src=\"\(e(file))\" width=\"\(w)\" height=\"\(ht)\" alt=\"\(e(r.image))\""
                        + (scale > 1 ? " class=\"enlarged\"" : "") + ">"
                    let linked = thumbnail.source.map {
                        "<a href=\"\(e($0.absoluteString))\" title=\"\(e(r.location))\">\(img)</a>"
                    } ?? img
                    h += "<figure>\(linked)<figcaption>\(caption)</figcaption></figure>\n"
                } else {
                    h += "<figure class=\"missing\"><div class=\"placeholder\">image unavailable</div>"
                        + "<figcaption>\(caption)<br><span class=\"note\">\(e(thumbnail.problem ?? ""))</span>"
                        + "</figcaption></figure>\n"
                }
            }
            h += "</div>\n</section>\n"
        }

        // Per-class table, in class order.
        h += """
        <h2 id="classes">Per-class metrics</h2>
        <table class="classes">
        <thead><tr><th class="num">#</th><th>Class</th><th class="num">n</th><th class="num">Precision</th>\
        <th class="num">Recall</th><th></th></tr></thead>
        <tbody>

        """
        for (k, m) in result.perClass.enumerated() {
            let width = String(format: "%.1f", m.recall * 100)
            let bar = m.n > 0 ? "<span class=\"bar\" style=\"width:\(width)%\"></span>" : ""
            h += "<tr\(m.n == 0 ? " class=\"empty\"" : "")><td>\(k)</td><td>\(e(classes[k]))</td><td>\(m.n)</td>"
                + "<td>\(String(format: "%.3f", m.precision))</td>"
                + "<td>\(m.n > 0 ? String(format: "%.3f", m.recall) : "–")</td>"
                + "<td class=\"barcell\">\(bar)</td></tr>\n"
        }
        h += "</tbody>\n</table>\n"
        h += "<p class=\"foot\">Precision and recall of top-1 predictions; 0 where nothing was predicted as the "
            + "class. Rows without images are greyed.</p>\n</body>\n</html>\n"
        return h
    }

    /// "87.50 %".
    static func percent(_ value: Double) -> String { String(format: "%.2f %%", value * 100) }

    static let css = """
    :root { color-scheme: light; }
    body { font: 15px/1.45 "DejaVu Sans", system-ui, sans-serif; color: #1f2328; margin: 2rem auto; max-width: 1200px;
      padding: 0 1.25rem; background: #fff; }
    h1 { font-size: 1.6rem; margin: 0 0 1rem; overflow-wrap: anywhere; }
    h2 { font-size: 1.25rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid #d0d7de; padding-bottom: .3rem; }
    h3 { font-size: 1rem; margin: 0 0 .2rem; overflow-wrap: anywhere; }
    p { margin: .4rem 0 .8rem; color: #424a53; }
    a { color: #0969da; }
    nav { margin: 1rem 0; }
    table { border-collapse: collapse; }
    table.summary th { text-align: left; font-weight: 600; padding: .25rem 1.5rem .25rem 0; vertical-align: top;
      white-space: nowrap; }
    table.summary td { padding: .25rem 0; overflow-wrap: anywhere; }
    table.summary tr + tr { border-top: 1px solid #eaeef2; }
    a.chart { display: block; overflow-x: auto; }
    a.chart img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
    section.pair { margin: 1rem 0 1.6rem; }
    .arrow { color: #8c959f; padding: 0 .3rem; }
    .pred { color: #b35900; }
    .thumbs { display: flex; flex-wrap: wrap; gap: .75rem; }
    figure { margin: 0; width: 170px; }
    figure img { display: block; border: 1px solid #d0d7de; }
    figure img.enlarged { image-rendering: pixelated; }
    figcaption { font-size: .78rem; color: #57606a; overflow-wrap: anywhere; margin-top: .25rem; }
    .score { color: #1f2328; }
    .placeholder { width: 160px; height: 120px; display: flex; align-items: center; justify-content: center;
      background: repeating-linear-gradient(45deg, #f6f8fa, #f6f8fa 8px, #eaeef2 8px, #eaeef2 16px);
      border: 1px dashed #8c959f; color: #57606a; font-size: .85rem; }
    .note { color: #cf222e; }
    table.classes { width: 100%; font-size: .9rem; }
    table.classes th { text-align: left; border-bottom: 2px solid #d0d7de; padding: .3rem .6rem; }
    table.classes td { border-bottom: 1px solid #eaeef2; padding: .2rem .6rem; overflow-wrap: anywhere; }
    table.classes td:nth-child(1), table.classes td:nth-child(3), table.classes td:nth-child(4),
    table.classes td:nth-child(5) { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    table.classes th.num { text-align: right; }
    table.classes tr.empty td { color: #8c959f; }
    td.barcell { width: 25%; }
    .bar { display: block; height: .7rem; background: #3b77b0; border-radius: 2px; }
    .foot { font-size: .85rem; color: #57606a; }
    """
}
