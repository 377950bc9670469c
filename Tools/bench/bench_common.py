"""Helpers shared by the bench scripts; standard library only (load_test.py's tests run without numpy or torch)."""
import platform
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path


def log(message):
    """A progress line on standard error, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values):
    """The median of the values that are not None; None when there are none."""
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cpu_model():
    """The CPU's model name as /proc/cpuinfo gives it ("AMD EPYC"), else platform.processor(), else "unknown"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def stop_process(process, grace=10):
    """SIGTERM, then SIGKILL after `grace` seconds; returns (exit code, seconds it took to exit)."""
    if process.poll() is not None:
        return process.returncode, 0.0
    began = time.monotonic()
    try:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except ProcessLookupError:
        pass
    return process.returncode, time.monotonic() - began
