"""Reading a spreadsheet a recruiter uploads, safely: CSV text and the lines of an XLSX sheet.

Whatever a file claims to be, reading it stays within fixed bounds of memory and time: an XLSX
archive is measured before openpyxl reads any of it (the sizes its directory declares, then the
real ones while unpacking, each XML part scanned in streaming), and a file is read one line at a
time. A file we cannot read raises ``Unreadable``; a file past a bound raises ``Refused``, which
names the bound. Both readers give (line number, stripped cells), one per spreadsheet line.
Pure: no Flask, no database.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

import openpyxl

from recruit.core.textcheck import strip_controls

VALUE_MAX = 200  # characters of a cell shown in a problem
DELIMITERS = ",;\t"
SNIFF_LINES = 20
SNIFF_CHARS = 64 * 1024
# Excel's own bounds: no spreadsheet it writes goes past them.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
MAX_CELL_CHARS = 32_767

# An XLSX file is a zip archive of XML parts. openpyxl trusts it: it reads the shared strings
# (every text of the workbook) whole and builds a tree of every other part but the sheets, so
# these bounds are checked before it opens the file.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # all parts together, once unpacked
MAX_COMPRESSION_RATIO = 100  # per part: spreadsheets compress 5 to 20 times, deflate up to 1,000
RATIO_MIN_BYTES = 1024 * 1024  # a smaller part cannot hurt, whatever its ratio
MAX_PARTS = 1_000  # a workbook has about 10 parts, a hundred with many sheets and images
MAX_STRINGS_BYTES = 20 * 1024 * 1024  # the shared strings part, unpacked
MAX_STRINGS = 250_000  # distinct texts: a dozen text columns of candidates.MAX_ROWS lines
MAX_XML_ELEMENTS = 3_000_000  # XML elements of all parts: a few per cell
MAX_PART_ELEMENTS = 50_000  # XML elements of a part read as a tree (styles...): 1 kB each
MAX_SHEET_ROWS = 100_000  # row elements of a sheet, blank ones included: 0.5 kB each
MAX_RECORD_ELEMENTS = 65_536  # XML elements inside one sheet row or one shared string
MAX_SHEET_CELLS = 1_000_000  # cells of a sheet, each row counted up to its last: 20,000 x 50
MAX_TOKEN_BYTES = 1024 * 1024  # one tag, comment or instruction, which expat holds whole
CHUNK = 64 * 1024

# One valid UTF-8 sequence of two to four bytes (RFC 3629: no overlong form, no surrogate).
UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


class Unreadable(Exception):
    """The file is not a CSV or XLSX we can read."""


class Refused(Exception):
    """The file is past one of the bounds: it is refused whole, with a problem of this ``code``
    (at this ``line``, about this ``value``, when there is one to show)."""

    def __init__(self, code: str, line: int | None = None, value: str | None = None):
        super().__init__(code)
        self.code, self.line, self.value = code, line, value


def shown(value: str) -> str:
    """A cell value to show in a problem: each control character as a visible "�"."""
    return strip_controls(value[:VALUE_MAX], "\ufffd")


# -- CSV ----------------------------------------------------------------------------------------


def csv_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """CSV text -> (line number, stripped cells), one per spreadsheet line, blank ones included."""
    records = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    line = 0
    while True:
        try:
            record = next(records, None)
        except csv.Error as error:  # e.g. a field larger than csv.field_size_limit()
            raise Unreadable from error
        if record is None:
            return
        line += 1
        yield line, [cell.strip() for cell in record[:EXCEL_MAX_COLUMNS]]


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV and its encoding, decoded strictly.

    UTF-16 with a BOM (Excel's "Unicode text"); else UTF-8, BOM optional; else Windows-1252,
    but only for a file with no valid UTF-8 sequence at all: a file mixing both is refused at
    its first byte that is not UTF-8, rather than read with wrong accents everywhere."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError as error:
            raise Unreadable from error
    # Binary formats hold runs of NUL bytes; UTF-16 text without its BOM, one byte in two.
    if b"\x00\x00" in data or data.count(b"\x00") * 10 > len(data):
        raise Unreadable
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as error:
        bad = start + error.start
    if not start and UTF8_SEQUENCE.search(data) is None:
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("cp1252"), "Windows-1252"
    raise Refused("not_utf8", _line_at(data, start, bad), _line_shown(data, bad))


def _line_at(data: bytes, start: int, offset: int) -> int:
    """The spreadsheet line of the byte at `offset`, the bytes before it being valid UTF-8."""
    before = data[start:offset].decode("utf-8")
    try:
        records = sum(1 for _ in csv.reader(io.StringIO(before, newline="")))
    except csv.Error:  # a huge field before the byte: count the lines of the text file
        return before.count("\n") + 1
    # The byte's line is the last record read, unless that one ended right before the byte.
    return records + (not before or before.endswith(("\n", "\r")))


def _line_shown(data: bytes, offset: int) -> str:
    """The text line holding the byte at `offset`, each undecodable byte shown as "�"."""
    begin = data.rfind(b"\n", 0, offset) + 1
    end = data.find(b"\n", offset)
    line = data[begin : end if end >= 0 else len(data)][: VALUE_MAX * 4]
    return shown(line.decode("utf-8", errors="replace").replace("\t", " ").strip())


def _delimiter(text: str) -> str:
    """`,`, `;` or tab: csv.Sniffer on the first lines, checked against the header line."""
    lines = [line for line in text[:SNIFF_CHARS].splitlines() if line.strip()][:SNIFF_LINES]
    counts = {d: lines[0].count(d) if lines else 0 for d in DELIMITERS}
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    # The sniffer guesses from frequencies and can pick a comma that only appears inside names;
    # a delimiter absent from the header line cannot be the right one.
    if sniffed in counts and (counts[sniffed] or not any(counts.values())):
        return sniffed
    best = max(DELIMITERS, key=counts.__getitem__)
    return best if counts[best] else ","


# -- XLSX ---------------------------------------------------------------------------------------

ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what spreadsheet programs write
LOCAL_HEADER = b"PK\x03\x04"
LOCAL_HEADER_SIZE = 30  # then the name and the extra field, whose lengths end the fixed part
COORDINATE = re.compile(r"\$?([A-Za-z]{1,3})\$?[0-9]+")  # a cell's "r": A1, $B$2


@contextlib.contextmanager
def xlsx_lines(data: bytes) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """XLSX bytes -> (line number, stripped cells) of the first worksheet, one per line.

    The archive is checked against the bounds first; the workbook is closed on leaving."""
    _check_archive(data)
    # openpyxl warns about features it drops (data validation, missing styles): none matter here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as error:  # a corrupt file fails in many ways (zip, XML, KeyError...)
            raise Unreadable from error
        try:
            if not workbook.worksheets:
                raise Unreadable
            sheet = workbook.worksheets[0]
            # Some writers store a wrong sheet size; read every row and cell that is there.
            sheet.reset_dimensions()
            yield _sheet_lines(sheet)
        finally:
            workbook.close()


def _sheet_lines(sheet: Any) -> Iterator[tuple[int, list[str]]]:
    """The rows of an openpyxl read-only sheet as (line number, stripped cells)."""
    rows = sheet.iter_rows(values_only=True)
    for line in itertools.count(1):
        try:
            row = next(rows, None)
        except Exception as error:  # broken XML or values inside the sheet
            raise Unreadable from error
        if row is None:
            return
        yield line, [_xlsx_text(value) for value in row]


def _xlsx_text(value: Any) -> str:
    """A cell value as the recruiter reads it: 12345.0 -> "12345"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_archive(data: bytes) -> None:
    """Refuse an XLSX archive past a bound before openpyxl opens it.

    First the sizes its directory declares, all at once; then every part is unpacked in chunks,
    counting the bytes it really holds (a lying directory is caught at the first byte past its
    word), through an XML scan of its content."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
    except Exception as error:  # not a zip archive, or a damaged one
        raise Unreadable from error
    if len(parts) > MAX_PARTS:
        raise Refused("too_many_parts")
    total = 0
    for info in parts:
        if info.flag_bits & 0x1 or info.compress_type not in ZIP_METHODS:
            raise Unreadable  # encrypted, or compressed in a way no spreadsheet program uses
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise Refused("too_large_unpacked", value=shown(info.filename))
        ratio_bound = MAX_COMPRESSION_RATIO * info.compress_size
        if info.file_size > max(RATIO_MIN_BYTES, ratio_bound):
            raise Refused("suspicious_compression", value=shown(info.filename))
    budget = _Budget()
    for info in parts:
        scan = _PartScan(info, budget)
        unpacked = 0
        for chunk in _unpacked(_raw_part(data, info), info.compress_type):
            unpacked += len(chunk)
            if unpacked > info.file_size:  # more than the directory says: a crafted file
                raise Refused("suspicious_compression", value=scan.name)
            scan.feed(chunk)
        scan.feed(b"", final=True)


def _raw_part(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """The compressed bytes of one part, found through its local header (zip APPNOTE 4.3.7)."""
    offset = info.header_offset
    if data[offset : offset + 4] != LOCAL_HEADER or offset + LOCAL_HEADER_SIZE > len(data):
        raise Unreadable
    name_length, extra_length = struct.unpack_from("<HH", data, offset + 26)
    start = offset + LOCAL_HEADER_SIZE + name_length + extra_length
    if start + info.compress_size > len(data):
        raise Unreadable
    return memoryview(data)[start : start + info.compress_size]


def _unpacked(raw: memoryview, method: int) -> Iterator[bytes]:
    """A part's bytes unpacked in chunks of at most CHUNK bytes, however much they inflate."""
    if method == zipfile.ZIP_STORED:
        for start in range(0, len(raw), CHUNK):
            yield bytes(raw[start : start + CHUNK])
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as in a zip archive
    try:
        for start in range(0, len(raw), CHUNK):
            out = inflater.decompress(raw[start : start + CHUNK], CHUNK)
            while out:
                yield out
                if inflater.eof:
                    return
                out = inflater.decompress(inflater.unconsumed_tail, CHUNK)
            if inflater.eof:
                return
    except zlib.error as error:
        raise Unreadable from error


