"""Options and steps that ``astromer pretrain``, ``embed`` and ``probe`` share on images (AstroPT)."""

from __future__ import annotations

import os

ASTROPT_ARCHITECTURES = ("astropt_small", "astropt_001M", "astropt_005M", "astropt_012M")


def parse_crop(text):
    """``--crop``: a fraction of each side (``0.5``) or pixels (``192``, ``192x160``)."""
    if text is None:
        return None
    text = str(text).strip()
    if "x" in text:
        h, w = text.split("x", 1)
        return (int(h), int(w))
    value = float(text)
    if value.is_integer() and value > 1:
        return int(value)
    return value


def add_image_options(parser, defaults_from_model=True, label_column=True):
    """The image options; ``label_column=False`` where the command has its own ``--label-column``."""
    g = parser.add_argument_group(
        "images (AstroPT; used when the input is an image folder, image records or an HDF5/FITS stack)")
    later = " (default: what the model was pretrained with, from its images.json; else %s)"
    g.add_argument("--image-size", type=int, default=None, metavar="PX",
                   help="resize every image to PX x PX" + (later % "64 for a new model, the stored "
                                                           "size for a preset" if defaults_from_model else ""))
    g.add_argument("--crop", default=None, metavar="F|PX",
                   help="centre crop before resizing: a fraction of each side (0.45) or pixels (192 or 192x160)"
                        + (later % "none" if defaults_from_model else ""))
    g.add_argument("--channels", type=int, default=None, metavar="C",
                   help="decode images with C channels (1 grey, 3 colour)" + (later % "3" if defaults_from_model else ""))
    g.add_argument("--id-column", default="object_id", metavar="NAME",
                   help="labels-table column with the object ids (images: file names without extension; "
                        "light curves: the curves' object_id) (default: %(default)s)")
    if label_column:
        g.add_argument("--label-column", default="label", metavar="NAME",
                       help="labels-table column with the classes of a flat folder (class subfolders name them)")
    g.add_argument("--keep-columns", metavar="LIST",
                   help="labels-table columns carried to the output, e.g. redshift,split (default: none)")
    add_image_source_options(g)
    return g


def add_image_source_options(group):
    """The options that locate images in an input (also ``records convert``'s)."""
    group.add_argument("--path-column", metavar="NAME",
                       help="labels-table column with each image's path, relative to the folder (a flat folder)")
    group.add_argument("--images-key", metavar="NAME",
                       help="HDF5 dataset holding the image stack (default: 'images' or the only 3-D+ dataset)")
    group.add_argument("--ids-key", metavar="NAME",
                       help="HDF5 dataset / FITS table column with the object ids (default: object_id when present)")
    group.add_argument("--channels-first", action="store_true",
                       help="HDF5 / .npy stacks are (N, C, H, W) (FITS stacks are channels first already)")


def geometry(args, model_dir=None, new_model=False):
    """``(image_size, crop, channels)`` from the options, the model's images.json, then defaults."""
    from astromer.tasks.images import image_settings

    stored = image_settings(model_dir)
    size = args.image_size or stored.get("image_size") or (64 if new_model else None)
    crop = parse_crop(args.crop) if args.crop is not None else stored.get("crop")
    if isinstance(crop, list):
        crop = tuple(crop)
    channels = args.channels or stored.get("channels") or 3
    return size, crop, channels


def kept_columns(args, *more):
    listed = [c for c in (getattr(args, "keep_columns", None) or "").split(",") if c]
    return tuple(dict.fromkeys(listed + [c for c in more if c]))


def read_images(args, path, size, crop, channels, labels=None, columns=(), split=None):
    from astromer.tasks.images import read_images_input

    result = read_images_input(path, labels, split=split, image_size=size, crop=crop, channels=channels,
                               id_column=getattr(args, "id_column", None) or "object_id",
                               label_column=getattr(args, "label_column", None) or "label",
                               path_column=args.path_column, columns=columns, images_key=args.images_key,
                               ids_key=args.ids_key, channels_first=True if args.channels_first else None,
                               progress=not getattr(args, "quiet", False))
    for line in result.report.lines():
        print(f"[images] {line}", flush=True)
    return result


def new_astropt(architecture, image_size, channels, patch_size=None):
    """A new AstroPT for ``image_size`` images: ``astropt_small`` (4 blocks, width 128, 8-px
    patches: the GZ1 benchmark's model) or a published size in the "modern" family."""
    import astromer

    if architecture == "astropt_small":
        patch = patch_size or 8
        if image_size % patch:
            raise ValueError(f"--image-size {image_size} is not a multiple of --patch-size {patch}")
        return astromer.AstroPT(num_layers=4, num_heads=4, embed_dim=128, block_size=(image_size // patch) ** 2,
                                patch_size=patch, num_channels=channels, tokenizer="aim", name="astropt")
    size = architecture.split("_", 1)[1]
    overrides = {"num_channels": channels, "patch_size": patch_size or 16}
    return astromer.AstroPT.from_architecture(size, family="modern", image_size=image_size, **overrides)


def model_dir_of(args):
    model = getattr(args, "model", None)
    return model if model and os.path.isdir(model) else None
