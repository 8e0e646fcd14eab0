"""Streaming readers for CSV and XLSX: one row at a time, constant memory.

Rows are numbered as a user sees them in a spreadsheet: the header is row 1, the first data row is row 2.
Each row is a dict of header -> stripped text, with empty cells left out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from dealsight.errors import ImportError_

SAMPLE_BYTES = 64 * 1024


@dataclass
class Table:
    """An open table file: its header, a row iterator and how far reading has got."""

    path: Path
    header: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]
    size: int
    _handle: IO[Any] | None = None
    _position: Any = None

    def position(self) -> int:
        """Bytes read so far (for progress); XLSX reports rows as a share of the file size."""
        return int(self._position()) if self._position else 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def open_table(path: Path, sheet: str | None = None) -> Table:
    if not path.exists():
        raise ImportError_(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, sheet)
    if suffix in (".xls",):
        raise ImportError_(f"{path}: the old .xls format is not supported; save it as .xlsx or .csv")
    return _open_csv(path)


def _open_csv(path: Path) -> Table:
    raw = path.open("rb")
    sample = raw.read(SAMPLE_BYTES)
    raw.seek(0)
    encoding = "utf-8-sig"
    try:
        sample.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a cut multi-byte character at the end is not an error
            encoding = "cp1252"
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    head = sample.decode(encoding, errors="replace")
    try:
        sniffed = csv.Sniffer().sniff(head.split("\n", 1)[0], ",;\t|")
    except csv.Error:
        sniffed = csv.excel
    # only the delimiter comes from the header line: a header without quotes makes the sniffer guess
    # doublequote=False, which misreads a later cell such as "Acme ""East"", Inc." (RFC 4180 quoting)
    reader = csv.reader(
        text, csv.excel, delimiter=sniffed.delimiter, skipinitialspace=sniffed.skipinitialspace
    )
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raw.close()
        raise ImportError_(f"{path.name}: the file is empty; expected a header row") from None
    except UnicodeDecodeError:
        raw.close()
        raise ImportError_(f"{path.name}, row 1: cannot decode the text; save it as UTF-8") from None
    _check_header(path, header)

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        number = 1
        try:
            for cells in reader:
                number += 1
                stripped = [cell.strip() for cell in cells]
                if not any(stripped):
                    continue
                yield number, {h: c for h, c in zip(header, stripped, strict=False) if c}
        except UnicodeDecodeError:
            raise ImportError_(
                f"{path.name}, row {number + 1}: cannot decode the text as {encoding}; save it as UTF-8"
            ) from None
        except csv.Error as exc:
            raise ImportError_(f"{path.name}, row {number}: the CSV is malformed ({exc})") from None

    return Table(path, header, rows(), path.stat().st_size, raw, raw.tell)


def _open_xlsx(path: Path, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ImportError_(f"{path.name}: not a readable XLSX workbook ({exc})") from None
    if sheet is not None and sheet not in book.sheetnames:
        raise ImportError_(f"{path.name}: no sheet named {sheet!r}; sheets are {', '.join(book.sheetnames)}")
    worksheet = book[sheet] if sheet else book.worksheets[0]
    cells = worksheet.iter_rows(values_only=True)
    try:
        header = [_cell_text(cell) for cell in next(cells)]
    except StopIteration:
        raise ImportError_(f"{path.name}: the sheet is empty; expected a header row") from None
    while header and not header[-1]:
        header.pop()
    _check_header(path, header)
    total_rows = max(worksheet.max_row or 1, 1)
    size = path.stat().st_size
    state = {"row": 1}

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for number, values in enumerate(cells, start=2):
            state["row"] = number
            row = {h: _cell_text(v) for h, v in zip(header, values, strict=False) if h and _cell_text(v)}
            if row:
                yield number, row

    return Table(path, header, rows(), size, book, lambda: size * state["row"] // total_rows)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != datetime.min.time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(header, start=1):
        if name and name in seen:
            raise ImportError_(f"{path.name}, row 1, column {index}: the column name {name!r} appears twice")
        seen.add(name)
