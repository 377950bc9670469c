"""Option checks of contention.py: bad values end with a one-line usage error (exit 2) before anything is built
or measured, instead of a traceback after minutes of measurements.

    python -m unittest Tools/bench/test_contention.py
"""
import subprocess
import sys
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "contention.py"


def run(*options):
    return subprocess.run([sys.executable, str(SCRIPT), "--skip-ort", *options], capture_output=True, text=True,
                          timeout=120)


class OptionTests(unittest.TestCase):
    def assertUsageError(self, options, message):
        result = run(*options)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(message, result.stderr.strip().splitlines()[-1])
        self.assertNotIn("Traceback", result.stderr)

    def test_batches(self):
        self.assertUsageError(["--batches", "1,abc"], "'abc' is not a number")
        self.assertUsageError(["--batches", ""], "'' is not a number")
        self.assertUsageError(["--batches", "0"], "0 is out of range (1-1024)")
        self.assertUsageError(["--batches", "1,2000"], "2000 is out of range (1-1024)")

    def test_threads(self):
        self.assertUsageError(["--threads", "0"], "--threads 0: give at least 1")
        self.assertUsageError(["--threads", "-3"], "--threads -3: give at least 1")

    def test_paths(self):
        self.assertUsageError(["--zeroshot", "/nonexistent/zeroshot"], "--zeroshot /nonexistent/zeroshot: no such executable")
        self.assertUsageError(["--baseline", "/nonexistent/zeroshot", "--zeroshot", sys.executable],
                              "--baseline /nonexistent/zeroshot: no such executable")
        self.assertUsageError(["--zeroshot", sys.executable, "--image", "/nonexistent.jpg"],
                              "--image /nonexistent.jpg: no such file")
        self.assertUsageError(["--zeroshot", sys.executable, "--checkpoint", "/nonexistent"],
                              "--checkpoint /nonexistent: not a checkpoint directory")

    def test_duplicate_batches_are_measured_once(self):
        sys.path.insert(0, str(SCRIPT.parent))
        import contention

        class Parser:
            def error(self, message):
                raise AssertionError(message)

        self.assertEqual(contention.parse_batches("16,1,16", Parser()), [16, 1])


if __name__ == "__main__":
    unittest.main()
