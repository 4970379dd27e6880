#!/usr/bin/python3
"""Score the edited images of the experiment recipes with an independent classifier.

The recipes (experiments/*.sh, through `csvae-gpu manipulate --images`) write,
for every model, the edited test images and the attribute values each was
meant to have:

    EXP/edited/MODEL/*.png
    EXP/edited/MODEL/edits.csv   file,source,edit,ATTR1,ATTR2,...
                                 (edit: "none" for the unedited reconstruction,
                                 or e.g. "Eyeglasses=1")

This script judges them with an attribute classifier that owes nothing to the
project: its own preprocessing (PIL: centre crop 148x148 of the 178x218
image, resized to --size with PIL's BOX, i.e. area, filter), its own network
(3x3 convolutions with batch norm and max-pooling, dropout, a multi-label
binary cross-entropy; the project's classifier uses 4x4 stride-2
convolutions and LeakyReLU), trained in PyTorch on the training partition
(list_eval_partition.txt == 0) only, seeded and single-process on the CPU.

For each model it reports, per edited attribute A:
  to 1 / to 0    share of the edits that flip A (the source image's label is
                 the opposite of the target) which the classifier judges to
                 have the target value; manipulation = their mean (the
                 project's `eval` definition: every image edited to the
                 opposite of its label);
  same-label     the same share for the edits to the image's own label;
  kept (labels)  over the edits of A, the share of (image, kept attribute)
                 pairs whose prediction equals the value the image was meant
                 to keep (its label); "all kept" the share of edits in which
                 every kept attribute does;
  all kept vs recon  the share of edits in which the prediction of every kept
                 attribute equals the prediction on the same model's unedited
                 reconstruction of the same image (the project's
                 "preservation");
  recon acc      accuracy on A of the unedited reconstructions (edit == none)
                 against the source image's label.

Kept attributes of an edit of A (--keep auto, the default, as the project's
`eval`): the other columns of edits.csv that are never edited (the "keeping"
experiments); if every column is edited, every other attribute the
classifier knows (--attrs). A kept attribute that is not a column of
edits.csv is meant to keep the source image's label from
list_attr_celeba.txt.

With --ideal FLIPDIR (the faces of --data drawn again with one attribute
reversed: `csvae-gpu synth --flip A`, same --n and --seed) it also scores a
perfect editor: every test image's edit is the same face with A reversed and
nothing else changed, its "reconstruction" the image itself. That row is the
ceiling of the columns under this classifier.

Needs: python3 with torch, numpy and PIL (on Debian: the python3-torch,
python3-numpy and python3-pil packages; run it with /usr/bin/python3).

Example:
  /usr/bin/python3 experiments/independent-check.py \\
    --data runs/experiments/data/faces-n8000-seed1 \\
    --edited runs/experiments/eyeglasses-small \\
    --attrs Eyeglasses,Smiling,Male,Heavy_Makeup,Wearing_Lipstick,Mustache,Receding_Hairline,Wearing_Hat,Blond_Hair,Bangs \\
    --out experiments/independent-check.md
"""

import argparse
import csv
import os
import shlex
import sys
import time

_missing = []
try:
    import numpy as np
except ImportError:
    _missing.append("numpy (Debian: apt-get install python3-numpy)")
try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    _missing.append("torch (Debian: apt-get install python3-torch; or pip install torch)")
try:
    from PIL import Image
except ImportError:
    _missing.append("PIL / Pillow (Debian: apt-get install python3-pil; or pip install pillow)")
if _missing:
    sys.stderr.write(
        "independent-check.py needs python3 with torch, numpy and PIL; missing:\n  "
        + "\n  ".join(_missing)
        + "\n(Debian's packages are for /usr/bin/python3: run the script with it.)\n"
    )
    sys.exit(2)

from celeba_files import load_face, read_attrs  # noqa: E402  (after the dependency check)

MODEL_ORDER = ["vae", "csvae", "csvae-noadv", "condvae", "condvae-info"]


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- data


def read_partition(path):
    part = {}
    with open(path) as f:
        for line in f:
            row = line.split()
            if len(row) == 2:
                part[row[0]] = int(row[1])
    return part


def load_png(path, size):
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.size != (size, size):
            im = im.resize((size, size), Image.BOX)
        return np.asarray(im, dtype=np.uint8)


