#!/usr/bin/env python3
"""Video benchmark (issue 13): `zeroshot classify --every 1` on a 10-minute 1080p H.264 video against the Python way
(PyAV or OpenCV frames every second + transformers' CLIPModel/CLIPProcessor, float32, batch 16), side by side.

- The video (made once, cached in `--video-dir`, default Tools/bench/.bench-videos): ffmpeg's `testsrc2` pattern
  (moving, with a running counter) at 1920x1080, 30 fps, `--minutes` long (10), H.264 with libx264's defaults
  (preset medium unless `--preset`, GOP 250, B-frames), yuv420p, in MP4. `--video PATH` measures a video of yours.
- zeroshot: the wall time of `zeroshot classify --model CKPT --every 1 --labels L --format jsonl VIDEO` (the whole
  process: model load, decoding on its background thread, the image tower, output); the frames it printed are
  counted.
- Python: one process running the recipe (timed inside, model load included, imports excluded): open the video
  (PyAV with the decoder's automatic threading, or OpenCV with `--decoder opencv`), decode every frame in order
  and keep, for each target t = 0, 1, 2, ... s, the first frame at or after t; convert it to RGB (PyAV's
  `to_ndarray(format="rgb24")`, OpenCV's BGR->RGB), run CLIPProcessor + CLIPModel (float32, `torch.no_grad`) in
  batches of 16 against the labels' text embeddings ("This is a photo of {}.", as zeroshot's default template),
  softmax. Both use all cores (`--threads`, default: the cores of this process).
- Rounds alternate the two (the order swapping each round); the table gives medians, real-time factors
  (video duration / wall time) and the ratio, with the CPU model. The model is the random-weight ViT-B/32-shaped
  checkpoint `compare.py` builds (`Tools/bench/.bench-models/clip-b32`), or `--checkpoint DIR`.

    python Tools/bench/video_bench.py --zeroshot .build/release/zeroshot            # 10 min, 3 rounds
    python Tools/bench/video_bench.py --quick                                       # 20 s video, 1 round
    python Tools/bench/video_bench.py --video clip.mp4 --rounds 5 --json video.json

Needs the ffmpeg command line (to make the video), av (PyAV) or opencv-python-headless, torch and transformers.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_common import log, median  # noqa: E402
import compare  # noqa: E402  (checkpoint building, machine info, binary path)

DEFAULT_LABELS = ["a dog", "a cat", "a car", "a person", "a city street", "a beach", "a mountain", "food",
                  "a whiteboard", "a football match", "a test pattern", "snow"]
TEMPLATE = "This is a photo of {}."

PYTHON_RECIPE = r'''
import json, sys, time
args = json.loads(sys.argv[1])
import torch
torch.set_num_threads(args["threads"])
from transformers import CLIPModel, CLIPProcessor
start = time.perf_counter()
model = CLIPModel.from_pretrained(args["checkpoint"], dtype=torch.float32).eval()
processor = CLIPProcessor.from_pretrained(args["checkpoint"])
texts = [args["template"].format(label) for label in args["labels"]]
with torch.no_grad():
    text_inputs = processor(text=texts, return_tensors="pt", padding=True)
    text = model.get_text_features(**text_inputs)
    text = getattr(text, "pooler_output", text)  # transformers 5 returns an output object
    text = text / text.norm(dim=-1, keepdim=True)
scale = model.logit_scale.exp()
loaded = time.perf_counter()

def frames_pyav(path, every):
    import av
    container = av.open(path)
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    start_time = container.start_time / 1e6 if container.start_time is not None else 0.0
    k = 0
    for frame in container.decode(stream):
        if frame.pts is None:
            continue
        t = float(frame.pts * stream.time_base) - start_time
        if t + 1e-9 >= k * every:
            yield t, frame.to_ndarray(format="rgb24")
            while k * every <= t + 1e-9:
                k += 1
    container.close()

def frames_opencv(path, every):
    import cv2
    cv2.setNumThreads(args["threads"])
    capture = cv2.VideoCapture(path)
    k = 0
    while True:
        ok = capture.grab()
        if not ok:
            break
        t = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if t + 1e-9 >= k * every:
            ok, bgr = capture.retrieve()
            if not ok:
                break
            yield t, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            while k * every <= t + 1e-9:
                k += 1
    capture.release()

source = frames_pyav if args["decoder"] == "pyav" else frames_opencv
count = 0
batch = []
def run(batch):
    with torch.no_grad():
        inputs = processor(images=[image for _, image in batch], return_tensors="pt")
        image = model.get_image_features(**inputs)
        image = getattr(image, "pooler_output", image)
        image = image / image.norm(dim=-1, keepdim=True)
        return (scale * image @ text.T).softmax(dim=-1)
for item in source(args["video"], args["every"]):
    batch.append(item)
    if len(batch) == args["batch"]:
        run(batch)
        count += len(batch)
        batch = []
if batch:
    run(batch)
    count += len(batch)
end = time.perf_counter()
print(json.dumps({"frames": count, "seconds": end - start, "load_seconds": loaded - start}))
'''


def make_video(path, minutes, preset):
    """Makes the benchmark video once (cached): testsrc2 at 1080p30, libx264 defaults, MP4."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    seconds = int(round(minutes * 60))
    log(f"making {path} ({seconds} s of 1920x1080 at 30 fps, libx264 preset {preset}); done once")
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        partial = Path(tmp) / path.name
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
                        "-i", f"testsrc2=size=1920x1080:rate=30", "-t", str(seconds), "-c:v", "libx264",
                        "-preset", preset, "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(partial)],
                       check=True)
        partial.rename(path)
    return path


