#!/usr/bin/env python3
"""The Python reference server for the load test: transformers' zero-shot image classification pipeline behind
FastAPI and uvicorn, with the same request and response shapes as `zeroshot serve` for the routes the load test uses.

Routes (shapes as in `zeroshot serve`; errors are `{"error": {"message", "type"}}`):

- `POST /v1/zero-shot-image-classification`: JSON `{"inputs": "<base64 image>" | "data:image/...;base64,...",
  "parameters": {"candidate_labels": [str] | "a, b, c", "hypothesis_template": str}}`, or `multipart/form-data` with
  an `image` file and `candidate_labels` (repeated and/or comma-separated) and `hypothesis_template` fields ->
  `[{"label", "score"}]` best first, from `pipeline("zero-shot-image-classification")`.
- `POST /v1/embeddings`: `{"model"?, "input": str | [str], "modality"?: "text" | "image", "encoding_format"?:
  "float" | "base64"}` -> `{"object": "list", "data": [{"object": "embedding", "embedding", "index"}], "model",
  "usage": {"prompt_tokens", "total_tokens"}}`; text through the model's `get_text_features`, images (data: URIs)
  through `get_image_features`, both L2-normalised.
- `GET /healthz` (listening), `GET /readyz` (503 until the model is loaded), `GET /v1/info`.

The model loads in a background thread after the socket is bound. Inference runs on one worker thread (one request
at a time, torch with `--threads` intra-op threads), off uvicorn's event loop, so that reading requests and writing
responses go on while the model runs; the pipeline is called once per request (no batching across requests).
Once bound, one JSON line `{"msg": "listening", "host", "port"}` is printed on standard output (`--port 0` picks a
free port). Image URLs are refused (400): the load test sends images inline.

    python Tools/bench/python_server.py --model Tools/bench/.bench-models/clip-b32 --port 8081
"""

import argparse
import asyncio
import base64
import binascii
import concurrent.futures
import io
import json
import os
import signal
import socket
import sys
import threading
import time

DEFAULT_TEMPLATE = "This is a photo of {}."
MAX_LABELS = 1000


class APIError(Exception):
    """An error response: `status` and `{"error": {"message", "type"}}`."""

    TYPES = {400: "invalid_request_error", 404: "not_found_error", 405: "invalid_request_error",
             413: "payload_too_large", 422: "invalid_request_error", 500: "server_error", 503: "overloaded_error"}

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def log(**fields):
    fields = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **fields}
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


class Model:
    """The pipeline, loaded once; every call runs on the single inference thread."""

    def __init__(self, directory, threads):
        self.directory = directory
        self.threads = threads
        self.ready = threading.Event()
        self.error = None
        self.name = os.path.basename(os.path.normpath(directory))
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")

    def load(self):
        try:
            import torch
            from transformers import pipeline
            torch.set_num_threads(self.threads)
            self.torch = torch
            self.pipe = pipeline("zero-shot-image-classification", model=self.directory, dtype=torch.float32,
                                 device="cpu")
            self.pipe.model.eval()
            self.ready.set()
            log(level="info", msg="model loaded", model=self.directory, threads=self.threads)
        except Exception as error:  # reported on /readyz and in the log; the process keeps answering 503
            self.error = f"{type(error).__name__}: {error}"
            log(level="error", msg="model failed to load", error=self.error)

    async def run(self, function, *args):
        if not self.ready.is_set():
            raise APIError(503, "the model is loading" if self.error is None else f"the model failed to load: "
                                                                                   f"{self.error}")
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    # -- on the inference thread

    def classify(self, image, labels, template):
        with self.torch.inference_mode():
            results = self.pipe(image, candidate_labels=labels, hypothesis_template=template)
        return [{"label": r["label"], "score": float(r["score"])} for r in results]

    @staticmethod
    def _features(output):
        # transformers 5 returns a BaseModelOutputWithPooling whose pooler_output is the projected embedding.
        return output if hasattr(output, "norm") else output.pooler_output

    def text_embeddings(self, texts):
        torch = self.torch
        tokenizer = self.pipe.tokenizer
        with torch.inference_mode():
            tokens = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
            features = self._features(self.pipe.model.get_text_features(**tokens))
            features = features / features.norm(dim=-1, keepdim=True)
        prompt_tokens = int(tokens["attention_mask"].sum()) if "attention_mask" in tokens else int(
            tokens["input_ids"].numel())
        return features.to(torch.float32).numpy(), prompt_tokens

    def image_embeddings(self, images):
        torch = self.torch
        with torch.inference_mode():
            pixels = self.pipe.image_processor(images=images, return_tensors="pt")["pixel_values"]
            features = self._features(self.pipe.model.get_image_features(pixel_values=pixels))
            features = features / features.norm(dim=-1, keepdim=True)
        return features.to(torch.float32).numpy(), 0


