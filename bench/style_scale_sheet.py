"""A contact sheet of brush-stroke scale at high resolution: --style-size against --style-scale.

    python bench/style_scale_sheet.py --vgg models/vgg_normalised.pth \\
        --decoder models/decoder.pth [--content PHOTO] [--style PAINTING] [-o sheet.jpg]

Columns: the 512 px result (content and style at 512, the look people know), then the
photo at full size (``--content-size 0``) with ``--style-size 512`` and with
``--style-scale`` 0.25, 0.5 and 1. The top row shows each result whole, the bottom row a
1:1 crop of its centre (256 px), where the strokes' size shows. Without weights given the
weights are random (a check that the script runs; the pictures then say nothing).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from common import MEDIA, random_weights
from PIL import Image, ImageDraw

from adain import StyleOptions, Stylizer
from adain.batch.grid import compose, fit_inside, plan_layout
from adain.images import save_image

SCALES = (0.25, 0.5, 1.0)
CROP = 256


def centre_crop(picture: Image.Image, side: int) -> Image.Image:
    left, top = (picture.width - side) // 2, (picture.height - side) // 2
    return picture.crop((left, top, left + side, top + side))


def labelled(picture: Image.Image, text: str) -> Image.Image:
    picture = picture.copy()
    ImageDraw.Draw(picture).text((6, 6), text, fill=(255, 255, 255), stroke_width=2,
                                 stroke_fill=(0, 0, 0))
    return picture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg", type=Path)
    parser.add_argument("--decoder", type=Path)
    parser.add_argument("--content", type=Path, default=MEDIA / "content" / "kodim01.png")
    parser.add_argument("--style", type=Path, default=MEDIA / "style" / "starry_night.jpg")
    parser.add_argument("--content-size", type=int, default=0,
                        help="the photo's shorter side for the full-size columns [0: as it is]")
    parser.add_argument("-o", "--output", type=Path, default=Path("style_scale_sheet.jpg"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        vgg, decoder = (args.vgg, args.decoder) if args.vgg else random_weights(Path(folder))
        stylizer = Stylizer(vgg, decoder)
        columns = [("512 px result", StyleOptions(content_size=512, style_size=512))]
        columns.append(("full size, --style-size 512",
                        StyleOptions(content_size=args.content_size, style_size=512)))
        columns += [(f"full size, --style-scale {s:g}",
                     StyleOptions(content_size=args.content_size, style_scale=s))
                    for s in SCALES]
        cells = {}
        for column, (text, options) in enumerate(columns):
            picture = stylizer.stylize(args.content, args.style, options)
            cells[(0, column)] = labelled(fit_inside(picture, (512, 512)), text)
            cells[(1, column)] = labelled(centre_crop(picture, CROP), "centre, 1:1")
            print(f"{text}: {picture.width}x{picture.height}", flush=True)
        sheet = compose(plan_layout(2, len(columns), cell=512), cells)
        save_image(sheet, args.output)
        print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
