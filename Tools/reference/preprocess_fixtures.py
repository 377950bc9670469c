"""Golden fixtures for image preprocessing (Tests/Fixtures/preprocess).

Inputs are crops of real photos shipped in scikit-image (skimage/data) and foolbox (foolbox/data), cut and
reduced with numpy so that they stay small, and stored as raw RGB bytes (row-major, interleaved).

* `cases`: each case is a preprocessor_config.json (written here, loaded back with
  `CLIPImageProcessorPil.from_pretrained`) applied to `PIL.Image.fromarray(input)`. The reference
  pixel_values (float32, [3, H, W]) are stored losslessly as a per-channel table of their distinct float32
  values (`values.f32`, little-endian, channel 0 then 1 then 2) plus one uint8 index per element
  (`index.u8`, CHW order). The script checks that decoding gives back the exact array.
* `resize`: `PIL.Image.resize((w, h), filter)` outputs (raw RGB bytes) for many size pairs and every filter,
  covering both pass orders of Pillow 13, single-pass and identity cases.
* `combinations.json`: every form of `size` (an int, `shortest_edge`, `height`/`width`, a list,
  `shortest_edge` + `longest_edge`, `longest_edge` alone, `max_height`/`max_width`) crossed with `do_resize`,
  `do_center_crop` and `crop_size` (none, smaller, an int, larger than the image, without height/width), plus
  zero, negative and null values, on images of several aspect ratios. Per config: whether
  `CLIPImageProcessorPil.from_pretrained` refuses it; per image: the pixel_values shape and an FNV-1a 64 hash of
  their float32 bit patterns (bit-exact check without storing the values), or the kind of error transformers
  raises for that image.

Run: python Tools/reference/preprocess_fixtures.py   (deterministic; rewrites the folder)
"""
import json
import os
import shutil
import traceback
from importlib import resources

import numpy as np
import PIL
import transformers
from PIL import Image
from transformers import CLIPImageProcessorPil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "preprocess")
SKIMAGE = str(resources.files("skimage") / "data")
FOOLBOX = str(resources.files("foolbox") / "data")

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]


def load(folder, name):
    return np.asarray(Image.open(os.path.join(folder, name)))


def rgb(a):
    """Gray (H, W) is replicated to three channels, as Pillow's convert("RGB")."""
    if a.ndim == 2:
        a = np.stack([a, a, a], axis=-1)
    return np.ascontiguousarray(a[..., :3], dtype=np.uint8)