def to_tensor(images):
    """N x H x W x 3 uint8 -> N x 3 x H x W float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))).float().div_(255)


def find_data_dir(d):
    for cand in (d, os.path.join(d, "faces-n8000-seed1")):
        if os.path.isfile(os.path.join(cand, "list_attr_celeba.txt")):
            return cand
    # a recipe's OUT/data holds one faces-* directory per draw
    if os.path.isdir(d):
        subs = sorted(
            os.path.join(d, s) for s in os.listdir(d) if os.path.isfile(os.path.join(d, s, "list_attr_celeba.txt"))
        )
        if len(subs) == 1:
            return subs[0]
        if subs:
            raise SystemExit(f"--data {d}: several CelebA-layout directories inside, name one: {', '.join(subs)}")
    raise SystemExit(f"--data {d}: no list_attr_celeba.txt there (want img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt)")


def load_split(data, names, labels, part, attrs, which, size):
    idx = [names.index(a) for a in attrs]
    files = sorted(f for f, p in part.items() if p == which)
    imgs, ys = [], []
    for f in files:
        imgs.append(load_face(os.path.join(data, "img_align_celeba", f), size))
        ys.append(labels[f][idx])
    return to_tensor(imgs), torch.from_numpy(np.stack(ys).astype(np.float32))


# ---------------------------------------------------------------- classifier


class Net(nn.Module):
    """3x3 convs, batch norm, ReLU, 2x2 max-pooling; global pooling + dropout + two dense layers."""

    def __init__(self, k, size, width=32, dropout=0.3):
        super().__init__()
        c = width
        layers, ch, s = [], 3, size
        for out, convs in ((c, 1), (2 * c, 2), (4 * c, 2)):
            for _ in range(convs):
                layers += [nn.Conv2d(ch, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                ch = out
            layers.append(nn.MaxPool2d(2))
            s //= 2
        if s > 4:  # larger images: pool down to 4x4
            layers.append(nn.AdaptiveMaxPool2d(4))
            s = 4
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(ch * s * s, 128),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(128, k),
        )

    def forward(self, x):
        return self.head(self.features(x - 0.5))


def train_classifier(x, y, args, k):
    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    net = Net(k, args.size)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, weight_decay=1e-4)
    n = x.shape[0]
    steps = (n + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps)
    for ep in range(args.epochs):
        net.train()
        t0 = time.time()
        perm = rng.permutation(n)
        total = 0.0
        for b in range(steps):
            i = torch.from_numpy(perm[b * args.batch : (b + 1) * args.batch])
            xb, yb = x[i], y[i]
            flip = torch.from_numpy(rng.rand(len(i)) < 0.5)
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)  # aligned faces: mirror is label-preserving
            loss = F.binary_cross_entropy_with_logits(net(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(i)
        log(f"  epoch {ep + 1}/{args.epochs}: train BCE {total / n:.4f} ({time.time() - t0:.0f}s)")
    net.eval()
    return net


@torch.no_grad()
def predict(net, x, batch=500):
    out = [torch.sigmoid(net(x[i : i + batch])) for i in range(0, x.shape[0], batch)]
    return (torch.cat(out) > 0.5).numpy().astype(np.uint8)


def accuracy_table(pred, y, attrs):
    y = y.numpy().astype(np.uint8)
    rows = []
    for j, a in enumerate(attrs):
        p, t = pred[:, j], y[:, j]
        pos, neg = t == 1, t == 0
        tpr = (p[pos] == 1).mean() if pos.any() else float("nan")
        tnr = (p[neg] == 0).mean() if neg.any() else float("nan")
        rows.append((a, (p == t).mean(), np.nanmean([tpr, tnr]), tpr, tnr, int(pos.sum()), max(t.mean(), 1 - t.mean())))
    return rows


# ---------------------------------------------------------------- edited images


def model_dirs(d):
    """(experiment, model, dir) for DIR = an experiment dir, its edited/ dir, or one edited/MODEL dir."""
    d = os.path.normpath(d)
    if os.path.isfile(os.path.join(d, "edits.csv")):
        exp = os.path.basename(os.path.dirname(os.path.dirname(d))) or d
        return [(exp, os.path.basename(d), d)]
    for base, exp in ((os.path.join(d, "edited"), os.path.basename(d)), (d, os.path.basename(os.path.dirname(d)))):
        if os.path.isdir(base):
            ms = [m for m in os.listdir(base) if os.path.isfile(os.path.join(base, m, "edits.csv"))]
            if ms:
                ms.sort(key=lambda m: (MODEL_ORDER.index(m) if m in MODEL_ORDER else len(MODEL_ORDER), m))
                return [(exp, m, os.path.join(base, m)) for m in ms]
    raise SystemExit(f"--edited {d}: no edits.csv in it, nor in edited/*/ below it")


def read_edits(path):
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = next(r)
        if head[:3] != ["file", "source", "edit"]:
            raise SystemExit(f"{path}: header {head[:3]}, want file,source,edit,ATTR...")
        cols = head[3:]
        rows = []
        for row in r:
            if not row:
                continue
            vals = [int(v) for v in row[3:]]
            if row[2] == "none":
                edit = None
            else:
                a, _, v = row[2].partition("=")
                if a not in cols or v not in ("0", "1"):
                    raise SystemExit(f"{path}: edit {row[2]!r} is not ATTR=0|1 of a column")
                edit = (a, int(v))
            rows.append((row[0], row[1], edit, vals))
    return cols, rows


def fmt(v, digits=3):
    return "—" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"


def share(mask):
    return float(np.mean(mask)) if len(mask) else float("nan")


def ideal_rows(data, flipdir, names, labels, part, size):
    """The ideal editor of synth --flip: (attribute, cols, rows, images) with, for each test image, the
    original as the "reconstruction" and the same face drawn with one attribute reversed as its edit."""
    fdata = find_data_dir(flipdir)
    fnames, flabels = read_attrs(os.path.join(fdata, "list_attr_celeba.txt"))
    if fnames != names or set(flabels) != set(labels):
        raise SystemExit(f"--ideal {flipdir}: not the faces of --data with an attribute flipped (other names or files)")
    diff = sorted({j for n in labels for j in range(len(names)) if labels[n][j] != flabels[n][j]})
    flipped = [names[j] for j in diff if all(labels[n][j] != flabels[n][j] for n in labels)]
    if len(flipped) != 1:
        raise SystemExit(f"--ideal {flipdir}: want exactly one attribute reversed on every face, found {flipped or 'none'}")
    a = flipped[0]
    j = names.index(a)
    rows, imgs = [], []
    for n in sorted(x for x in labels if part.get(x) == 2):
        own = int(labels[n][j])
        rows.append(("orig:" + n, n, None, [own]))
        rows.append(("flip:" + n, n, (a, 1 - own), [1 - own]))
        imgs.append(load_face(os.path.join(data, "img_align_celeba", n), size))
        imgs.append(load_face(os.path.join(fdata, "img_align_celeba", n), size))
    return a, [a], rows, imgs


def score_model(net, args, mdir, cols, rows, attrs, names, labels, keep_arg, imgs=None):
    """Returns (per-edited-attribute rows, per-kept-attribute shares, kept list per edited attribute)."""
    aidx = {a: j for j, a in enumerate(attrs)}
    if imgs is None:
        imgs = [load_png(os.path.join(mdir, r[0]), args.size) for r in rows]
    pred = predict(net, to_tensor(imgs))  # n x len(attrs)
    edited_attrs = [a for a in cols if any(r[2] and r[2][0] == a for r in rows)]
    for a in edited_attrs:
        if a not in aidx:
            raise SystemExit(f"{mdir}: {a} is edited but the classifier does not know it; add it to --attrs")
    # intended values: the edits.csv column, else the source image's label
    def intended(r, a):
        if a in cols:
            return r[3][cols.index(a)]
        return int(labels[r[1]][names.index(a)])

    recon = {}  # source -> row index of its unedited reconstruction
    for i, r in enumerate(rows):
        if r[2] is None:
            recon[r[1]] = i
    out, per_kept, kept_of = [], {}, {}
    for a in edited_attrs:
        if keep_arg == "auto":
            never = [c for c in cols if c not in edited_attrs]
            kept = never if never else [b for b in attrs if b != a]
        else:
            kept = [b for b in keep_arg if b != a]
        kept = [b for b in kept if b in aidx]
        kept_of[a] = kept
        j = aidx[a]
        hit = {1: [], 0: []}
        same = []
        kept_ok, kept_all, kept_vs_recon = [], [], []
        for i, r in enumerate(rows):
            if r[2] is None or r[2][0] != a:
                continue
            target = r[2][1]
            own = int(labels[r[1]][names.index(a)])  # the source image's label
            ok = pred[i, j] == target
            if own != target:
                hit[target].append(ok)
            else:
                same.append(ok)
            if kept:
                oks = [pred[i, aidx[b]] == intended(r, b) for b in kept]
                kept_ok.extend(oks)
                kept_all.append(all(oks))
                for b, o in zip(kept, oks):
                    per_kept.setdefault(b, []).append(o)
                if r[1] in recon:
                    k = recon[r[1]]
                    kept_vs_recon.append(all(pred[i, aidx[b]] == pred[k, aidx[b]] for b in kept))
        rec = [pred[i, j] == intended(r, a) for i, r in enumerate(rows) if r[2] is None]
        t1, t0 = share(hit[1]), share(hit[0])
        out.append(
            dict(
                attr=a,
                to1=t1,
                to0=t0,
                manip=float(np.nanmean([t1, t0])) if hit[1] or hit[0] else float("nan"),
                same=share(same),
                kept=share(kept_ok),
                kept_all=share(kept_all),
                kept_recon=share(kept_vs_recon),
                recon=share(rec),
                n1=len(hit[1]),
                n0=len(hit[0]),
                nsame=len(same),
                nkept=len(kept),
            )
        )
    per_kept = {b: share(v) for b, v in per_kept.items()}
    return out, per_kept, kept_of


# ---------------------------------------------------------------- main


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="See the module docstring (head of this file) for the columns.")
    p.add_argument("--data", required=True, help="CelebA-layout directory (img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt)")
    p.add_argument("--edited", action="append", default=[],
                   help="an experiment dir holding edited/MODEL/edits.csv, an edited/ dir, or one edited/MODEL dir; repeat for several "
                        "(at least one of --edited and --ideal)")
    p.add_argument("--size", type=int, default=32, help="image side the classifier works at (default 32)")
    p.add_argument("--epochs", type=int, default=8, help="training epochs (default 8)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--attrs", help="attributes the classifier learns, comma-separated (default: the attribute columns of every edits.csv)")
    p.add_argument("--keep", default="auto",
                   help="attributes judged for preservation, comma-separated, or 'auto' (default): the never-edited columns "
                        "of edits.csv, or, when every column is edited, every other attribute of --attrs")
    p.add_argument("--ideal", action="append", default=[],
                   help="the faces of --data drawn with one attribute reversed (csvae-gpu synth --flip): scores them as a "
                        "perfect editor's edits of the test images, the ceiling of the columns; repeat for several")
    p.add_argument("--out", help="write the Markdown report here (it is printed to stdout too)")
    args = p.parse_args()
    if not args.edited and not args.ideal:
        p.error("nothing to score: give --edited (a model's edits) or --ideal (synth --flip faces), or both")

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    data = find_data_dir(args.data)
    names, labels = read_attrs(os.path.join(data, "list_attr_celeba.txt"))
    part = read_partition(os.path.join(data, "list_eval_partition.txt"))

    runs = []  # (experiment, model, dir, cols, rows, preloaded images or None)
    for d in args.edited:
        for exp, m, md in model_dirs(d):
            cols, rows = read_edits(os.path.join(md, "edits.csv"))
            for r in rows:
                if r[1] not in labels:
                    raise SystemExit(f"{md}/edits.csv: source {r[1]} is not in {data}/list_attr_celeba.txt (wrong --data?)")
            runs.append((exp, m, md, cols, rows, None))
    for fd in args.ideal:
        a, cols, rows, imgs = ideal_rows(data, fd, names, labels, part, args.size)
        runs.append((f"ideal editor of {a} (synth --flip)", "ideal", fd, cols, rows, imgs))
    if args.attrs:
        attrs = [a for a in args.attrs.split(",") if a]
    else:
        attrs = []
        for run in runs:
            attrs += [c for c in run[3] if c not in attrs]
    keep_arg = "auto" if args.keep == "auto" else [a for a in args.keep.split(",") if a]
    if keep_arg != "auto":
        attrs += [a for a in keep_arg if a not in attrs]
    for a in attrs:
        if a not in names:
            raise SystemExit(f"attribute {a} is not in {data}/list_attr_celeba.txt")

    t0 = time.time()
    log(f"loading {data} at {args.size}x{args.size} (centre crop, PIL BOX resize)")
    xtr, ytr = load_split(data, names, labels, part, attrs, 0, args.size)
    xte, yte = load_split(data, names, labels, part, attrs, 2, args.size)
    log(f"  {len(xtr)} training, {len(xte)} test images ({time.time() - t0:.0f}s)")
    log(f"training the classifier on {', '.join(attrs)} ({args.epochs} epochs, seed {args.seed}, {args.threads} threads)")
    t1 = time.time()
    net = train_classifier(xtr, ytr, args, len(attrs))
    train_s = time.time() - t1
    acc = accuracy_table(predict(net, xte), yte, attrs)

    md = []
    cmd = "/usr/bin/python3 " + " ".join(shlex.quote(a) for a in sys.argv)
    md.append("# Independent check of the edited images")
    md.append("")
    md.append(f"Command: `{cmd}`")
    md.append("")
    md.append(
        f"Classifier (independent of the project: PyTorch {torch.__version__}, CPU, {args.threads} threads, seed {args.seed}): "
        f"its own preprocessing (centre crop 148x148 of 178x218, PIL BOX resize to {args.size}x{args.size}), "
        "3x3 conv + batch norm + ReLU blocks (32; 64, 64; 128, 128 channels) with 2x2 max-pooling, dropout 0.3, "
        f"dense 128, multi-label BCE, Adam (one-cycle lr {args.lr}), mirror augmentation; {args.epochs} epochs on the "
        f"{len(xtr)} training-partition images of `{data}` only ({train_s:.0f}s). "
        f"Test partition ({len(xte)} real images):"
    )
    md.append("")
    md.append("| attribute | accuracy | balanced | TPR | TNR | positives | majority |")
    md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for a, ac, bal, tpr, tnr, pos, maj in acc:
        md.append(f"| {a} | {ac:.4f} | {bal:.4f} | {fmt(tpr, 4)} | {fmt(tnr, 4)} | {pos} | {maj:.4f} |")
    md.append("")
    md.append(
        "Columns: **to 1 / to 0** share of the edits that flip the attribute (the source's label is the "
        "opposite of the target) judged to have the target value; **manipulation** their mean (the project's "
        "definition); **same-label** the same for edits to the image's own label; **kept** share of (edit, kept "
        "attribute) pairs predicted at the value the image was meant to keep, **all kept** share of edits with "
        "every kept attribute so (both against the intended labels); **all kept vs recon** share of edits whose "
        "prediction of every kept attribute equals that on the same model's unedited reconstruction (the "
        "project's \"preservation\"); **recon acc** accuracy on the unedited reconstructions for the edited "
        "attribute, against the source's label; **n** flips to 1 / to 0 / same-label edits."
    )
    md.append("")

    exps = []
    for run in runs:
        if run[0] not in exps:
            exps.append(run[0])
    for exp in exps:
        md.append(f"## {exp}")
        md.append("")
        rs = [r for r in runs if r[0] == exp]
        table, kept_tables, kept_names = [], [], None
        for _, m, mdir, cols, rows, imgs in rs:
            log(f"scoring {mdir} ({len(rows)} images)")
            out, per_kept, kept_of = score_model(net, args, mdir, cols, rows, attrs, names, labels, keep_arg, imgs)
            for o in out:
                table.append((m, o))
            kept_tables.append((m, per_kept))
            if kept_names is None:
                kept_names = kept_of
        if kept_names:
            md.append(
                "Kept: "
                + "; ".join(f"when editing {a}: {', '.join(k) if k else 'none'}" for a, k in kept_names.items())
                + "."
            )
            md.append("")
        md.append("| model | attribute | to 1 | to 0 | manipulation | same-label | kept | all kept | all kept vs recon | recon acc | n |")
        md.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for m, o in table:
            md.append(
                f"| {m} | {o['attr']} | {fmt(o['to1'])} | {fmt(o['to0'])} | {fmt(o['manip'])} | {fmt(o['same'])} | "
                f"{fmt(o['kept'])} | {fmt(o['kept_all'])} | {fmt(o['kept_recon'])} | {fmt(o['recon'])} | "
                f"{o['n1']}/{o['n0']}/{o['nsame']} |"
            )
        md.append("")
        kb = []
        for _, pk in kept_tables:
            kb += [b for b in pk if b not in kb]
        if kb:
            md.append("Per kept attribute: share of all the edits of the model that keep it at its intended value.")
            md.append("")
            md.append("| model | " + " | ".join(kb) + " |")
            md.append("| --- |" + " ---: |" * len(kb))
            for m, pk in kept_tables:
                md.append(f"| {m} | " + " | ".join(fmt(pk.get(b)) for b in kb) + " |")
            md.append("")
    text = "\n".join(md).rstrip("\n")
    print(text)
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text.rstrip("\n") + "\n")
        os.replace(tmp, args.out)
        log(f"wrote {args.out}")
    log(f"done in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
