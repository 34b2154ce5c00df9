"""The screen as an SVG a teacher can put in slides: Textual's export, with the plots drawn.

Textual (through Rich) exports each run of characters as SVG `<text>` on a grid of 0.61 x
1.22 font sizes per cell, in "Fira Code" (fetched from a CDN, else the viewer's monospace).
Terminals draw braille, block and box-drawing characters to fill their cell; fonts in a
browser do not. Rendered in Chromium, a braille curve shrinks to its font's small dot
pattern in the middle of a taller line (the 4 rows of dots of one cell no longer meet the
next cell's: a curve becomes a flight of dotted steps), and the axes' and frames' lines
break between rows. So we redraw those characters as shapes on the cell grid: braille as
2 x 4 round dots spread over the whole cell, blocks as rectangles, box drawing as bars
from the cell's centre to its edges. And every word of text is placed at its own cell:
renderers that ignore SVG's textLength (librsvg) otherwise let the runs of
spaces between a plot's tick labels drift them away from their ticks. Colours, styles and
clipping stay as Textual wrote them.
"""
from __future__ import annotations

import html
import re

from rich.cells import cell_len

TEXT = re.compile(r'<text class="(?P<cls>[^"]+)" x="(?P<x>[-\d.]+)" y="(?P<y>[-\d.]+)" '
                  r'textLength="(?P<length>[\d.]+)"(?P<rest>[^>]*)>(?P<body>[^<]*)</text>')
MATRIX = re.compile(r"font-size: (?P<size>[\d.]+)px;\s*line-height: (?P<line>[\d.]+)px;")
FONT_STACK = 'font-family: "Fira Code", "DejaVu Sans Mono", Menlo, Consolas, monospace;'
MARK = "<!-- plots redrawn as shapes by Kepler (tui/svg_export.py) -->"

# Braille: bit i of (code - 0x2800) is the dot at (column, row) of the 2 x 4 grid.
BRAILLE_DOTS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3))
DOT_RADIUS = 0.38  # of the dot pitch: round dots that nearly touch, as on a terminal

# Blocks as rectangles (x0, y0, x1, y1) in fractions of the cell.
BLOCKS = {"█": [(0, 0, 1, 1)], "▀": [(0, 0, 1, 0.5)], "▐": [(0.5, 0, 1, 1)], "▔": [(0, 0, 1, 0.125)],
          "▕": [(0.875, 0, 1, 1)]}
BLOCKS.update({chr(0x2581 + i): [(0, 1 - (i + 1) / 8, 1, 1)] for i in range(7)})  # ▁ .. ▇
BLOCKS.update({chr(0x258F - i): [(0, 0, (i + 1) / 8, 1)] for i in range(7)})  # ▏ .. ▉
QUADRANTS = {"▘": (1, 0, 0, 0), "▝": (0, 1, 0, 0), "▖": (0, 0, 1, 0), "▗": (0, 0, 0, 1), "▚": (1, 0, 0, 1),
             "▞": (0, 1, 1, 0), "▙": (1, 0, 1, 1), "▛": (1, 1, 1, 0), "▜": (1, 1, 0, 1), "▟": (0, 1, 1, 1)}
for char, (top_left, top_right, bottom_left, bottom_right) in QUADRANTS.items():
    BLOCKS[char] = [box for on, box in ((top_left, (0, 0, 0.5, 0.5)), (top_right, (0.5, 0, 1, 0.5)),
                                        (bottom_left, (0, 0.5, 0.5, 1)), (bottom_right, (0.5, 0.5, 1, 1))) if on]

# Box drawing: the weight of the arm going up, down, left, right (1 light, 2 heavy).
LINES = {"─": (0, 0, 1, 1), "│": (1, 1, 0, 0), "┌": (0, 1, 0, 1), "┐": (0, 1, 1, 0), "└": (1, 0, 0, 1),
         "┘": (1, 0, 1, 0), "├": (1, 1, 0, 1), "┤": (1, 1, 1, 0), "┬": (0, 1, 1, 1), "┴": (1, 0, 1, 1),
         "┼": (1, 1, 1, 1), "╴": (0, 0, 1, 0), "╵": (1, 0, 0, 0), "╶": (0, 0, 0, 1), "╷": (0, 1, 0, 0)}
LINES.update({heavy: tuple(2 * arm for arm in LINES[light]) for light, heavy in zip("─│┌┐└┘├┤┬┴┼", "━┃┏┓┗┛┣┫┳┻╋")})
ROUNDED = {"╭": (1, 1), "╮": (-1, 1), "╰": (1, -1), "╯": (-1, -1)}  # which way the arms go (x, y)
LINE_WIDTH = 0.12  # of the cell's width, a light line (heavy: twice)


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _rect(x0: float, y0: float, x1: float, y1: float) -> str:
    return f'<rect x="{_number(x0)}" y="{_number(y0)}" width="{_number(x1 - x0)}" height="{_number(y1 - y0)}"/>'


