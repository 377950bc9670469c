"""Hypothesis-template fixtures: Python's str.format with the label as the one positional argument.

The zero-shot-image-classification pipeline builds each text as `hypothesis_template.format(label)`. This writes
Tests/Fixtures/templates.json: {python, labels, cases: [{template, results: [text or null per label],
errors: [exception text or null per label]}]}, where null in `results` means Python raised.
Deterministic: fixed lists, no randomness.

    python Tools/reference/template_fixtures.py
"""
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "Tests" / "Fixtures" / "templates.json"

LABELS = [
    "cat",
    "a dog's bed",
    'say "cheese"',
    "both ' and \"",
    "back\\slash",
    "tab\tand\nnewline\r",
    "caf\u00e9 cr\u00e8me",
    "\u65e5\u672c\u8a9e",
    "emoji \U0001F431",
    "bell \x07 del \x7f",
    "zero\u200bwidth, nbsp\u00a0, line\u2028sep",
    "latin-1 \u00ad soft hyphen, private \ue000",
    "",
    ">5",
    "abcdefghijklmnopqrstuvwxyz",
]

TEMPLATES = [
    # plain and numbering
    "This is a photo of {}.", "{}", "{0}", "{00}", "{0} and {0}", "{} and {}", "{0} and {}", "{} and {0}",
    "{1}", "{name}", "{0a}", "{ }", "{-1}", "{0 }", "{\u0660}", "no placeholder", "",
    # braces
    "{{}}", "{{{}}}", "{{0}}", "{{", "}}", "{", "}", "a { b", "a } b", "{}}", "{{}", "}{}", "{}{",
    # conversions
    "{!r}", "{!s}", "{!a}", "{0!r}", "{!x}", "{!}", "{!r", "{!rr}", "{!r:}", "{!r:>30}", "{0!a:^40}", "{!s:.3}",
    # format spec for str
    "{:}", "{:>10}|", "{:<10}|", "{:^11}|", "{:*^11}|", "{:->12}|", "{:.3}", "{:10.3}|", "{:.0}|", "{:.}",
    "{:s}", "{:10s}|", "{:>5.2s}|", "{:<}", "{:^}", "{:d}", "{:x}", "{:%}", "{:=10}", "{:+}", "{:-}", "{: }",
    "{:#}", "{:z}", "{:05}|", "{:<05}|", "{:^06}|", "{:0<5}|", "{:,}", "{:_}", "{:,s}", "{:_x}", "{:>>5}|",
    "{: <7}|", "{:\t>5}|", "{:\u00e9<8}|", "{:\u0665}|", "{:ss}", "{:1000}|", "{:99999999999999999999}",
    "{:.99999999999999999999}",
    # nested replacement fields in the spec
    "{:}}", "{:{}}", "{0:{0}}", "{:{0}}", "{0:{}}", "{0:{0:{0}}}", "{:{{}}}", "{0:>{0}}",
    # indexing and attributes
    "{[0]}", "{0[1]}", "{0[0][0]}", "{0[2]}|{0[0]}", "{0[100]}", "{0[a]}", "{0[]}", "{0[}", "{0]}", "{0[0]x}",
    "{0.nonexistent}", "{0.}", "{0[:]}", "{[1]} {[2]}",
]


def main():
    cases = []
    for template in TEMPLATES:
        results, errors = [], []
        for label in LABELS:
            try:
                results.append(template.format(label))
                errors.append(None)
            except Exception as e:  # noqa: BLE001 - any exception means the template is invalid for this label
                results.append(None)
                errors.append(f"{type(e).__name__}: {e}")
        cases.append({"template": template, "results": results, "errors": errors})
    doc = {"generator": "Tools/reference/template_fixtures.py", "python": sys.version.split()[0],
           "labels": LABELS, "cases": cases}
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=True) + "\n")
    n_err = sum(r is None for c in cases for r in c["results"])
    print(f"{len(cases)} templates x {len(LABELS)} labels ({n_err} errors) -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
