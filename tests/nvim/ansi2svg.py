#!/usr/bin/env python3
"""Renders a terminal screen captured with `tmux capture-pane -p -e` (text with SGR colour codes) as an
SVG image on a fixed character grid, for the README. Standard library only.

Usage: ansi2svg.py [--cols N] [--background dark|light] < screen.ansi > screen.svg
Understands SGR 0/1/3/4/7 and their resets, 24-bit (38;2 / 48;2), 256-colour (38;5 / 48;5) and the 16
basic colours; other escape sequences are dropped. Wide (East Asian) characters take two cells.
"""
import argparse
import re
import sys
import unicodedata
from html import escape

# Neovim's default colours (dark; --background light swaps them): what "default" means on its screen.
DEFAULT_FG = (0xE0, 0xE2, 0xEA)
DEFAULT_BG = (0x14, 0x16, 0x1B)
BASIC = [
    (0x00, 0x00, 0x00), (0xCD, 0x00, 0x00), (0x00, 0xCD, 0x00), (0xCD, 0xCD, 0x00),
    (0x00, 0x00, 0xEE), (0xCD, 0x00, 0xCD), (0x00, 0xCD, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x7F, 0x7F, 0x7F), (0xFF, 0x00, 0x00), (0x00, 0xFF, 0x00), (0xFF, 0xFF, 0x00),
    (0x5C, 0x5C, 0xFF), (0xFF, 0x00, 0xFF), (0x00, 0xFF, 0xFF), (0xFF, 0xFF, 0xFF),
]
CELL_W, CELL_H, FONT_SIZE = 8.4, 18, 14
ESCAPE = re.compile(r"\x1b\[([0-9;:]*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b.")


def xterm256(n):
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    v = 8 + 10 * (n - 232)
    return (v, v, v)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.italic = self.underline = self.reverse = False

    def key(self):
        fg, bg = self.fg or DEFAULT_FG, self.bg or DEFAULT_BG
        if self.reverse:
            fg, bg = bg, fg
        return (fg, bg, self.bold, self.italic, self.underline)

    def apply(self, params):
        codes = [p for p in params.replace(":", ";").split(";")] if params else ["0"]
        i = 0
        while i < len(codes):
            c = int(codes[i]) if codes[i] else 0
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
                if params.startswith("4:") and i + 1 < len(codes):  # 4:0 off, 4:N styles
                    self.underline = codes[i + 1] != "0"
                    i += 1
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif c in (38, 48, 58):
                colour = None
                if i + 1 < len(codes) and codes[i + 1] == "2" and i + 4 < len(codes):
                    colour = tuple(int(x or 0) for x in codes[i + 2 : i + 5])
                    i += 4
                elif i + 1 < len(codes) and codes[i + 1] == "5" and i + 2 < len(codes):
                    colour = xterm256(int(codes[i + 2] or 0))
                    i += 2
                if c == 38:
                    self.fg = colour
                elif c == 48:
                    self.bg = colour
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif 30 <= c <= 37:
                self.fg = BASIC[c - 30]
            elif 40 <= c <= 47:
                self.bg = BASIC[c - 40]
            elif 90 <= c <= 97:
                self.fg = BASIC[c - 90 + 8]
            elif 100 <= c <= 107:
                self.bg = BASIC[c - 100 + 8]
            i += 1


def parse(text):
    """Lines of cells: (char, style key, width)."""
    style = Style()
    lines = []
    for raw in text.split("\n"):
        cells = []
        pos = 0
        for m in ESCAPE.finditer(raw):
            for ch in raw[pos : m.start()]:
                cells.append((ch, style.key()))
            if m.group(2) == "m":
                style.apply(m.group(1))
            pos = m.end()
        for ch in raw[pos:]:
            cells.append((ch, style.key()))
        lines.append(cells)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def width(ch):
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def hexcolour(rgb):
    return "#%02x%02x%02x" % rgb


def render(lines, cols):
    rows = len(lines)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{cols * CELL_W:.0f}" height="{rows * CELL_H}" '
        f'viewBox="0 0 {cols * CELL_W:.1f} {rows * CELL_H}" font-size="{FONT_SIZE}" '
        "font-family=\"ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace\">",
        f'<rect width="100%" height="100%" fill="{hexcolour(DEFAULT_BG)}"/>',
    ]
    for row, cells in enumerate(lines):
        y = row * CELL_H
        runs = []  # [style, start col, text, cells]
        col = 0
        for ch, key in cells:
            w = width(ch)
            if runs and runs[-1][0] == key:
                runs[-1][2] += ch
                runs[-1][3] += w
            else:
                runs.append([key, col, ch, w])
            col += w
        for key, start, text, n in runs:
            fg, bg, bold, italic, underline = key
            x = start * CELL_W
            if bg != DEFAULT_BG:
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{n * CELL_W:.1f}" height="{CELL_H}" fill="{hexcolour(bg)}"/>'
                )
            if text.strip():
                attrs = [f'x="{x:.1f}"', f'y="{y + CELL_H - 5}"', f'fill="{hexcolour(fg)}"']
                attrs.append(f'textLength="{n * CELL_W:.1f}" lengthAdjust="spacingAndGlyphs"')
                if bold:
                    attrs.append('font-weight="bold"')
                if italic:
                    attrs.append('font-style="italic"')
                if underline:
                    attrs.append('text-decoration="underline"')
                out.append(f'<text xml:space="preserve" {" ".join(attrs)}>{escape(text, quote=False)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cols", type=int, default=0, help="screen width in cells (default: the longest line)")
    parser.add_argument("--background", choices=["dark", "light"], default="dark", help="the default colours")
    args = parser.parse_args()
    if args.background == "light":
        global DEFAULT_FG, DEFAULT_BG
        DEFAULT_FG, DEFAULT_BG = DEFAULT_BG, DEFAULT_FG
    lines = parse(sys.stdin.read())
    cols = args.cols or max((sum(width(ch) for ch, _ in cells) for cells in lines), default=1)
    sys.stdout.write(render(lines, cols))


if __name__ == "__main__":
    main()