@dataclass
class _Budget:
    """What the parts of one archive have used so far of the bounds they share."""

    elements: int = 0


class _PartScan:
    """One XML part through expat in streaming, refused as soon as it passes a bound.

    Only counters are kept, so the bounds hold before openpyxl sees the part: openpyxl keeps
    every shared string, builds each sheet row whole and every other part as a tree. A part that
    is not XML (an image) is left alone: openpyxl does not parse it, or fails on it as expat did.
    """

    def __init__(self, info: zipfile.ZipInfo, budget: _Budget):
        self.budget = budget
        self.name = shown(info.filename)
        self.declared = info.file_size
        self.unpacked = 0
        self.root: str | None = None  # "worksheet", "sst" (the shared strings) or another
        self.depth = 0
        self.record_depth = 0  # depth of the sheet row or shared string being read; 0 outside
        self.cell_depth = 0  # depth of the cell or shared string whose text is being counted
        self.records = self.record_elements = self.elements = 0
        self.text = 0
        self.line = self.column = self.width = self.cells = 0
        self.xml = True
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.parser.CharacterDataHandler = self._characters
        self.parser.StartDoctypeDeclHandler = self._doctype

    def feed(self, chunk: bytes, final: bool = False) -> None:
        self.unpacked += len(chunk)
        if self.root == "sst" and self.unpacked > MAX_STRINGS_BYTES:
            raise Refused("too_many_strings", value=self.name)
        if not self.xml:
            return
        try:
            self.parser.Parse(chunk, final)
        except expat.ExpatError:
            self.xml = False
            return
        # Text reaches the handlers as it comes; a tag (its attributes), a comment or a
        # processing instruction is held until it ends, past the last event.
        if self.unpacked - self.parser.CurrentByteIndex > MAX_TOKEN_BYTES:
            raise Refused("too_complex", value=self.name)

    def _doctype(self, *_args: Any) -> None:
        # No part of a workbook declares a DTD: refusing one stops entity tricks (external
        # entities, "billion laughs") before anything expands them.
        raise Unreadable

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        self.depth += 1
        self.budget.elements += 1
        if self.budget.elements > MAX_XML_ELEMENTS:
            raise Refused("too_complex", value=self.name)
        if self.root is None:
            self.root = local
            if local == "sst" and self.declared > MAX_STRINGS_BYTES:
                raise Refused("too_many_strings", value=self.name)
        if self.root in ("worksheet", "sst") and any(
            len(value) > MAX_CELL_CHARS for value in attrs.values()
        ):
            raise Refused("too_complex", value=self.name)
        if self.record_depth:
            self.record_elements += 1
            if self.record_elements > MAX_RECORD_ELEMENTS:
                raise Refused("too_complex", value=self.name)
            if self.root == "worksheet" and self.depth == self.record_depth + 1:
                self._cell(attrs.get("r"))  # openpyxl takes any child of a row for a cell
        elif self.root == "worksheet" and local == "row":
            self._row(attrs.get("r"))
        elif self.root == "sst" and local == "si" and self.depth == 2:
            self.records += 1
            if self.records > MAX_STRINGS:
                raise Refused("too_many_strings", value=self.name)
            self.record_depth = self.cell_depth = self.depth
            self.record_elements = self.text = 0
        else:
            self.elements += 1
            if self.elements > MAX_PART_ELEMENTS:
                raise Refused("too_complex", value=self.name)
            if not self.cell_depth:
                self.text = 0

    def _row(self, r: str | None) -> None:
        self.records += 1
        if self.records > MAX_SHEET_ROWS:
            raise Refused("too_complex", value=self.name)
        if r is None:
            self.line += 1
        else:
            try:
                number = float(r)
            except ValueError as error:
                raise Unreadable from error
            if not number.is_integer() or not 1 <= number <= EXCEL_MAX_ROWS:
                raise Unreadable
            self.line = int(number)
        self.record_depth = self.depth
        self.record_elements = self.column = self.width = 0

    def _cell(self, r: str | None) -> None:
        if r is None:
            self.column += 1
        else:
            match = COORDINATE.fullmatch(r)
            if match is None:
                raise Unreadable
            self.column = 0
            for letter in match.group(1).upper():
                self.column = self.column * 26 + ord(letter) - ord("A") + 1
        if self.column > EXCEL_MAX_COLUMNS:
            raise Unreadable
        # openpyxl fills a row with empty cells up to its last one.
        self.width = max(self.width, self.column)
        self.cell_depth = self.depth
        self.text = 0

    def _end(self, _name: str) -> None:
        if self.depth == self.cell_depth:
            self.cell_depth = 0
        if self.depth == self.record_depth:
            self.record_depth = 0
            self.cells += self.width
            if self.cells > MAX_SHEET_CELLS:
                raise Refused("too_complex", value=self.name)
        if not self.cell_depth:
            self.text = 0
        self.depth -= 1

    def _characters(self, data: str) -> None:
        if not self.cell_depth:  # only cells are kept: the text between elements is dropped
            return
        self.text += len(data)
        if self.text > MAX_CELL_CHARS:
            line = self.line if self.root == "worksheet" and self.record_depth else None
            raise Refused("cell_too_long", line)