def block_mean(a, k):
    """Downscale by an integer factor with a box average (rounded), to keep inputs small."""
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    a = a[:h, :w].astype(np.float64).reshape(h // k, k, w // k, k, -1).mean(axis=(1, 3))
    return np.rint(a).astype(np.uint8)


def mirror2x2(tile):
    """A 2x-wide, 2x-tall image from a tile and its mirror images (built the same way by the tests)."""
    top = np.concatenate([tile, tile[:, ::-1]], axis=1)
    return np.ascontiguousarray(np.concatenate([top, top[::-1]], axis=0))


def build_inputs():
    """name -> (stored array, construction). The constructed image is what is preprocessed."""
    astronaut = load(SKIMAGE, "astronaut.png")
    coffee = load(SKIMAGE, "coffee.png")
    rocket = load(SKIMAGE, "rocket.jpg")
    camera = load(SKIMAGE, "camera.png")
    hubble = load(SKIMAGE, "hubble_deep_field.jpg")
    retina = load(SKIMAGE, "retina.jpg")
    imagenet = load(FOOLBOX, "imagenet_00_243.jpg")
    cifar = load(FOOLBOX, "cifar10_00_3.png")
    mnist = load(FOOLBOX, "mnist_00_7.png")
    return {
        # Astronaut 256x192 tile, mirrored to 512x384: the large downscale 512x384 -> 298x224.
        "astronaut_mirror_512x384": (rgb(astronaut[20:212, 150:406]), "mirror2x2"),
        # Astronaut face and suit, 151x117 (odd sizes, large downscale to small targets).
        "astronaut_151x117": (rgb(astronaut[40:157, 180:331]), None),
        # Tall astronaut crop, 48x120: shortest-edge resizing shrinks the height by more than twice as many
        # pixels as the width, so Pillow 13 runs its vertical pass first.
        "astronaut_tall_48x120": (rgb(astronaut[100:220, 230:278]), None),
        # Coffee cup halved with a box average, then cut to 77x53.
        "coffee_77x53": (rgb(block_mean(coffee, 2)[60:113, 100:177]), None),
        # Rocket launch, 61x45.
        "rocket_61x45": (rgb(block_mean(rocket, 4)[20:65, 40:101]), None),
        # Grayscale camera man, replicated to RGB, 120x90.
        "camera_gray_120x90": (rgb(camera[60:420:4, 100:580:4]), None),
        # ImageNet sample reduced to 40x30 (upscaled by the configs).
        "imagenet_40x30": (rgb(block_mean(imagenet, 8)[20:50, 12:52]), None),
        # CIFAR-10 32x32 and MNIST 28x28 (grayscale replicated): small images upscaled.
        "cifar_32x32": (rgb(cifar), None),
        "mnist_gray_28x28": (rgb(mnist), None),
        # One pixel.
        "pixel_1x1": (rgb(astronaut[100:101, 250:251]), None),
        # Strips: 1000 wide x 3 tall and 3 wide x 1000 tall.
        "strip_1000x3": (rgb(hubble[400:403, 0:1000]), None),
        "strip_3x1000": (rgb(retina[200:1200, 700:703]), None),
    }


def construct(stored, how):
    if how is None:
        return stored
    if how == "mirror2x2":
        return mirror2x2(stored)
    raise ValueError(how)


def openai_config(**overrides):
    """The preprocessor_config.json of openai/clip-vit-base-patch32 (legacy integer sizes)."""
    cfg = {
        "crop_size": 224,
        "do_center_crop": True,
        "do_normalize": True,
        "do_resize": True,
        "feature_extractor_type": "CLIPFeatureExtractor",
        "image_mean": OPENAI_MEAN,
        "image_std": OPENAI_STD,
        "resample": 3,
        "size": 224,
    }
    cfg.update(overrides)
    return cfg


def modern_config(**overrides):
    """A current-style config with dictionary sizes."""
    cfg = {
        "crop_size": {"height": 224, "width": 224},
        "do_center_crop": True,
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": OPENAI_MEAN,
        "image_processor_type": "CLIPImageProcessor",
        "image_std": OPENAI_STD,
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"shortest_edge": 224},
    }
    cfg.update(overrides)
    return cfg


