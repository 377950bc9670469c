"""Checks of load_test.py without a model: its HTTP/1.1 client, answer checks and error counting against a small
stand-in server on loopback, the log-line parsing that finds a started server's port, and its option checks.

    python -m unittest Tools/bench/test_load_test.py
"""
import asyncio
import contextlib
import io
import json
import subprocess
import sys
import threading
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import load_test  # noqa: E402

LABELS = ["cat", "dog", "rocket"]


class StandIn:
    """An HTTP/1.1 server on 127.0.0.1 answering the two routes in the shapes of `zeroshot serve`. `mode`: "ok",
    "chunked" (chunked answers), "close" (Connection: close after each answer), "fail-every-3" (HTTP 503 with the
    JSON error body for every third request), "unsorted" (classification scores not best first)."""

    def __init__(self, mode="ok"):
        self.mode = mode
        self.count = 0
        self.connections = 0

    async def handle(self, reader, writer):
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, path, _ = lines[0].split(" ")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:]
                                                                       if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.count += 1
                status, payload = self.answer(method, path, body)
                data = json.dumps(payload).encode()
                extra = "Connection: close\r\n" if self.mode == "close" else ""
                if self.mode == "chunked":
                    half = len(data) // 2
                    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (data[:half], data[half:]))
                    writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
                                 f"Transfer-Encoding: chunked\r\n\r\n".encode() + chunks + b"0\r\n\r\n")
                else:
                    writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}"
                                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
                if self.mode == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def answer(self, method, path, body):
        if self.mode == "fail-every-3" and self.count % 3 == 0:
            return 503, {"error": {"message": "queue full", "type": "service_unavailable"}}
        if path == "/readyz":
            return 200, {"status": "ready"}
        request = json.loads(body)
        if path == "/v1/zero-shot-image-classification":
            labels = request["parameters"]["candidate_labels"]
            scores = sorted((1 / (i + 2) for i in range(len(labels))), reverse=self.mode != "unsorted")
            return 200, [{"label": label, "score": score} for label, score in zip(labels, scores)]
        if path == "/v1/embeddings":
            inputs = request["input"] if isinstance(request["input"], list) else [request["input"]]
            return 200, {"object": "list", "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1},
                         "data": [{"object": "embedding", "embedding": [0.6, 0.8], "index": i}
                                  for i in range(len(inputs))]}
        return 404, {"error": {"message": "no route", "type": "not_found_error"}}


def workload(share=0.5, pool=20):
    photos = [(Path(f"/p{i}.jpg"), bytes([i]) * 100) for i in range(3)]
    return load_test.Workload(photos, LABELS, "a {}", load_test.text_pool(pool, 0) if pool else None, share, 0)


