"""Just enough of a PDF reader to get each page's text out of what headless Chromium (Skia)
prints, so a test can check what every printed page says without a PDF library in the venv.

Skia writes plain indirect objects (no object streams), Flate-compressed content streams, and
fonts (Type3 subsets with one-byte codes, or Type0 with two-byte codes) whose codes map to
Unicode through a ``/ToUnicode`` CMap. This follows each page's content stream (and the form
XObjects it draws), switches fonts on ``Tf`` and decodes the hex strings of ``Tj``/``TJ``
through the current font's CMap; glyphs placed one by one (``Td``) join into words. It is a
test helper, not a general PDF parser: anything it does not understand makes a check fail,
never pass.
"""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(?:^|\n)(\d+) 0 obj\s*")
_REF = rb"(\d+) 0 R"


def _objects(pdf: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number → (dictionary text, decoded stream or None)."""
    out: dict[int, tuple[bytes, bytes | None]] = {}
    for m in _OBJ.finditer(pdf):
        start = m.end()
        end = pdf.find(b"endobj", start)
        head_end = pdf.find(b"stream", start)
        if head_end != -1 and head_end < end:
            head = pdf[start:head_end]
            length = re.search(rb"/Length (\d+)", head)
            assert length is not None, f"object {m.group(1)!r}: stream without a direct length"
            body_start = head_end + len(b"stream")
            body_start += 2 if pdf[body_start:body_start + 2] == b"\r\n" else 1
            data = pdf[body_start:body_start + int(length.group(1))]
            if b"/FlateDecode" in head:
                data = zlib.decompress(data)
            out[int(m.group(1))] = (head, data)
        else:
            out[int(m.group(1))] = (pdf[start:end], None)
    return out


def _cmap(data: bytes) -> dict[int, str]:
    """A ToUnicode CMap's code → text, from its bfchar and bfrange sections."""
    out: dict[int, str] = {}

    def text(hexs: bytes) -> str:
        return bytes.fromhex(hexs.decode()).decode("utf-16-be", "replace")

    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            out[int(src, 16)] = text(dst)
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(
                rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            first = int(dst, 16)
            width = len(dst) // 2
            for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = text(f"{first + i:0{width * 2}X}".encode())
    return out


def _dict_entry(objs: dict[int, tuple[bytes, bytes | None]], text: bytes, key: bytes) -> bytes:
    """The dictionary value of ``key`` in ``text`` (following one indirect reference; an
    inline ``<< … >>`` value up to its balancing ``>>``)."""
    m = re.search(rb"/" + key + rb"\s*" + _REF, text)
    if m:
        return objs[int(m.group(1))][0]
    m = re.search(rb"/" + key + rb"\s*<<", text)
    if not m:
        return b""
    depth, i = 1, m.end()
    while depth and i < len(text):
        if text.startswith(b"<<", i):
            depth, i = depth + 1, i + 2
        elif text.startswith(b">>", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return text[m.end():i - 2]


Font = tuple[int, dict[int, str]]  # hex digits per code, code → text


def _resources(objs: dict[int, tuple[bytes, bytes | None]], head: bytes
               ) -> tuple[dict[bytes, Font], dict[bytes, int]]:
    res = _dict_entry(objs, head, b"Resources")
    fonts = {}
    for name, ref in re.findall(rb"/(\w+)\s*" + _REF, _dict_entry(objs, res, b"Font")):
        font = objs[int(ref)][0]
        tu = re.search(rb"/ToUnicode\s*" + _REF, font)
        cmap_data = objs[int(tu.group(1))][1] if tu else None
        fonts[name] = (4 if b"/Type0" in font else 2, _cmap(cmap_data) if cmap_data else {})
    xobjects = {name: int(ref) for name, ref in
                re.findall(rb"/(\w+)\s*" + _REF, _dict_entry(objs, res, b"XObject"))}
    return fonts, xobjects


_TOKENS = re.compile(rb"<([0-9A-Fa-f\s]*)>|\[|\]|/(\w+)|(-?[\d.]+)|([A-Za-z*'\"]+)"
                     rb"|\(((?:\\.|[^\\)])*)\)")


def _content_text(objs: dict[int, tuple[bytes, bytes | None]], head: bytes, data: bytes,
                  depth: int = 0) -> str:
    fonts, xobjects = _resources(objs, head)
    width: int = 2
    cmap: dict[int, str] = {}
    out: list[str] = []
    operands: list[bytes] = []
    for m in _TOKENS.finditer(data):
        hexs, name, _num, op = m.group(1), m.group(2), m.group(3), m.group(4)
        if hexs is not None:
            h = re.sub(rb"\s", b"", hexs)
            out.extend(cmap.get(int(h[i:i + width], 16), "") for i in range(0, len(h), width))
        elif name is not None:
            operands.append(name)
        elif op is not None:
            if op == b"Tf" and operands:
                width, cmap = fonts.get(operands[-1], (2, {}))
            elif op == b"Do" and operands and operands[-1] in xobjects and depth < 8:
                xhead, xdata = objs[xobjects[operands[-1]]]
                if b"/Form" in xhead and xdata is not None:
                    out.append(_content_text(objs, xhead, xdata, depth + 1))
            elif op in (b"ET", b"Tm", b"T*"):
                out.append(" ")
            operands = []
    return "".join(out)


def page_texts(pdf: bytes) -> list[str]:
    """The text drawn on each page, in page order (whitespace between text runs)."""
    objs = _objects(pdf)
    kids: list[int] = []
    root = next(h for h, _ in objs.values() if re.search(rb"/Type\s*/Pages\b", h)
                and b"/Parent" not in h)

    def walk(node: bytes) -> None:
        found = re.search(rb"/Kids\s*\[(.*?)\]", node, re.S)
        assert found is not None, "a /Pages node without /Kids"
        for ref in re.findall(_REF, found.group(1)):
            head = objs[int(ref)][0]
            if re.search(rb"/Type\s*/Pages\b", head):
                walk(head)
            else:
                kids.append(int(ref))

    walk(root)
    texts = []
    for number in kids:
        head = objs[number][0]
        contents = re.search(rb"/Contents\s*(?:\[(.*?)\]|" + _REF + rb")", head, re.S)
        assert contents is not None, f"page object {number} has no /Contents"
        refs = re.findall(_REF, contents.group(1)) if contents.group(1) else [contents.group(2)]
        data = b"\n".join(objs[int(r)][1] or b"" for r in refs)
        texts.append(_content_text(objs, head, data))
    return texts