# (case name, config, input names)
CASES = [
    ("openai_224", openai_config(), ["imagenet_40x30"]),
    ("modern_224", modern_config(), ["astronaut_mirror_512x384"]),
    ("odd_33_crop_30", modern_config(size={"shortest_edge": 33}, crop_size={"height": 30, "width": 30}),
     ["astronaut_151x117", "astronaut_tall_48x120", "strip_1000x3", "strip_3x1000", "pixel_1x1",
      "imagenet_40x30"]),
    ("crop_larger_pads", modern_config(size={"shortest_edge": 20}, crop_size={"height": 32, "width": 41}),
     ["rocket_61x45", "pixel_1x1", "strip_1000x3"]),
    ("height_width_size", modern_config(size={"height": 48, "width": 40}, crop_size={"height": 35, "width": 27}),
     ["coffee_77x53", "strip_3x1000"]),
    ("no_center_crop", modern_config(size={"shortest_edge": 40}, do_center_crop=False),
     ["coffee_77x53", "camera_gray_120x90"]),
    ("bilinear_half_mean", modern_config(resample=2, size={"shortest_edge": 48}, crop_size={"height": 48, "width": 48},
                                         image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]),
     ["astronaut_151x117", "cifar_32x32", "camera_gray_120x90"]),
    ("lanczos_imagenet_stats", modern_config(resample=1, size=36, crop_size=32,
                                             image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]),
     ["astronaut_151x117", "mnist_gray_28x28"]),
    ("nearest", openai_config(resample=0, size=45, crop_size=40), ["coffee_77x53", "imagenet_40x30"]),
    ("box", openai_config(resample=4, size=30, crop_size=28), ["astronaut_151x117", "imagenet_40x30"]),
    ("hamming", openai_config(resample=5, size=30, crop_size=28), ["astronaut_151x117", "imagenet_40x30"]),
    ("mks2013", openai_config(resample=6, size=30, crop_size=28), ["astronaut_151x117", "imagenet_40x30"]),
    ("mks2021", openai_config(resample=7, size=30, crop_size=28), ["astronaut_151x117", "imagenet_40x30"]),
    ("shortest_and_longest_edge", modern_config(size={"shortest_edge": 32, "longest_edge": 40},
                                                crop_size={"height": 30, "width": 30}),
     ["coffee_77x53", "camera_gray_120x90"]),
    ("max_height_width", modern_config(size={"max_height": 30, "max_width": 50}, do_center_crop=False),
     ["rocket_61x45", "cifar_32x32"]),
    ("no_resize", modern_config(do_resize=False, crop_size={"height": 40, "width": 50}), ["rocket_61x45"]),
    ("no_rescale_no_normalize", modern_config(size={"shortest_edge": 24}, crop_size={"height": 24, "width": 24},
                                              do_rescale=False, do_normalize=False), ["coffee_77x53"]),
    ("rescale_only", modern_config(size={"shortest_edge": 24}, crop_size={"height": 24, "width": 24},
                                   do_normalize=False, rescale_factor=0.0078125), ["coffee_77x53"]),
    ("normalize_without_rescale", modern_config(size={"shortest_edge": 24}, crop_size={"height": 24, "width": 24},
                                                do_rescale=False, image_mean=127.5, image_std=64.0),
     ["coffee_77x53"]),
]

# (input, out width, out height, filter) for direct PIL.Image.resize checks.
# Every filter on outputs of at most SMALL_OUTPUT pixels, BILINEAR and BICUBIC on the larger ones.
ALL_FILTERS = [0, 1, 2, 3, 4, 5, 6, 7]
SMALL_OUTPUT = 400
RESIZE_TARGETS = {
    # Both pass orders: Pillow 13 runs the vertical pass first when the height shrinks by more than twice
    # as many pixels as the width, e.g. 77x53 -> 70x9 (44 > 2 * 7); 77x53 -> 60x30 keeps horizontal first.
    "coffee_77x53": [(30, 20), (20, 30), (77, 11), (13, 53), (70, 9), (60, 5), (9, 50), (24, 4), (60, 30),
                     (77, 53), (90, 8), (38, 26), (66, 19), (66, 20)],
    "imagenet_40x30": [(57, 43), (40, 61), (63, 30), (25, 7), (39, 2), (12, 28), (1, 1)],
    "strip_1000x3": [(31, 2), (7, 3), (300, 1), (24, 9)],
    "strip_3x1000": [(2, 31), (3, 7), (1, 300), (9, 24), (5, 3)],
    "pixel_1x1": [(5, 4), (1, 3)],
}


# Images of several aspect ratios for the size/crop combinations.
COMBINATION_INPUTS = ["cifar_32x32", "coffee_77x53", "astronaut_tall_48x120", "strip_1000x3", "pixel_1x1"]
COMBINATION_SIZES = [
    ("int", 24),
    ("shortest_edge", {"shortest_edge": 24}),
    ("height_width", {"height": 24, "width": 30}),
    ("list", [30, 24]),
    ("shortest_longest", {"shortest_edge": 20, "longest_edge": 30}),
    ("longest_edge", {"longest_edge": 30}),
    ("max_height_width", {"max_height": 24, "max_width": 30}),
]
COMBINATION_CROPS = [
    ("no_crop", None),
    ("crop_small", {"height": 16, "width": 20}),
    ("crop_int", 20),
    ("crop_larger", {"height": 40, "width": 48}),
    ("crop_shortest_edge", {"shortest_edge": 16}),
]


def combination_config(**overrides):
    """Only the keys under test; the others take CLIPImageProcessorPil's defaults (those of openai/clip-*)."""
    return dict({"image_processor_type": "CLIPImageProcessor"}, **overrides)