def shapes_for(char: str, left: float, top: float, width: float, height: float) -> list[str] | None:
    """SVG shapes drawing `char` in the cell at (left, top), or None to leave it as text."""
    code = ord(char)
    if 0x2800 <= code <= 0x28FF:
        pitch_x, pitch_y = width / 2, height / 4
        radius = DOT_RADIUS * min(pitch_x, pitch_y)
        return [f'<circle cx="{_number(left + (column + 0.5) * pitch_x)}" cy="{_number(top + (row + 0.5) * pitch_y)}" '
                f'r="{_number(radius)}"/>'
                for bit, (column, row) in enumerate(BRAILLE_DOTS) if (code - 0x2800) >> bit & 1]
    if char in BLOCKS:
        return [_rect(left + x0 * width, top + y0 * height, left + x1 * width, top + y1 * height)
                for x0, y0, x1, y1 in BLOCKS[char]]
    centre_x, centre_y = left + width / 2, top + height / 2
    if char in LINES:
        up, down, to_left, to_right = LINES[char]
        shapes = []
        # Each arm goes from its edge to half a line past the centre, so arms meet without a notch.
        for weight, vertical, (start, end) in ((up, True, (top, centre_y)), (down, True, (top + height, centre_y)),
                                              (to_left, False, (left, centre_x)),
                                              (to_right, False, (left + width, centre_x))):
            if weight:
                half = weight * LINE_WIDTH * width / 2
                reach = end + half if end > start else end - half
                low, high = min(start, reach), max(start, reach)
                shapes.append(_rect(centre_x - half, low, centre_x + half, high) if vertical else
                              _rect(low, centre_y - half, high, centre_y + half))
        return shapes
    if char in ROUNDED:
        # A quarter of an elliptic ring from the cell's centre line on one edge to the other's.
        sign_x, sign_y = ROUNDED[char]
        half = LINE_WIDTH * width / 2
        radius_x, radius_y = width / 2, height / 2
        corner_x = centre_x + sign_x * radius_x  # the ellipse's centre: the cell corner the arms go to
        corner_y = centre_y + sign_y * radius_y
        sweep_out = 0 if sign_x * sign_y > 0 else 1
        points = [(corner_x, centre_y - sign_y * half), (centre_x - sign_x * half, corner_y),
                  (centre_x + sign_x * half, corner_y), (corner_x, centre_y + sign_y * half)]
        (ax, ay), (bx, by), (cx, cy), (dx, dy) = [(_number(px), _number(py)) for px, py in points]
        return [f'<path d="M{ax},{ay} A{_number(radius_x + half)},{_number(radius_y + half)} 0 0 {sweep_out} {bx},{by} '
                f'L{cx},{cy} A{_number(radius_x - half)},{_number(radius_y - half)} 0 0 {1 - sweep_out} {dx},{dy} Z"/>']
    return None


def for_slides(svg: str) -> str:
    """`App.export_screenshot()`'s SVG with braille, blocks and box drawing as shapes and
    each word at its cell."""
    if MARK in svg:
        return svg  # done already
    matrix = MATRIX.search(svg)
    if matrix is None:
        return svg  # not the layout we know: leave it as Textual wrote it
    font_size, line_height = float(matrix["size"]), float(matrix["line"])
    # Rich: a line's background rectangle starts 1.5 below the line's top, its baseline is
    # one font size below.
    baseline_to_top = font_size - 1.5

    def redraw(match: re.Match) -> str:
        body = html.unescape(match["body"])
        cells = cell_len(body)
        if not cells:
            return match[0]
        width = float(match["length"]) / cells
        top = float(match["y"]) - baseline_to_top
        x0 = float(match["x"])
        runs: list[tuple[float, list[str]]] = []  # words: where each starts, its characters
        shapes: list[str] = []
        at, in_word = x0, False
        for char in body:
            drawn = shapes_for(char, at, top, width, line_height) if cell_len(char) == 1 else None
            if drawn is not None:
                shapes.extend(drawn)
            if drawn is None and not char.isspace():
                if not in_word:
                    runs.append((at, []))
                runs[-1][1].append(char)
            in_word = drawn is None and not char.isspace()
            at += width * cell_len(char)
        if not shapes and len(runs) == 1 and runs[0][0] == x0 and len(runs[0][1]) == len(body):
            return match[0]  # one word filling its element: as Textual wrote it
        # Each word at its own cell: a renderer that ignores textLength (librsvg) or a font
        # whose advance is not the cell's width cannot push it off its column.
        out = []
        for start, chars in runs:
            word = "".join(chars)
            out.append(f'<text class="{match["cls"]}" x="{_number(start)}" y="{match["y"]}" '
                       f'textLength="{_number(width * cell_len(word))}"{match["rest"]}>'
                       f'{html.escape(word, quote=False)}</text>')
        if shapes:
            clip = re.search(r'clip-path="[^"]*"', match["rest"])
            out.append(f'<g class="{match["cls"]}"{" " + clip[0] if clip else ""} shape-rendering="geometricPrecision">'
                       + "".join(shapes) + "</g>")
        return "".join(out)

    redrawn = TEXT.sub(redraw, svg)
    redrawn = redrawn.replace("font-family: Fira Code, monospace;", FONT_STACK, 1)
    return redrawn.replace("<!-- Generated with Rich", MARK + "\n    <!-- Generated with Rich", 1)
