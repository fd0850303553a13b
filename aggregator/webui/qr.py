"""QR codes as inline SVG (the resident shows one at a shop's counter).

The ``qrcode`` package computes the module matrix (ISO/IEC 18004, error correction M); the SVG is
drawn here as one path of horizontal runs, so it stays small and needs no image library.
"""

from __future__ import annotations

from html import escape

import qrcode
import qrcode.constants


def qr_matrix(data: str) -> list[list[bool]]:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data.encode("utf-8"))
    qr.make(fit=True)
    matrix: list[list[bool]] = [[bool(c) for c in row] for row in qr.get_matrix()]
    return matrix


def qr_svg(data: str, *, size_px: int = 240, label: str = "QR code") -> str:
    m = qr_matrix(data)
    n = len(m)
    runs = []
    for y, row in enumerate(m):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.append(f"M{start},{y}h{x - start}v1h{start - x}z")
            else:
                x += 1
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{size_px}" '
            f'height="{size_px}" role="img" aria-label="{escape(label)}" '
            f'shape-rendering="crispEdges"><title>{escape(label)}</title>'
            f'<rect width="{n}" height="{n}" fill="#fff"/>'
            f'<path d="{"".join(runs)}" fill="#000"/></svg>')


__all__ = ["qr_matrix", "qr_svg"]