def combination_configs():
    """(name, config) for the combinations."""
    out = []
    for size_name, size in COMBINATION_SIZES:
        for do_resize in (True, False):
            # Without resizing `size` is unused: two forms are enough there.
            if not do_resize and size_name not in ("shortest_edge", "longest_edge"):
                continue
            for crop_name, crop in COMBINATION_CROPS:
                overrides = {"size": size, "do_resize": do_resize, "do_center_crop": crop is not None}
                if crop is not None:
                    overrides["crop_size"] = crop
                name = f"{size_name}_{'resize' if do_resize else 'no_resize'}_{crop_name}"
                out.append((name, combination_config(**overrides)))
    extra = [
        ("default_to_square_int", dict(size=24, default_to_square=True, do_center_crop=False)),
        ("list_of_three", dict(size=[30, 24, 3], do_center_crop=False)),
        ("use_square_size", dict(size=24, use_square_size=True, do_center_crop=False)),
        ("shortest_edge_zero", dict(size={"shortest_edge": 0}, do_center_crop=False)),
        ("shortest_edge_negative", dict(size={"shortest_edge": -4}, do_center_crop=False)),
        ("height_zero", dict(size={"height": 0, "width": 30}, do_center_crop=False)),
        ("height_negative", dict(size={"height": -2, "width": 30}, do_center_crop=False)),
        ("longest_edge_zero", dict(size={"shortest_edge": 20, "longest_edge": 0}, do_center_crop=False)),
        ("longest_edge_null", dict(size={"shortest_edge": 20, "longest_edge": None}, do_center_crop=False)),
        ("longest_edge_below_shortest", dict(size={"shortest_edge": 30, "longest_edge": 20}, do_center_crop=False)),
        ("width_null", dict(size={"height": 24, "width": None}, do_center_crop=False)),
        ("max_height_one", dict(size={"max_height": 1, "max_width": 30}, do_center_crop=False)),
        ("min_max_pixels", dict(size={"min_pixels": 100, "max_pixels": 1000}, do_center_crop=False)),
        ("crop_zero", dict(size=24, crop_size=0)),
        ("crop_height_zero", dict(size=24, crop_size={"height": 0, "width": 20})),
        ("crop_negative", dict(size=24, crop_size=-3)),
        ("crop_width_null", dict(size=24, crop_size={"height": 16, "width": None})),
        ("crop_list", dict(size=24, crop_size=[16, 20])),
        ("crop_unused_shortest_edge", dict(size=24, do_center_crop=False, crop_size={"shortest_edge": 9})),
        ("size_unused_longest_edge", dict(do_resize=False, size={"longest_edge": 9}, crop_size=20)),
        ("do_resize_null", dict(size=24, do_resize=None, do_center_crop=False)),
        ("do_center_crop_null", dict(size=24, do_center_crop=None)),
        ("size_null", dict(size=None, do_center_crop=False)),
        ("size_null_no_resize", dict(size=None, do_resize=False, crop_size=20)),
        ("crop_size_null", dict(size=24, crop_size=None)),
        ("resample_null", dict(size=24, resample=None, crop_size=20)),
        # Values outside size/crop (transformers 5.24 loads all of these; see error_kind for the per-image failures).
        ("resample_bool", dict(size=24, crop_size=20, resample=True)),  # True is 1: LANCZOS
        ("resample_string", dict(size=24, crop_size=20, resample="bicubic")),  # not an int: BILINEAR
        ("resample_fraction", dict(size=24, crop_size=20, resample=2.5)),  # BILINEAR
        ("resample_mks2021", dict(size=24, crop_size=20, resample=7)),
        ("resample_unknown", dict(size=24, crop_size=20, resample=8)),
        ("resample_negative", dict(size=24, crop_size=20, resample=-1)),
        ("resample_unknown_same_size", dict(size={"height": 3, "width": 1000}, do_center_crop=False, resample=9)),
        ("resample_unknown_unused", dict(do_resize=False, crop_size=20, resample=99)),
        ("resample_unknown_and_empty", dict(size={"max_height": 1, "max_width": 1}, do_center_crop=False, resample=8)),
        ("resample_unknown_not_resizable", dict(size={"longest_edge": 9}, do_center_crop=False, resample=8)),
        ("resample_list", dict(size=24, crop_size=20, resample=[3])),
        ("resample_list_not_resizable", dict(size={"longest_edge": 9}, do_center_crop=False, resample=[3])),
        ("mean_std_scalars", dict(size=24, crop_size=20, image_mean=0.5, image_std=0.25)),
        ("mean_std_ints_bools", dict(size=24, crop_size=20, image_mean=[1, True, False], image_std=2)),
        ("mean_std_strings", dict(size=24, crop_size=20, image_mean="0.5", image_std=["0.25", " 1_0 ", "inf"])),
        ("mean_null_element", dict(size=24, crop_size=20, image_mean=[None, 0.5, 0.5])),
        ("std_zero_negative", dict(size=24, crop_size=20, image_std=[0, -1, 1e-30])),
        ("mean_list_of_one", dict(size=24, crop_size=20, image_mean=[0.5])),
        ("mean_list_of_two", dict(size=24, crop_size=20, image_mean=[0.5, 0.5])),
        ("std_list_of_four", dict(size=24, crop_size=20, image_std=[0.5, 0.5, 0.5, 0.5])),
        ("mean_empty_list", dict(size=24, crop_size=20, image_mean=[])),
        ("mean_string_one_char", dict(size=24, crop_size=20, image_mean="1")),
        ("mean_string_not_number", dict(size=24, crop_size=20, image_mean="abc")),
        ("std_list_string_not_number", dict(size=24, crop_size=20, image_std=[0.5, "x", 0.5])),
        ("mean_nested", dict(size=24, crop_size=20, image_mean=[[0.5], [0.5], [0.5]])),
        ("mean_dict", dict(size=24, crop_size=20, image_mean={"r": 0.5, "g": 0.5, "b": 0.5})),
        ("mean_wrong_unused", dict(size=24, crop_size=20, do_normalize=False, image_mean=[1, 2])),
        ("mean_wrong_and_crop_unusable", dict(size=24, crop_size={"shortest_edge": 9}, image_mean=[1, 2])),
        ("rescale_zero", dict(size=24, crop_size=20, rescale_factor=0)),
        ("rescale_negative", dict(size=24, crop_size=20, rescale_factor=-0.5)),
        ("rescale_int_one", dict(size=24, crop_size=20, rescale_factor=1)),
        ("rescale_bool", dict(size=24, crop_size=20, rescale_factor=True)),
        ("rescale_list_of_one", dict(size=24, crop_size=20, rescale_factor=[[0.25]])),
        ("rescale_string", dict(size=24, crop_size=20, rescale_factor="0.5")),
        ("rescale_list_of_three", dict(size=24, crop_size=20, rescale_factor=[0.5, 0.5, 0.5])),
        ("rescale_dict", dict(size=24, crop_size=20, rescale_factor={"a": 1})),
        ("rescale_string_unused", dict(size=24, crop_size=20, do_rescale=False, rescale_factor="x")),
        ("rescale_string_and_mean_wrong", dict(size=24, crop_size=20, rescale_factor="x", image_mean=[1, 2])),
        ("flags_as_numbers", dict(size=24, crop_size=20, do_resize=1, do_center_crop=0, do_rescale=0.0, do_normalize=2)),
        ("flags_as_strings", dict(size=24, crop_size=20, do_resize="", do_center_crop="false", do_normalize="no")),
        ("flags_as_containers", dict(size=24, crop_size=20, do_resize=[], do_center_crop={"a": 1}, do_rescale=[0])),
        ("convert_rgb_null", dict(size=24, crop_size=20, do_convert_rgb=None)),
        ("default_to_square_number", dict(size=24, default_to_square=1, do_center_crop=False)),
        ("use_square_size_empty_string", dict(size=24, use_square_size="", do_center_crop=False)),
        ("pad", dict(size=24, crop_size=20, do_pad=True, pad_size={"height": 25, "width": 22})),
        ("pad_int_no_crop", dict(size=24, do_center_crop=False, do_pad=True, pad_size=40)),
        ("pad_without_size", dict(size=24, crop_size=20, do_pad=True)),
        ("pad_smaller", dict(size=24, crop_size=20, do_pad=True, pad_size=[10, 22])),
        ("pad_shortest_edge", dict(size=24, crop_size=20, do_pad=True, pad_size={"shortest_edge": 30})),
        ("pad_zero", dict(size=24, crop_size=20, do_pad=True, pad_size={"height": 0, "width": 30})),
        ("pad_size_unused", dict(size=24, crop_size=20, pad_size={"height": 25, "width": 22})),
        # Refused when loading.
        ("size_unknown_keys", dict(size={"shortest": 24})),
        ("size_height_only", dict(size={"height": 24})),
        ("size_list_of_one", dict(size=[24])),
        ("crop_width_only", dict(crop_size={"width": 20})),
        ("crop_list_of_one", dict(crop_size=[20])),
        ("crop_unknown_keys_unused", dict(do_center_crop=False, crop_size={"side": 20})),
        ("size_unknown_keys_unused", dict(do_resize=False, size={"longest_edge": 9, "height": 3})),
        ("pad_size_unknown_keys_unused", dict(pad_size={"h": 25})),
        ("pad_size_list_of_one", dict(do_pad=True, pad_size=[25])),
    ]
    for name, overrides in extra:
        out.append((name, combination_config(**overrides)))
    return out


