"""Helpers shared by the bench scripts; standard library only (load_test.py's tests run without numpy or torch)."""
import statistics
import sys
import time


def log(message):
    """A progress line on standard error, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values):
    """The median of the values that are not None; None when there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None