async def phase(mode, concurrency=3, duration=0.4, share=0.5):
    stand_in = StandIn(mode)
    server = await asyncio.start_server(stand_in.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        prepared = workload(share).prepared("127.0.0.1", port, None)
        records, elapsed = await load_test.run_phase("127.0.0.1", port, prepared, concurrency, duration, 5,
                                                     len(LABELS))
    finally:
        server.close()
        await server.wait_closed()
    return stand_in, load_test.summarize(records, elapsed)


class ClientTests(unittest.TestCase):
    def test_keep_alive_answers_are_counted_and_checked(self):
        stand_in, summary = asyncio.run(phase("ok"))
        self.assertGreater(summary["requests"], 10)
        self.assertEqual(summary["errors"], 0, summary["error_kinds"])
        self.assertEqual(stand_in.count, summary["requests"])
        self.assertEqual(stand_in.connections, 3)  # one keep-alive connection per worker
        kinds = summary["by_kind"]
        self.assertGreater(kinds["classification"]["requests"], 0)
        self.assertGreater(kinds["embeddings"]["requests"], 0)
        self.assertAlmostEqual(summary["images_per_s"] * summary["elapsed_s"], kinds["classification"]["requests"])
        self.assertLessEqual(summary["p50_ms"], summary["p99_ms"])

    def test_chunked_and_closed_connections(self):
        for mode in ("chunked", "close"):
            stand_in, summary = asyncio.run(phase(mode))
            self.assertGreater(summary["requests"], 5, mode)
            self.assertEqual(summary["errors"], 0, (mode, summary["error_kinds"]))
        self.assertEqual(stand_in.connections, stand_in.count)  # "close": a new connection per request

    def test_error_statuses_are_errors_with_their_message(self):
        stand_in, summary = asyncio.run(phase("fail-every-3", concurrency=1))
        self.assertEqual(summary["errors"], stand_in.count // 3)
        self.assertEqual(list(summary["error_kinds"]), ["HTTP 503: queue full"])

    def test_wrong_answers_are_errors(self):
        _, summary = asyncio.run(phase("unsorted", concurrency=1, share=1.0))
        self.assertEqual(summary["errors"], summary["requests"])
        self.assertEqual(list(summary["error_kinds"]), ["bad answer: predictions not sorted best first"])
        self.assertEqual(load_test.check_body("embeddings", b'{"data": []}', 2), "expected 2 embeddings in data")
        self.assertEqual(load_test.check_body("classification", b"<html>", 2), "body is not JSON")

    def test_refused_connections_are_errors_not_a_crash(self):
        with contextlib.closing(__import__("socket").socket()) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # closed again: nothing listens there
        prepared = workload().prepared("127.0.0.1", port, None)
        records, elapsed = asyncio.run(load_test.run_phase("127.0.0.1", port, prepared, 2, 0.3, 5, len(LABELS)))
        summary = load_test.summarize(records, elapsed)
        self.assertGreater(summary["errors"], 0)
        self.assertEqual(summary["errors"], summary["requests"])
        self.assertTrue(all(kind.startswith("connection:") for kind in summary["error_kinds"]))

    def test_requests_follow_the_mix(self):
        prepared = workload(0.75).prepared("127.0.0.1", 1, "KEY")
        kinds = [prepared.next()[0] for _ in range(4000)]
        self.assertAlmostEqual(kinds.count("classification") / len(kinds), 0.75, delta=0.03)
        request = prepared.next()[1]
        self.assertIn(b"Authorization: Bearer KEY\r\n", request)
        head, _, body = request.partition(b"\r\n\r\n")
        self.assertIn(f"Content-Length: {len(body)}".encode(), head)
        prepared.reset()
        first = [prepared.next()[1] for _ in range(50)]
        prepared.reset()
        self.assertEqual([prepared.next()[1] for _ in range(50)], first)  # each phase sends the same sequence

    def test_texts_are_fresh_or_from_the_pool(self):
        def texts(prepared, phase, count=200):
            prepared.reset(phase)
            found = []
            while len(found) < count:
                kind, request, n = prepared.next()
                if kind == "embeddings":
                    body = json.loads(request.partition(b"\r\n\r\n")[2])
                    self.assertEqual(len(body["input"]), n)
                    self.assertTrue(1 <= n <= 4)
                    found += body["input"]
            return found
        fresh = workload(pool=0).prepared("127.0.0.1", 1, None)
        first, second = texts(fresh, "a"), texts(fresh, "b")
        self.assertGreater(len(set(first)), 0.95 * len(first))  # hardly any text twice
        self.assertFalse(set(first) & set(second))  # another phase, other texts
        self.assertEqual(texts(fresh, "a"), first)  # the same phase again: the same sequence (every server)
        pooled = workload(pool=20).prepared("127.0.0.1", 1, None)
        self.assertLessEqual(set(texts(pooled, "a")), set(load_test.text_pool(20, 0)))

    def test_percentile(self):
        values = list(range(1, 101))
        self.assertEqual(load_test.percentile(values, 50), 50)
        self.assertEqual(load_test.percentile(values, 99), 99)
        self.assertEqual(load_test.percentile([7], 99), 7)
        self.assertIsNone(load_test.percentile([], 50))


class ServerLogTests(unittest.TestCase):
    def port_of(self, text):
        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            server = load_test.Server("s", command=["true"])
            server.log_path = Path(folder) / "log"
            server.log_path.write_text(text)
            return server.listening_port()

    def test_listening_lines(self):
        self.assertEqual(self.port_of('{"time":"t","level":"info","msg":"loading"}\n'
                                      '{"time":"t","level":"info","msg":"listening","host":"127.0.0.1",'
                                      '"port":41234}\n'), 41234)
        self.assertEqual(self.port_of("2026-12-01T10:00:00 info zeroshot: host=127.0.0.1 port=5123 listening\n"), 5123)
        self.assertEqual(self.port_of('{"level":"info","msg":"listening","metadata":{"port":"8088"}}\n'), 8088)
        self.assertIsNone(self.port_of('{"msg":"loading model"}\n'))

    def test_a_started_process_that_never_listens_is_stopped(self):
        import tempfile
        server = load_test.Server("sleeper", command=[sys.executable, "-c", "import time; time.sleep(60)"])
        with tempfile.TemporaryDirectory() as folder:
            with self.assertRaisesRegex(RuntimeError, "did not log a listening port within 0.5 s"):
                server.start(0.5, folder)
            self.assertIsNone(server.process.poll())
            load_test.stop_all(5)
            self.assertIsNotNone(server.process.poll())


class EndToEndTests(unittest.TestCase):
    def test_main_against_a_running_server(self):
        stand_in = StandIn("ok")
        ready = threading.Event()
        state = {}

        def serve():
            async def run():
                server = await asyncio.start_server(stand_in.handle, "127.0.0.1", 0)
                state["port"] = server.sockets[0].getsockname()[1]
                state["stop"] = asyncio.Event()
                ready.set()
                await state["stop"].wait()
                server.close()
            state["loop"] = asyncio.new_event_loop()
            state["loop"].run_until_complete(run())

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        ready.wait(10)
        try:
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                load_test.main(["--url", f"http://127.0.0.1:{state['port']}", "--duration", "0.3", "--concurrency",
                                "1,2", "--warmup", "0.2", "--labels", ",".join(LABELS)])
        finally:
            state["loop"].call_soon_threadsafe(state["stop"].set)
            thread.join(10)
        table = out.getvalue()
        self.assertIn("| server | 1 |", table)
        self.assertIn("| server | 2 |", table)
        self.assertIn("| server: zero errors | 0 | PASS |", table)


class ReportTests(unittest.TestCase):
    def phase(self, server, concurrency, rps, images, p99, mix="mixed", errors=0):
        return {"server": server, "concurrency": concurrency, "mix": mix, "requests": 100, "errors": errors,
                "error_kinds": {"HTTP 503: full": errors} if errors else {}, "throughput_rps": rps,
                "images_per_s": images, "p50_ms": p99 / 2, "p99_ms": p99, "client_cpu_cores": 0.01,
                "by_kind": {"classification": {"p99_ms": p99}, "embeddings": {"p99_ms": p99}}}

    def result(self, phases, classify_rates, rss=(600, 620)):
        return {"config": {"duration_s": 60, "classification_share": 0.75, "labels": LABELS, "rounds": 1,
                           "concurrency": [1, 8, 32]},
                "machine": {"cpu": "cpu", "cores": 2, "date": "today"}, "photos": [1, 2],
                "servers": [{"name": "zeroshot", "rss_mib": {"after_warmup": rss[0], "after_run": rss[1]}},
                            {"name": "python", "rss_mib": {}}],
                "phases": phases, "notes": [],
                "classify": [{"images": 100, "images_per_s": r, "whole_process_images_per_s": r, "wall_s": 40}
                             for r in classify_rates]}

    def verdicts(self, result):
        _, _, checks = load_test.report(result)
        return {c["target"].split(" >=")[0].split(" <")[0].split(" within")[0]: c["ok"] for c in checks}

    def test_targets(self):
        phases = [self.phase("zeroshot", 8, 30, 20, 500), self.phase("python", 8, 9, 7, 900),
                  self.phase("zeroshot", 32, 30, 20, 900), self.phase("zeroshot", 32, 26, 26, 900, "photos only")]
        verdicts = self.verdicts(self.result(phases, [25, 30, 28]))  # classify: median 28 images/s
        self.assertEqual(verdicts["zeroshot: zero errors"], True)
        self.assertEqual(verdicts["zeroshot: RSS after the run"], True)  # +3.3%
        self.assertEqual(verdicts["zeroshot images/s at c=32 (photos only)"], True)  # 26 / 28 = 0.93
        self.assertIsNone(verdicts["zeroshot images/s at c=32 (mixed)"])  # context only
        self.assertEqual(verdicts["zeroshot throughput at c=8"], True)  # 30 / 9 = 3.3
        self.assertEqual(verdicts["zeroshot p99 at c=8"], True)

        phases = [self.phase("zeroshot", 8, 20, 15, 1000, errors=2), self.phase("python", 8, 9, 7, 900),
                  self.phase("zeroshot", 32, 20, 20, 900)]
        verdicts = self.verdicts(self.result(phases, [28], rss=(600, 640)))
        self.assertEqual(verdicts["zeroshot: zero errors"], False)
        self.assertEqual(verdicts["zeroshot: RSS after the run"], False)  # +6.7%
        self.assertEqual(verdicts["zeroshot images/s at c=32 (mixed)"], False)  # decides without photos only
        self.assertEqual(verdicts["zeroshot throughput at c=8"], False)  # 2.2x
        self.assertEqual(verdicts["zeroshot p99 at c=8"], False)

    def test_metric_sums(self):
        text = ("# TYPE zeroshot_batch_size histogram\n"
                'zeroshot_batch_size_bucket{le="1"} 3\nzeroshot_batch_size_sum 40\nzeroshot_batch_size_count 5\n'
                'hb_requests_total{method="POST",status="200"} 7\nhb_requests_total{method="GET",status="200"} 2\n'
                "garbage line\n")
        sums = load_test.metric_sums(text)
        self.assertEqual(sums["zeroshot_batch_size_sum"], 40)
        self.assertEqual(sums["zeroshot_batch_size_count"], 5)
        self.assertEqual(sums["hb_requests_total"], 9)
        self.assertNotIn("zeroshot_batch_size_bucket", sums)


class OptionTests(unittest.TestCase):
    def assertUsageError(self, options, message):
        result = subprocess.run([sys.executable, str(HERE / "load_test.py"), *options], capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn(message, result.stderr.strip().splitlines()[-1])
        self.assertNotIn("Traceback", result.stderr)

    def test_options(self):
        self.assertUsageError([], "nothing to load")
        self.assertUsageError(["--url", "http://192.0.2.1:8080"], "not a loopback address")
        self.assertUsageError(["--url", "https://127.0.0.1:8080"], "expected http://HOST:PORT")
        self.assertUsageError(["--url", "http://127.0.0.1:1", "--concurrency", "1,x"], "comma-separated integers")
        self.assertUsageError(["--url", "http://127.0.0.1:1", "--concurrency", "0"], "each concurrency from 1")
        self.assertUsageError(["--url", "http://127.0.0.1:1", "--duration", "0"], "must be > 0")
        self.assertUsageError(["--zeroshot", "/nonexistent/zeroshot"], "not an executable file")
        self.assertUsageError(["--url", "http://127.0.0.1:1", "--classification-share", "2"], "from 0 to 1")


if __name__ == "__main__":
    unittest.main()