def fnv1a64(pv):
    """FNV-1a 64 over the float32 bit patterns (as 32-bit words, CHW order)."""
    h = 0xCBF29CE484222325
    for w in np.ascontiguousarray(pv, dtype="<f4").view("<u4").ravel().tolist():
        h = ((h ^ w) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def error_kind(e):
    """The kind of a per-image failure of CLIPImageProcessorPil, named as zeroshot's ImagePreprocessingError."""
    text = str(e)
    if isinstance(e, ValueError) and text.startswith("Size must contain"):
        return "notResizable"
    if isinstance(e, ValueError) and text == "height and width must be > 0":
        return "emptyResize"
    if isinstance(e, ValueError) and "must be specified" in text:
        return "missingValue"
    if isinstance(e, AttributeError) and "SizeDict" in text:
        return "cropSizeWithoutHeightAndWidth"  # center_crop's own error message fails on SizeDict.keys()
    # Values transformers loads but cannot apply: the key is found from the frame that raised.
    if text.startswith("Unknown resampling filter") or text.startswith("unhashable type"):
        return "unusableValue:resample"
    if text.startswith("mean must have") or text.startswith("std must have"):
        return "unusableValue:image_" + text.split(" ")[0]
    if text.startswith("Pad size must contain"):
        return "unusableValue:pad_size"
    if text.startswith("Padding dimensions are negative"):
        return "padSmallerThanImage"
    if isinstance(e, (ValueError, TypeError)):  # numpy's conversion or broadcasting errors (UFuncTypeError is one)
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename.endswith("image_transforms.py")]
        if frames and frames[-1].name == "rescale":
            return "unusableValue:rescale_factor"
        if frames and frames[-1].name == "normalize":
            # `std = np.array(std, ...)` names std; `mean = np.array(mean, ...)` and the broadcast `image.T - mean` mean.
            return "unusableValue:image_std" if (frames[-1].line or "").startswith("std") else "unusableValue:image_mean"
    raise e


