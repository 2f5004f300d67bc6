"""The Typst compiler: Typst source to PDF/A-2b (fonts embedded, cacheable bytes) or to an HTML
preview of SVG pages."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zfjl.errors import RenderError


def compile_pdf(source: str, when: dt.datetime | None = None, cache: Path | None = None) -> bytes:
    """Typst → PDF/A-2b, fonts embedded; Typst reads no file but the source (`_alone`). A
    fixed timestamp makes the bytes reproducible, and so cacheable: the same source and time
    give the same PDF, kept under `cache` by digest (a derived cache, safe to delete: it only
    saves re-typesetting an unchanged document)."""
    stamp = int((when or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).timestamp())
    key = hashlib.sha256(f"{stamp}\n{source}".encode()).hexdigest()
    cached = cache / f"{key}.pdf" if cache is not None else None
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    pdf = _typeset(source, stamp)
    if cached is not None:
        from zfjl.vault.objects import write_file_atomically

        cache.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        write_file_atomically(cached, pdf)
    return pdf


@contextlib.contextmanager
def _alone(source: str) -> Iterator[tuple[Path, Path]]:
    """The source as the only file of a fresh folder, Typst's root: whatever a template asks
    Typst to read (`#read`, `#include`, `#image` of a path) is looked for there, never in the
    process's working directory (which may be the vault, with its keys)."""
    with tempfile.TemporaryDirectory(prefix="zfjl-typst-") as folder:
        main = Path(folder) / "main.typ"
        main.write_text(source, encoding="utf-8")
        yield main, Path(folder)


# One Typst compiler per process: making one scans and loads the system's fonts (the CJK ones
# are large), about 0.1-0.3 s, which was most of the cost of each document; its compile() of a
# given source and root gives the same bytes as typst.compile(). Not reentrant: one lock.
_COMPILER: list[Any] = []
_COMPILER_LOCK = threading.Lock()


@contextlib.contextmanager
def _compiler() -> Iterator[Any]:
    import typst

    with _COMPILER_LOCK:
        if not _COMPILER:
            _COMPILER.append(typst.Compiler())
        yield _COMPILER[0]


def _typeset(source: str, stamp: int) -> bytes:
    import typst

    try:
        with _alone(source) as (main, root), _compiler() as compiler:
            pdf = bytes(compiler.compile(main, root=root, pdf_standards=["a-2b"], timestamp=stamp))
    except typst.TypstError as exc:
        raise RenderError(f"排版失败：{str(exc).splitlines()[0]}") from None
    return without_suspects_flag(pdf)


# Typst writes /MarkInfo <</Marked true/Suspects false>>; poppler 22 (Debian 12's pdftoppm,
# pdfinfo) misreads the boolean and warns "Suspects object is wrong type (boolean)" on every
# page. /Suspects false is the default, so it is blanked out with spaces: the same length,
# so every byte offset (xref) stays right, and the PDF means the same.
SUSPECTS = b"/Marked true/Suspects false>>"


def without_suspects_flag(pdf: bytes) -> bytes:
    if pdf.count(SUSPECTS) != 1:
        return pdf
    return pdf.replace(SUSPECTS, b"/Marked true" + b" " * (len(SUSPECTS) - 14) + b">>")


def compile_html(source: str, title: str) -> str:
    """An HTML preview: each page as SVG, exactly as it will print."""
    with _alone(source) as (main, root), _compiler() as compiler:
        pages = compiler.compile(main, root=root, format="svg")
    svgs = pages if isinstance(pages, list) else [pages]
    body = "\n".join(f'<div class="page">{bytes(p).decode("utf-8")}</div>' for p in svgs)
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>body{{background:#888}}.page{{background:#fff;"
        "width:210mm;margin:8mm auto;box-shadow:0 0 4px #000}}.page svg{{width:100%;height:auto}}"
        f"</style></head><body>{body}</body></html>"
    )
