"""``perceptflow distortions``: list the registry, apply a distortion to a file, render a gallery grid."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from PIL import Image

from perceptflow.distortions import DISTORTIONS, DOMAINS, SCHEMES, DistortionSpec, distortions_in, get_distortion


def add_distortions_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``distortions`` with its subcommands ``list``, ``apply`` and ``gallery``."""
    parser = subparsers.add_parser(
        "distortions",
        help="list, apply or preview the synthetic distortions",
        description="The 25 KADID-10k distortion types x 5 levels and the six DPS transforms.",
    )
    commands = parser.add_subparsers(dest="distortions_command", required=True)

    listing = commands.add_parser("list", help="the registry: id, name, domain, group, level values")
    listing.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    listing.add_argument("--domain", choices=DOMAINS, help="only this domain (default: all)")
    listing.set_defaults(func=run_list)

    apply = commands.add_parser(
        "apply",
        help="distort one image file",
        description="With --type all or --level all, OUT is a folder that receives <type>_<level>.png per "
        "(type, level); otherwise OUT is the output file.",
    )
    apply.add_argument("image", type=Path, metavar="IMG", help="input image (any Pillow-readable format)")
    apply.add_argument("--type", required=True, dest="type_name", metavar="NAME",
                       help="distortion name (see `distortions list`) or 'all' for the 25 KADID types")  # fmt: skip
    apply.add_argument("--level", required=True, choices=["1", "2", "3", "4", "5", "all"], help="1..5 or all")
    apply.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    apply.add_argument("--scheme", choices=SCHEMES, default="severity", help="level scheme (default severity)")
    apply.add_argument("-o", "--out", required=True, type=Path, metavar="OUT", help="output file or folder")
    apply.set_defaults(func=run_apply)

    gallery = commands.add_parser(
        "gallery", help="a labelled 25x5 grid of one picture under the whole bank",
        description="With --domain medical, IMG is a NIfTI volume and each cell shows three orthogonal slices.",
    )  # fmt: skip
    gallery.add_argument("image", type=Path, metavar="IMG", help="input image (a .nii/.nii.gz with --domain medical)")
    gallery.add_argument("-o", "--out", required=True, type=Path, help="output PNG")
    gallery.add_argument("--size", type=int, default=128, help="cell size in px: the centre crop (default 128)")
    gallery.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    gallery.add_argument("--scheme", choices=SCHEMES, default="severity", help="level scheme (default severity)")
    gallery.add_argument("--domain", choices=["natural", "dps", "medical"], default="natural",
                         help="rows (default natural)")  # fmt: skip
    gallery.add_argument("--spacing", type=float, default=3.0,
                         help="medical only: resample the volume to this spacing in mm first (default 3)")  # fmt: skip
    gallery.set_defaults(func=run_gallery)


def spec_record(spec: DistortionSpec) -> dict[str, Any]:
    """One ``list`` entry; ``kadis_levels`` only where they differ from the default (severity) levels."""
    record: dict[str, Any] = {
        "id": spec.id, "name": spec.name, "domain": spec.domain, "group": spec.group,
        "parameter": spec.parameter, "levels": [float(v) for v in spec.levels],
    }  # fmt: skip
    if spec.kadis_levels and tuple(spec.kadis_levels) != tuple(spec.levels):
        record["kadis_levels"] = [float(v) for v in spec.kadis_levels]
    record["description"] = spec.description
    return record


def run_list(args: argparse.Namespace) -> int:
    """Print the registry as a table or JSON."""
    specs = distortions_in(args.domain) if args.domain else DISTORTIONS
    records = [spec_record(spec) for spec in specs.values()]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    print(f"{'id':>3}  {'name':<28} {'domain':<7} {'group':<18} levels (severity)  [kadis where different]")
    for r in records:
        kadis = f"  [kadis: {_fmt(r['kadis_levels'])}]" if "kadis_levels" in r else ""
        print(f"{r['id']:>3}  {r['name']:<28} {r['domain']:<7} {r['group']:<18} {_fmt(r['levels'])}{kadis}")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    """Distort IMG and write one file, or one file per (type, level) into a folder."""
    from perceptflow.data.images import load_rgb
    from perceptflow.distortions import apply_distortion, distortion_rng

    names = list(distortions_in("natural")) if args.type_name == "all" else [get_distortion(args.type_name).name]
    levels = [1, 2, 3, 4, 5] if args.level == "all" else [int(args.level)]
    image = load_rgb(args.image)
    ref_id = args.image.stem
    many = len(names) * len(levels) > 1 or "all" in (args.type_name, args.level)
    if many:
        args.out.mkdir(parents=True, exist_ok=True)
    for name in names:
        for level in levels:
            out = apply_distortion(image, name, level, distortion_rng(args.seed, ref_id, name, level), args.scheme)
            path = args.out / f"{name}_{level}.png" if many else args.out
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(out).save(path)
    where = f"{len(names) * len(levels)} files to {args.out}/" if many else str(args.out)
    print(f"wrote {where}")
    return 0


def run_gallery(args: argparse.Namespace) -> int:
    """Render the labelled types x levels grid of IMG (centre-cropped to --size) to a PNG."""
    from perceptflow.data.images import center_crop_resize, load_rgb
    from perceptflow.distortions.gallery import save_gallery

    if args.domain == "medical":
        return _run_volume_gallery(args)
    if args.size < 48:
        raise ValueError(f"--size must be >= 48 px (the patch distortions need it), got {args.size}")
    image = center_crop_resize(load_rgb(args.image), size=args.size, resize=args.size, source=str(args.image))
    types = list(distortions_in(args.domain))
    save_gallery(image, args.out, size=args.size, types=types, seed=args.seed, scheme=args.scheme,
                 ref_id=args.image.stem)  # fmt: skip
    print(f"wrote {args.out} ({len(types)} types x 5 levels)")
    return 0


def _run_volume_gallery(args: argparse.Namespace) -> int:
    """The medical gallery: read, reorient, resample and normalise the volume, then render."""
    from perceptflow.data.volumes.nifti import NiftiConfig, read_volume
    from perceptflow.distortions.medical.gallery import save_volume_gallery

    volume = read_volume(args.image, NiftiConfig(spacing=args.spacing))[0]
    volume_id = args.image.name.split(".")[0]
    save_volume_gallery(volume.data, args.out, seed=args.seed, volume_id=volume_id)
    print(f"wrote {args.out} ({len(distortions_in('medical'))} types x 5 levels, volume {volume.data.shape})")
    return 0


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)