def probe_duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return float(out.strip())


def run_zeroshot(binary, checkpoint, video, labels, every, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    command = [binary, "classify", "--model", str(checkpoint), "--every", str(every), "--labels", ",".join(labels),
               "--format", "jsonl", "--quiet", str(video)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"zeroshot failed ({result.returncode}): {' '.join(command)}\n{result.stderr[-2000:]}")
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    frames = sum(1 for line in lines if "time" in line)
    return {"seconds": seconds, "frames": frames}


def run_python(checkpoint, video, labels, every, threads, decoder, batch):
    args = {"checkpoint": str(checkpoint), "video": str(video), "labels": labels, "every": every,
            "threads": threads, "decoder": decoder, "batch": batch, "template": TEMPLATE}
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    result = subprocess.run([sys.executable, "-c", PYTHON_RECIPE, json.dumps(args)], capture_output=True, text=True,
                            env=env)
    if result.returncode != 0:
        raise SystemExit(f"the Python recipe failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=compare.HelpFormatter)
    parser.add_argument("--zeroshot", default=".build/release/zeroshot", help="the zeroshot binary")
    parser.add_argument("--checkpoint", help="a CLIP checkpoint directory (default: the random-weight --shape one)")
    parser.add_argument("--shape", default="b32", choices=["b32", "l14", "tiny"])
    parser.add_argument("--cache-dir", default=str(HERE / ".bench-models"))
    parser.add_argument("--video", help="measure this video instead of the generated one")
    parser.add_argument("--video-dir", default=str(HERE / ".bench-videos"))
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated video")
    parser.add_argument("--preset", default="medium", help="libx264 preset of the generated video")
    parser.add_argument("--quick", action="store_true", help="a 20-second video and 1 round (checks the script)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--every", type=float, default=1.0)
    parser.add_argument("--labels", default=",".join(DEFAULT_LABELS))
    parser.add_argument("--decoder", default="pyav", choices=["pyav", "opencv"])
    parser.add_argument("--batch", type=int, default=16, help="the Python recipe's batch size")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--json", help="write raw samples, medians and the machine here")
    args = parser.parse_args()
    if args.quick:
        args.minutes = min(args.minutes, 1 / 3)
        args.rounds = 1
    if args.rounds < 1 or args.every <= 0 or args.threads < 1 or args.batch < 1:
        parser.error("--rounds, --threads and --batch must be >= 1 and --every > 0")
    binary = compare.resolve_binary(args.zeroshot)
    if not Path(binary).exists():
        parser.error(f"no zeroshot binary at {binary} (swift build -c release, or --zeroshot PATH)")
    labels = [label.strip() for label in args.labels.split(",") if label.strip()]
    checkpoint = compare.checkpoint_for(args.checkpoint, args.shape, args.cache_dir)
    if args.video:
        video = Path(args.video).resolve()
        if not video.exists():
            parser.error(f"no video at {video}")
    else:
        name = f"testsrc2-1080p30-{args.minutes:g}min-{args.preset}.mp4"
        video = make_video(Path(args.video_dir) / name, args.minutes, args.preset)
    duration = probe_duration(video)
    log(f"video {video} ({duration:.1f} s), checkpoint {checkpoint}, {args.threads} threads")

    samples = {"zeroshot": [], "python": []}
    for round_index in range(args.rounds):
        order = ["zeroshot", "python"] if round_index % 2 == 0 else ["python", "zeroshot"]
        for which in order:
            if which == "zeroshot":
                result = run_zeroshot(binary, checkpoint, video, labels, args.every, args.threads)
            else:
                result = run_python(checkpoint, video, labels, args.every, args.threads, args.decoder, args.batch)
            samples[which].append(result)
            log(f"round {round_index + 1}: {which} {result['seconds']:.1f} s, {result['frames']} frames")

    zs = median([s["seconds"] for s in samples["zeroshot"]])
    py = median([s["seconds"] for s in samples["python"]])
    machine = compare.machine_info(args.threads)
    print(f"\nVideo: {video.name}, {duration:.1f} s, sampled every {args.every:g} s; {len(labels)} labels; "
          f"{machine['cpu']} ({machine['cores']} cores)\n")
    print("| | wall time (s, median) | real-time factor | frames |")
    print("|---|---:|---:|---:|")
    print(f"| zeroshot classify | {zs:.1f} | {duration / zs:.1f}x | {samples['zeroshot'][-1]['frames']} |")
    print(f"| Python ({args.decoder} + transformers, batch {args.batch}) | {py:.1f} | {duration / py:.1f}x | "
          f"{samples['python'][-1]['frames']} |")
    print(f"\nzeroshot is {py / zs:.2f}x the Python way's speed; target: >= 10x real time "
          f"({'PASS' if duration / zs >= 10 else 'FAIL'}).")
    if args.json:
        Path(args.json).write_text(json.dumps({"video": str(video), "duration": duration, "every": args.every,
                                               "labels": labels, "samples": samples,
                                               "medians": {"zeroshot": zs, "python": py}, "machine": machine},
                                              indent=2))


if __name__ == "__main__":
    main()
