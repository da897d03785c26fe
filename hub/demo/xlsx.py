"""A minimal, fast, deterministic XLSX writer: one sheet, numbers and shared strings.

Written directly as OOXML parts in a zip with fixed timestamps, because openpyxl's write-only
mode is slow per cell (a large demo would spend most of its time there) and stamps the
current time into docProps, so two runs would differ. Text goes into the shared-strings
table as Excel itself does; readers look those up far faster than inline strings.
openpyxl, pandas and Excel read the result like any other workbook.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hub.demo.textops import as_text, join, joined_bytes

ZIP_TIME = (2000, 1, 1, 0, 0, 0)
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    f'{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{CT}.styles+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{CT}.sharedStrings+xml"/>'
    "</Types>")
ROOT_RELS = (
    f'{XML_HEAD}<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rId1" '
    f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK_RELS = (
    f'{XML_HEAD}<Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId3" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>")
STYLES = (
    f'{XML_HEAD}<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border/></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" '
    'xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" '
    'builtinId="0"/></cellStyles></styleSheet>')

Column = tuple[pa.Array, bool | pa.Array]  # values as text; numeric for all or per cell


def column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _xml_escape(values: pa.Array) -> pa.Array:
    if not pc.any(pc.match_substring_regex(values, "[&<>]")).as_py():
        return values
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = pc.replace_substring(values, raw, escaped)
    return values


def _text_cells(values: pa.Array, numeric: bool | pa.Array) -> pa.Array:
    """The values of a column that are written as text (the others null)."""
    if isinstance(numeric, bool):
        return pa.nulls(len(values), pa.string()) if numeric else values
    return pc.if_else(numeric, pa.scalar(None, pa.string()), values)


def _cells(values: pa.Array, numeric: bool | pa.Array, strings: pa.Array, column: int,
           rows: pa.Array) -> pa.Array:
    """The <c> elements of one column. Null cells are left out, as Excel does."""
    ref = f'<c r="{column_letter(column)}'
    number = join(ref, rows, '"><v>', values, "</v></c>")
    index = as_text(pc.fill_null(pc.index_in(_text_cells(values, numeric), value_set=strings),
                                 -1).to_numpy())
    shared = join(ref, rows, '" t="s"><v>', index, "</v></c>")
    if isinstance(numeric, bool):
        out = number if numeric else shared
    else:
        out = pc.if_else(numeric, number, shared)
    return pc.fill_null(pc.if_else(pc.is_valid(values), out, pa.scalar(None, pa.string())), "")


def write_xlsx(headers: list[str], columns: list[Column], path: Path,
               sheet: str = "Sheet1") -> None:
    """One sheet: a header row, then one row per element of `columns`."""
    n = len(columns[0][0]) if columns else 0
    texts = [pa.array(headers, pa.string())] + [_text_cells(v, num) for v, num in columns]
    strings = pc.unique(pc.drop_null(pa.concat_arrays(texts)))
    row_no = as_text(np.arange(2, n + 2))
    header_index = pc.index_in(pa.array(headers, pa.string()), value_set=strings).to_pylist()
    header = "".join(f'<c r="{column_letter(i)}1" t="s"><v>{k}</v></c>'
                     for i, k in enumerate(header_index))
    cells = [_cells(v, num, strings, i, row_no) for i, (v, num) in enumerate(columns)]
    rows = join('<row r="', row_no, '">', *cells, "</row>") if n else pa.array([""])
    string_cells = sum(len(t) - t.null_count for t in texts)
    sst = (f'{XML_HEAD}<sst xmlns="{MAIN_NS}" count="{string_cells}" '
           f'uniqueCount="{len(strings)}">').encode()
    si = join("<si><t>", _xml_escape(strings), "</t></si>")
    workbook = (
        f'{XML_HEAD}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
        f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>')
    small = {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": ROOT_RELS,
             "xl/workbook.xml": workbook, "xl/_rels/workbook.xml.rels": WORKBOOK_RELS,
             "xl/styles.xml": STYLES}
    big = {
        "xl/sharedStrings.xml": [sst, joined_bytes(si), b"</sst>"],
        "xl/worksheets/sheet1.xml": [
            f'{XML_HEAD}<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1">{header}</row>'
            .encode(), joined_bytes(rows), b"</sheetData></worksheet>"],
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in small.items():
            zf.writestr(zipfile.ZipInfo(name, ZIP_TIME), text.encode(), zipfile.ZIP_DEFLATED)
        for name, pieces in big.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            # Level 1: the default level takes several times longer on the large sheet XML
            # for a barely smaller file. Python 3.11 reads the level from this slot only.
            info._compresslevel = 1  # type: ignore[attr-defined]
            with zf.open(info, "w") as part:  # streamed: no extra copy of the whole part
                for piece in pieces:
                    part.write(piece)