def decode_image(value, field):
    """A PIL image from base64 or a data: URI (the string `value` of `field`)."""
    if value.startswith(("http://", "https://")):
        raise APIError(400, f"{field}: image URLs are not fetched by this server")
    if value.startswith("data:"):
        header, sep, payload = value.partition(",")
        if not sep or ";base64" not in header:
            raise APIError(400, f"{field}: a data: URI must be base64 (data:image/...;base64,...)")
        value = payload
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise APIError(400, f"{field}: not valid base64") from None
    return open_image(data, field)


def open_image(data, field):
    from PIL import Image
    if not data:
        raise APIError(400, f"{field}: empty image")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Image.DecompressionBombError as error:
        raise APIError(413, f"{field}: {error}") from None
    except Exception as error:
        raise APIError(400, f"{field}: not an image ({error})") from None
    return image.convert("RGB")


def parse_labels(value, field):
    if isinstance(value, str):
        labels = [label.strip() for label in value.split(",")]
        labels = [label for label in labels if label]
    elif isinstance(value, list) and all(isinstance(label, str) for label in value):
        labels = value
    else:
        raise APIError(422, f"{field}: expected a list of strings or a comma-separated string")
    if not labels:
        raise APIError(422, f"{field}: at least one label is required")
    if len(labels) > MAX_LABELS:
        raise APIError(422, f"{field}: {len(labels)} labels, at most {MAX_LABELS}")
    return labels


def check_template(template, field):
    if not isinstance(template, str):
        raise APIError(422, f"{field}: expected a string")
    try:
        template.format("label")
    except (IndexError, KeyError, ValueError) as error:
        raise APIError(422, f"{field}: cannot be filled with a label ({error})") from None
    return template


