"""Fonts embedded in a PDF: ``pdffonts`` (poppler-utils) when installed, else the font dictionaries read from
the file itself (matplotlib writes them as plain objects)."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from pathlib import Path


def font_types(pdf: Path) -> list[str]:
    """One entry per font of ``pdf``: its type (``"Type 3"``, ``"CID TrueType"``, ``"TrueType"``, ...)."""
    exe = shutil.which("pdffonts")
    if exe:
        proc = subprocess.run([exe, str(pdf)], capture_output=True, text=True, check=True)
        lines = proc.stdout.splitlines()[2:]
        return [re.split(r"\s{2,}", ln.strip())[1] for ln in lines if ln.strip()]
    data = Path(pdf).read_bytes()
    # uncompressed objects, and any Flate streams (object streams) too
    blobs = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            blobs.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    subtypes = []
    for blob in blobs:
        for m in re.finditer(rb"/Type\s*/Font\b(.*?)>>", blob, re.S):
            st = re.search(rb"/Subtype\s*/(\w+)", m.group(0))
            if st:
                subtypes.append({"Type3": "Type 3", "TrueType": "TrueType", "Type0": "CID TrueType"}.get(
                    st.group(1).decode(), st.group(1).decode()))
    return subtypes


def assert_no_type3(pdf: Path) -> None:
    types = font_types(pdf)
    assert types, f"{pdf.name}: no fonts found (text missing?)"
    assert "Type 3" not in types, f"{pdf.name} embeds Type 3 fonts: {types}"