def write_combinations(images):
    entries = []
    tmp = os.path.join(ROOT, "_combination")
    for name, config in combination_configs():
        os.makedirs(tmp, exist_ok=True)
        with open(os.path.join(tmp, "preprocessor_config.json"), "w") as f:
            json.dump(config, f)
        entry = {"case": name, "config": json.dumps(config, sort_keys=True)}
        try:
            processor = CLIPImageProcessorPil.from_pretrained(tmp)
        except (ValueError, IndexError) as e:
            entry["load_error"] = f"{type(e).__name__}: {e}"
            entries.append(entry)
            continue
        results = []
        for input_name in COMBINATION_INPUTS:
            try:
                out = processor(Image.fromarray(images[input_name]), return_tensors="np")["pixel_values"][0]
            except (ValueError, AttributeError, TypeError) as e:
                results.append({"input": input_name, "error": error_kind(e), "message": str(e)[:80]})
                continue
            pv = np.asarray(out).astype(np.float32)
            results.append({"input": input_name, "shape": list(pv.shape), "fnv1a64": fnv1a64(pv)})
        entry["results"] = results
        entries.append(entry)
    shutil.rmtree(tmp)
    return entries


def write_bytes(path, array):
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(array).tobytes())


def encode_pixel_values(pv):
    """Lossless table + index encoding of a float32 [3, H, W] array."""
    assert pv.dtype == np.float32 and pv.ndim == 3 and pv.shape[0] == 3
    tables, index = [], np.empty(pv.shape, dtype=np.uint8)
    for c in range(3):
        values, inverse = np.unique(pv[c], return_inverse=True)
        assert len(values) <= 256, "more than 256 distinct values in one channel"
        tables.append(values.astype("<f4"))
        index[c] = inverse.reshape(pv.shape[1:]).astype(np.uint8)
    decoded = np.stack([tables[c][index[c]] for c in range(3)])
    assert np.array_equal(decoded.view(np.uint32), pv.view(np.uint32))
    return tables, index


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(os.path.join(ROOT, "inputs"))
    inputs = build_inputs()
    manifest = {
        "generator": "Tools/reference/preprocess_fixtures.py",
        "transformers": transformers.__version__,
        "pillow": PIL.__version__,
        "inputs": {},
        "cases": [],
        "resize": [],
    }
    images = {}
    for name, (stored, how) in inputs.items():
        file = f"inputs/{name}.rgb"
        write_bytes(os.path.join(ROOT, file), stored)
        image = construct(stored, how)
        images[name] = image
        manifest["inputs"][name] = {
            "file": file, "stored_width": stored.shape[1], "stored_height": stored.shape[0],
            "construct": how, "width": image.shape[1], "height": image.shape[0],
        }

    for case, config, names in CASES:
        case_dir = os.path.join(ROOT, case)
        os.makedirs(case_dir)
        with open(os.path.join(case_dir, "preprocessor_config.json"), "w") as f:
            json.dump(config, f, indent=2)
        processor = CLIPImageProcessorPil.from_pretrained(case_dir)
        for name in names:
            out = processor(Image.fromarray(images[name]), return_tensors="np")["pixel_values"][0]
            pv = np.asarray(out).astype(np.float32)
            tables, index = encode_pixel_values(pv)
            stem = f"{case}/{name}"
            write_bytes(os.path.join(ROOT, stem + ".values.f32"), np.concatenate(tables))
            write_bytes(os.path.join(ROOT, stem + ".index.u8"), index)
            manifest["cases"].append({
                "case": case, "config": f"{case}/preprocessor_config.json", "input": name,
                "shape": list(pv.shape), "table_counts": [len(t) for t in tables],
                "values": stem + ".values.f32", "index": stem + ".index.u8",
            })

    os.makedirs(os.path.join(ROOT, "resize"))
    for name, targets in RESIZE_TARGETS.items():
        pil = Image.fromarray(images[name])
        for (w, h) in targets:
            for flt in (ALL_FILTERS if w * h <= SMALL_OUTPUT else [2, 3]):
                out = np.asarray(pil.resize((w, h), flt))
                file = f"resize/{name}_{w}x{h}_f{flt}.rgb"
                write_bytes(os.path.join(ROOT, file), out)
                manifest["resize"].append({"input": name, "width": w, "height": h, "filter": flt, "file": file})

    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    combinations = write_combinations(images)
    with open(os.path.join(ROOT, "combinations.json"), "w") as f:
        # One config per line keeps the file small and its diffs readable.
        head = {"generator": manifest["generator"], "transformers": transformers.__version__, "pillow": PIL.__version__}
        f.write(json.dumps(head)[:-1] + ', "configs": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in combinations))
        f.write("\n]}\n")
    total = sum(os.path.getsize(os.path.join(d, fn)) for d, _, fns in os.walk(ROOT) for fn in fns)
    print(f"{len(manifest['cases'])} preprocess cases, {len(manifest['resize'])} resize cases, "
          f"{len(combinations)} size/crop combinations, {total} bytes")


if __name__ == "__main__":
    main()