def build_app(model, max_body_bytes):
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    app = FastAPI(title="transformers zero-shot server", openapi_url=None, docs_url=None, redoc_url=None)

    def error_response(status, message):
        return JSONResponse({"error": {"message": message, "type": APIError.TYPES.get(status, "error")}},
                            status_code=status,
                            headers={"Retry-After": "1"} if status == 503 else None)

    @app.exception_handler(APIError)
    async def api_error(_request, error):
        return error_response(error.status, error.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request, error):
        return error_response(error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def internal_error(_request, error):
        return error_response(500, f"{type(error).__name__}: {error}")

    async def body_json(request):
        body = await request.body()
        if len(body) > max_body_bytes:
            raise APIError(413, f"request body of {len(body)} bytes, at most {max_body_bytes}")
        try:
            payload = json.loads(body)
        except ValueError as error:
            raise APIError(400, f"body: not JSON ({error})") from None
        if not isinstance(payload, dict):
            raise APIError(422, "body: expected a JSON object")
        return payload

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz():
        if model.ready.is_set():
            return {"status": "ready"}
        return error_response(503, "the model is loading" if model.error is None else model.error)

    @app.get("/v1/info")
    async def info():
        return {"model": model.name, "model_type": "transformers pipeline", "search": False,
                "max_labels": MAX_LABELS, "max_body_bytes": max_body_bytes, "hypothesis_template": DEFAULT_TEMPLATE}

    @app.post("/v1/zero-shot-image-classification")
    async def classify(request: Request):
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            upload = form.get("image")
            if upload is None or isinstance(upload, str):
                raise APIError(422, "image: a file part named image is required")
            image = open_image(await upload.read(), "image")
            labels = []
            for value in form.getlist("candidate_labels"):
                labels += [label.strip() for label in str(value).split(",") if label.strip()]
            labels = parse_labels(labels, "candidate_labels")
            template = check_template(form.get("hypothesis_template") or DEFAULT_TEMPLATE, "hypothesis_template")
        else:
            payload = await body_json(request)
            if "inputs" not in payload:
                raise APIError(422, "inputs: required")
            if not isinstance(payload["inputs"], str):
                raise APIError(422, "inputs: expected a string (base64 image or data: URI)")
            parameters = payload.get("parameters")
            if not isinstance(parameters, dict):
                raise APIError(422, "parameters: expected an object with candidate_labels")
            if "candidate_labels" not in parameters:
                raise APIError(422, "parameters.candidate_labels: required")
            labels = parse_labels(parameters["candidate_labels"], "parameters.candidate_labels")
            template = check_template(parameters.get("hypothesis_template", DEFAULT_TEMPLATE),
                                      "parameters.hypothesis_template")
            image = decode_image(payload["inputs"], "inputs")
        return await model.run(model.classify, image, labels, template)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        payload = await body_json(request)
        inputs = payload.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not all(isinstance(item, str) for item in inputs):
            raise APIError(422, "input: expected a string or a list of strings")
        if not inputs:
            raise APIError(422, "input: empty list")
        if len(inputs) > MAX_LABELS:
            raise APIError(422, f"input: {len(inputs)} inputs, at most {MAX_LABELS}")
        modality = payload.get("modality", "text")
        encoding = payload.get("encoding_format", "float")
        if modality not in ("text", "image"):
            raise APIError(422, "modality: expected \"text\" or \"image\"")
        if encoding not in ("float", "base64"):
            raise APIError(422, "encoding_format: expected \"float\" or \"base64\"")
        if modality == "text":
            if any(not item for item in inputs):
                raise APIError(422, "input: empty string")
            vectors, tokens = await model.run(model.text_embeddings, inputs)
        else:
            images = [decode_image(item, f"input[{i}]") for i, item in enumerate(inputs)]
            vectors, tokens = await model.run(model.image_embeddings, images)
        data = []
        for index, vector in enumerate(vectors):
            if encoding == "base64":
                embedding = base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")
            else:
                embedding = [float(x) for x in vector]
            data.append({"object": "embedding", "embedding": embedding, "index": index})
        return {"object": "list", "data": data, "model": model.name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, help="model directory (Hugging Face layout)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=8081, help="TCP port (0: any free port)")
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    parser.add_argument("--max-body-bytes", type=int, default=20_000_000, help="largest request body")
    parser.add_argument("--access-log", action="store_true", help="uvicorn's access log on standard error")
    args = parser.parse_args()
    if not os.path.isdir(args.model):
        parser.error(f"--model {args.model}: not a directory")
    if args.threads < 1:
        parser.error("--threads: at least 1")
    if not 0 <= args.port <= 65535:
        parser.error("--port: 0 to 65535")

    import uvicorn

    model = Model(args.model, args.threads)
    app = build_app(model, args.max_body_bytes)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]

    config = uvicorn.Config(app, log_level="warning", access_log=args.access_log, timeout_keep_alive=60,
                            timeout_graceful_shutdown=30, lifespan="off")
    server = uvicorn.Server(config)

    async def serve():
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        log(level="info", msg="listening", host=args.host, port=port)
        threading.Thread(target=model.load, name="load", daemon=True).start()
        await task

    # uvicorn handles SIGTERM/SIGINT during serve() (stop accepting, finish in-flight requests) and then raises the
    # signal again for the handler that was there before: a no-op one lets the process exit 0 after a clean stop.
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: None)
    asyncio.run(serve())
    model.executor.shutdown(wait=False, cancel_futures=True)
    log(level="info", msg="stopped")


if __name__ == "__main__":
    main()
