#!/usr/bin/env python3
"""Draws Latchkey's application icon (a key in a rounded square) and writes every size the
desktop bundle needs: 32x32.png, 128x128.png, 128x128@2x.png, icon.png (512) and icon.ico.

Standard library only (zlib + struct), so it runs anywhere Python does. Re-run it from this
folder after changing the drawing: `python3 make-icons.py`.
"""

import math
import struct
import zlib

# Colours (RGB): a deep blue square and a white key.
TOP = (37, 99, 235)
BOTTOM = (30, 64, 175)
KEY = (255, 255, 255)

# Shapes in unit coordinates, centre (0, 0), the square spanning [-0.5, 0.5].
SQUARE_HALF = 0.44
SQUARE_RADIUS = 0.12
ANGLE = math.radians(-45)  # the key points up and to the right


def rounded_square(x, y):
    """Signed distance to the rounded square (negative inside)."""
    qx = abs(x) - (SQUARE_HALF - SQUARE_RADIUS)
    qy = abs(y) - (SQUARE_HALF - SQUARE_RADIUS)
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    inside = min(max(qx, qy), 0.0)
    return outside + inside - SQUARE_RADIUS


def in_rect(x, y, x0, x1, y0, y1):
    return x0 <= x <= x1 and y0 <= y <= y1


def in_key(x, y):
    """Whether the point (square coordinates) is on the key."""
    # Rotate into the key's own frame, where it lies horizontally with the bow on the left.
    c, s = math.cos(-ANGLE), math.sin(-ANGLE)
    kx, ky = x * c - y * s, x * s + y * c
    bow = math.hypot(kx + 0.17, ky)
    if 0.065 <= bow <= 0.155:
        return True
    shaft = in_rect(kx, ky, -0.03, 0.30, -0.035, 0.035)
    tooth1 = in_rect(kx, ky, 0.17, 0.22, 0.035, 0.12)
    tooth2 = in_rect(kx, ky, 0.25, 0.30, 0.035, 0.095)
    return shaft or tooth1 or tooth2


def render(size, samples=4):
    """RGBA rows, supersampled `samples`² per pixel for smooth edges."""
    rows = []
    n = samples * samples
    for py in range(size):
        row = bytearray()
        for px in range(size):
            cover = 0
            key = 0
            for sy in range(samples):
                for sx in range(samples):
                    x = (px + (sx + 0.5) / samples) / size - 0.5
                    y = (py + (sy + 0.5) / samples) / size - 0.5
                    if rounded_square(x, y) <= 0:
                        cover += 1
                        if in_key(x, y):
                            key += 1
            if cover == 0:
                row += bytes((0, 0, 0, 0))
                continue
            t = py / max(size - 1, 1)
            bg = [TOP[i] + (BOTTOM[i] - TOP[i]) * t for i in range(3)]
            k = key / cover
            rgb = [round(bg[i] * (1 - k) + KEY[i] * k) for i in range(3)]
            row += bytes((*rgb, round(255 * cover / n)))
        rows.append(bytes(row))
    return rows


def png(size):
    rows = render(size)
    raw = b"".join(b"\x00" + r for r in rows)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def ico(images):
    """An .ico holding PNG images (supported since Windows Vista)."""
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries = b""
    for size, data in images:
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return out + entries + b"".join(d for _, d in images)


def main():
    sizes = {}
    for size in (16, 32, 48, 128, 256, 512):
        sizes[size] = png(size)
    for name, size in (("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)):
        with open(name, "wb") as f:
            f.write(sizes[size])
    with open("icon.ico", "wb") as f:
        f.write(ico([(s, sizes[s]) for s in (16, 32, 48, 256)]))


if __name__ == "__main__":
    main()
