#!/usr/bin/python3
"""Enlarge one region of a recipe's edited images, model beside model.

A kept attribute that lives in a few pixels (lipstick on a smile's lip line,
at 32x32) is hard to judge on the recipes' grids. This script picks the first
--n test faces whose label --select names (e.g. Wearing_Lipstick=1), and
draws, cropped to --box and enlarged: the input (as the project crops and
resizes it, celeba_files.load_face), the
first model's unedited reconstruction, each model's edit of --edit to the
opposite of the face's label, and, with --ideal, the same face drawn again
with the attribute flipped (synth --flip): the edit a perfect editor makes.

It reads what the recipes write (csvae-gpu manipulate --images):

    EXP/edited/MODEL/*.png
    EXP/edited/MODEL/edits.csv   file,source,edit,ATTR1,...

The faces are the first in edits.csv's order that match --select, not chosen
by how their edits look.
"""
import argparse
import csv
import os

from PIL import Image, ImageDraw, ImageFont

from celeba_files import load_face, read_attrs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--exp', required=True, help='a recipe output, e.g. runs/experiments/eyeglasses-smiling-small')
    ap.add_argument('--faces', required=True, help='the CelebA-layout faces the recipe trained on')
    ap.add_argument('--edit', required=True, help='the edited attribute, e.g. Smiling')
    ap.add_argument('--select', required=True, help='ATTR=0|1: which faces to show, e.g. Wearing_Lipstick=1')
    ap.add_argument('--models', default='csvae,condvae-info,condvae,vae')
    ap.add_argument('--ideal', help='the same faces drawn with --edit flipped (synth --flip), CelebA layout')
    ap.add_argument('--box', default='6,15,26,31', help='left,top,right,bottom in the images\' pixels (default: the mouth at 32x32)')
    ap.add_argument('--n', type=int, default=10)
    ap.add_argument('--zoom', type=int, default=6)
    ap.add_argument('--out', required=True, help='the PNG to write')
    a = ap.parse_args()

    names, labels = read_attrs(os.path.join(a.faces, 'list_attr_celeba.txt'))
    sel_attr, sel_val = a.select.split('=')
    for name in (sel_attr, a.edit):
        if name not in names:
            raise SystemExit(f'{name}: not an attribute of {a.faces}')
    sel_j, edit_j, want = names.index(sel_attr), names.index(a.edit), int(sel_val == '1')
    box = tuple(int(v) for v in a.box.split(','))
    models = a.models.split(',')
    edits = {}
    for m in models:
        path = os.path.join(a.exp, 'edited', m, 'edits.csv')
        if not os.path.exists(path):
            raise SystemExit(f'{path}: missing (run the recipe, or drop {m} from --models)')
        with open(path) as f:
            edits[m] = {(r['file'][:5], r['edit']): r for r in csv.DictReader(f)}

    first = edits[models[0]]
    sources = {}
    for (idx, _), r in first.items():
        sources.setdefault(idx, r['source'])
    faces = [idx for idx in sorted(sources) if labels[sources[idx]][sel_j] == want][:a.n]
    if not faces:
        raise SystemExit(f'no edited face has {a.select}')

    z = a.zoom
    w, h = (box[2] - box[0]) * z, (box[3] - box[1]) * z
    heads = ['input', f'{models[0]} recon'] + [f'{m} edit' for m in models] + (['ideal'] if a.ideal else [])
    font = ImageFont.load_default()
    im = Image.new('RGB', (90 + len(heads) * (w + 4), 22 + len(faces) * (h + 4)), 'white')
    d = ImageDraw.Draw(im)
    for j, head in enumerate(heads):
        d.text((90 + j * (w + 4) + 4, 5), head, fill='black', font=font)
    for i, idx in enumerate(faces):
        src = sources[idx]
        target = 1 - int(labels[src][edit_j])
        key = (idx, f'{a.edit}={target}')
        size = Image.open(os.path.join(a.exp, 'edited', models[0], first[key]['file'])).size[0]
        cells = [Image.fromarray(load_face(os.path.join(a.faces, 'img_align_celeba', src), size)),
                 Image.open(os.path.join(a.exp, 'edited', models[0], first[(idx, 'none')]['file']))]
        cells += [Image.open(os.path.join(a.exp, 'edited', m, edits[m][key]['file'])) for m in models]
        if a.ideal:
            cells.append(Image.fromarray(load_face(os.path.join(a.ideal, 'img_align_celeba', src), size)))
        y = 22 + i * (h + 4)
        d.text((4, y + h // 2 - 6), f'{a.edit}={target}', fill='black', font=font)
        for j, c in enumerate(cells):
            im.paste(c.convert('RGB').crop(box).resize((w, h), Image.NEAREST), (90 + j * (w + 4), y))
    im.save(a.out)
    print(f'wrote {a.out}: {len(faces)} faces with {a.select}')


if __name__ == '__main__':
    main()
