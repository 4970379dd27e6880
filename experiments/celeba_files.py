"""CelebA-layout files as the project reads them, for the Python scripts of experiments/.

Shared by independent-check.py and closeup.py: the attribute list and the
project's crop of a face (a centred square of side 148/178 of the width,
resized with an area filter).
"""
import numpy as np
from PIL import Image


def read_attrs(path):
    """list_attr_celeba.txt: [count line,] header of names, rows 'file v1 v2 ...' with +-1."""
    with open(path) as f:
        lines = [l.split() for l in f if l.strip()]
    if len(lines[0]) == 1 and lines[0][0].isdigit():
        lines = lines[1:]
    names = lines[0]
    labels = {}
    for row in lines[1:]:
        if len(row) != len(names) + 1:
            raise SystemExit(f"{path}: row {row[0]} has {len(row) - 1} values, header has {len(names)}")
        labels[row[0]] = np.array([int(v) > 0 for v in row[1:]], dtype=np.uint8)
    return names, labels


def crop_window(w, h):
    """The project's (and the usual CelebA-64) crop: a centred square of side 148/178 of the width."""
    side = w * 148 / 178
    if side > h:
        side = h
    x0, y0 = (w - side) / 2, (h - side) / 2
    return (x0, y0, x0 + side, y0 + side)


def load_face(path, size):
    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        im = im.resize((size, size), Image.BOX, box=crop_window(w, h))
        return np.asarray(im, dtype=np.uint8)
