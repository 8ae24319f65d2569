#!/usr/bin/env python3
"""check_megatron.py - read a Megatron indexed dataset (.bin + .idx) with the
Python standard library only, check that the two files agree, and print what
they hold.  An independent reader for the files `winnow tok encode --format
megatron` writes (layout in man/winnow-formats.5, MEGATRON INDEXED DATASET).

usage: check_megatron.py [--vocab N] [--eos ID] [--show K] PREFIX|PREFIX.idx|PREFIX.bin

Prints one line
    documents D sequences S tokens T dtype NAME
then, with --show K, the token ids of the first K sequences, one per line.
With --eos, also the number of sequences that do not end with it
("not_eos N").  Exits 1 with a message naming the file when something is
wrong, 2 on a usage error.
"""
import argparse
import array
import os
import struct
import sys

MAGIC = b"MMIDIDX\x00\x00"
# Megatron's dtype codes: (name, array typecode, bytes)
DTYPES = {
    1: ("uint8", "B", 1),
    2: ("int8", "b", 1),
    3: ("int16", "h", 2),
    4: ("int32", "i", 4),
    5: ("int64", "q", 8),
    8: ("uint16", "H", 2),
}


def die(msg):
    print("check_megatron: " + msg, file=sys.stderr)
    sys.exit(1)


def read_array(buf, off, code, count, itemsize):
    a = array.array(code)
    if a.itemsize != itemsize:
        die("this Python's array type %r is %d bytes, not %d" % (code, a.itemsize, itemsize))
    a.frombytes(buf[off:off + count * itemsize])
    if sys.byteorder != "little":
        a.byteswap()
    return a


def main():
    ap = argparse.ArgumentParser(description="check a Megatron .bin/.idx pair")
    ap.add_argument("path")
    ap.add_argument("--vocab", type=int, default=0, help="every id must be below this")
    ap.add_argument("--eos", type=int, default=None, help="count sequences not ending with it")
    ap.add_argument("--show", type=int, default=0, help="print the first K sequences")
    a = ap.parse_args()

    p = a.path
    for ext in (".idx", ".bin"):
        if p.endswith(ext):
            p = p[: -len(ext)]
    idx_path, bin_path = p + ".idx", p + ".bin"
    try:
        with open(idx_path, "rb") as f:
            idx = f.read()
        with open(bin_path, "rb") as f:
            data = f.read()
    except OSError as e:
        die("%s: %s" % (e.filename, e.strerror))

    if len(idx) < 34:
        die("%s: truncated (%d bytes, shorter than the 34-byte header)" % (idx_path, len(idx)))
    if idx[:9] != MAGIC:
        die("%s: not a Megatron index (no MMIDIDX magic)" % idx_path)
    (version,) = struct.unpack_from("<Q", idx, 9)
    if version != 1:
        die("%s: version %d, expected 1" % (idx_path, version))
    code = idx[17]
    if code not in DTYPES:
        die("%s: dtype code %d is not an integer token type" % (idx_path, code))
    name, tc, width = DTYPES[code]
    seqs, ndoc = struct.unpack_from("<QQ", idx, 18)
    need = 34 + 12 * seqs + 8 * ndoc
    if len(idx) != need:
        die("%s: %d bytes, but %d sequences and %d document entries need %d"
            % (idx_path, len(idx), seqs, ndoc, need))
    sizes = read_array(idx, 34, "i", seqs, 4)
    ptrs = read_array(idx, 34 + 4 * seqs, "q", seqs, 8)
    docs = read_array(idx, 34 + 12 * seqs, "q", ndoc, 8)

    at = 0
    for i in range(seqs):
        if sizes[i] < 0:
            die("%s: sequence %d has length %d" % (idx_path, i, sizes[i]))
        if ptrs[i] != at:
            die("%s: sequence %d starts at byte %d, expected %d" % (idx_path, i, ptrs[i], at))
        at += sizes[i] * width
    if at != len(data):
        die("%s: %d bytes, the index describes %d" % (bin_path, len(data), at))
    if ndoc < 1 or docs[0] != 0 or docs[-1] != seqs:
        die("%s: the document index must run from 0 to %d" % (idx_path, seqs))
    for j in range(1, ndoc):
        if docs[j] < docs[j - 1]:
            die("%s: document index entry %d falls" % (idx_path, j))

    toks = read_array(data, 0, tc, len(data) // width, width)
    if len(toks):
        lo, hi = min(toks), max(toks)
        if lo < 0:
            die("%s: negative token id %d" % (bin_path, lo))
        if a.vocab and hi >= a.vocab:
            die("%s: token id %d is not below the vocabulary size %d" % (bin_path, hi, a.vocab))

    print("documents %d sequences %d tokens %d dtype %s" % (ndoc - 1, seqs, len(toks), name))
    if a.eos is not None:
        bad = 0
        for i in range(seqs):
            end = ptrs[i] // width + sizes[i]
            if sizes[i] == 0 or toks[end - 1] != a.eos:
                bad += 1
        print("not_eos %d" % bad)
    for i in range(min(a.show, seqs)):
        s = ptrs[i] // width
        print(" ".join(str(t) for t in toks[s:s + sizes[i]]))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
