"""Split an access-log CSV into fixed batches of raw rows, knowing each row's line.

Clean files (valid text in the mapping's encoding) are read by Arrow's CSV reader with its
threads, converting only the mapped columns. Arrow cannot tell the line of a malformed
line when it uses threads, so at the first one the file is read again single-threaded
(which reports it) from the first batch not yet handed out; clean files never pay for
that. A file with bytes that are not text in its encoding is read by Python's ``csv``
module instead (slower, but every line is located and the good ones load).

Batches are cut every ``batch_rows`` rows of the file, always at the same places, so a
batch's key (file hash + batch number) names the same rows on every run.

Line numbers count the header as line 1 and assume one record per line, as EHR exports
write them; a malformed record that swallowed the next line (an unbalanced quote) is
accounted for. A well-formed quoted value with a line break would shift the numbers of
later lines: for such exports set ``newlines_in_values = true`` in the mapping, and
locations become record numbers.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from phiwarden.ingest.access_log_mapping import Mapping

_BLOCK = 8 << 20
_NEWLINES = re.compile(r"\r\n|\r|\n")


def read_header(path: Path, mapping: Mapping) -> list[str]:
    """The column names on the first line of a CSV (empty if it has none)."""
    opts = mapping.csv
    try:
        with path.open(encoding=opts.encoding, errors="replace", newline="") as fh:
            row = next(
                csv.reader(fh, delimiter=opts.delimiter, quotechar=opts.quote_char or None), []
            )
    except (OSError, UnicodeError, csv.Error, LookupError):
        return []
    if row:
        row[0] = row[0].removeprefix("\ufeff")
    return [c.strip() for c in row]


def scan(path: Path, encoding: str) -> tuple[str, bool]:
    """SHA-256 of the file's bytes, and whether they all decode in ``encoding``."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)()
    clean = True
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            if clean and not block.isascii():
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    clean = False
        if clean:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                clean = False
    return digest.hexdigest(), clean


@dataclass(frozen=True)
class RawBatch:
    """Raw cells (bytes) of some consecutive rows, and how to find each row's line."""

    number: int
    table: pa.Table
    first: int  # index of the batch's first row among the file's rows
    #: start line and line count of each malformed line met before the cut
    skipped: npt.NDArray[np.int64]
    lines: npt.NDArray[np.int64] | None = None  # exact line of each row (Python reader)


class _Restart(Exception):
    """A malformed line turned up while reading with threads: read again, one thread."""


class FileReader:
    """Reads one export file as :class:`RawBatch` es and locates rows and malformed lines."""

    def __init__(self, path: Path, mapping: Mapping, clean: bool, batch_rows: int) -> None:
        self.path, self.mapping, self.clean, self.batch_rows = path, mapping, clean, batch_rows
        self.header = read_header(path, mapping)
        #: malformed lines: (line or None, raw text, fields found)
        self.invalid: list[tuple[int | None, str, int]] = []
        self.rows_read = 0
        self._threads = True

    def batches(self) -> Iterator[RawBatch]:
        """Batches of ``batch_rows`` rows (the last one shorter), numbered from 0."""
        if not self.clean:
            yield from self._python_batches()
            return
        done = 0
        try:
            for batch in self._arrow_batches(skip=0):
                done = batch.number + 1
                yield batch
        except _Restart:
            self.invalid.clear()
            self._threads = False
            yield from self._arrow_batches(skip=done)

    def location(self, batch: RawBatch, row: int) -> str:
        """Where row ``row`` of a batch is in the file (the header is line 1)."""
        if batch.lines is not None:
            return f"line {int(batch.lines[row])}"
        index = batch.first + row
        if self.mapping.csv.newlines_in_values:
            return f"record {index + 1}"
        starts, spans = batch.skipped[:, 0], batch.skipped[:, 1]
        consumed = np.concatenate([[0], np.cumsum(spans)])
        good_before = starts - 2 - consumed[:-1]  # good rows before each malformed line
        extra = consumed[int(np.searchsorted(good_before, index, side="right"))]
        return f"line {index + 2 + int(extra)}"

    def _handler(self, row: Any) -> str:
        self.invalid.append((row.number, row.text, row.actual_columns))
        return "skip"

    def _open(self) -> pacsv.CSVStreamingReader:
        opts = self.mapping.csv
        columns = self.mapping.source_columns()
        return pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(
                use_threads=self._threads, block_size=_BLOCK, encoding=opts.encoding
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=opts.delimiter,
                quote_char=opts.quote_char or False,
                newlines_in_values=opts.newlines_in_values,
                ignore_empty_lines=False,
                invalid_row_handler=self._handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.binary() for c in columns},
                include_columns=columns,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )

    def _arrow_batches(self, skip: int) -> Iterator[RawBatch]:
        pending: pa.Table | None = None
        number = first = 0
        self.rows_read = 0
        for block in self._open():
            if self._threads and self.invalid:
                raise _Restart
            table = pa.Table.from_batches([block])
            self.rows_read += table.num_rows
            pending = table if pending is None else pa.concat_tables([pending, table])
            while pending.num_rows >= self.batch_rows:
                if number >= skip:
                    yield self._cut(number, pending.slice(0, self.batch_rows), first)
                number, first = number + 1, first + self.batch_rows
                pending = pending.slice(self.batch_rows)
        if self._threads and self.invalid:
            raise _Restart
        if pending is not None and pending.num_rows and number >= skip:
            yield self._cut(number, pending, first)

    def _cut(self, number: int, table: pa.Table, first: int) -> RawBatch:
        skipped = sorted(
            (line, 1 + len(_NEWLINES.findall(text.rstrip("\r\n"))))
            for line, text, _ in self.invalid
            if line is not None
        )
        return RawBatch(number, table, first, np.array(skipped, dtype=np.int64).reshape(-1, 2))

    def _python_batches(self) -> Iterator[RawBatch]:
        """The slow, forgiving path for files that are not clean text in their encoding."""
        opts = self.mapping.csv
        columns = self.mapping.source_columns()
        where = [self.header.index(c) for c in columns]
        cells: list[list[bytes | None]] = [[] for _ in columns]
        lines: list[int] = []
        number = first = 0
        with self.path.open(encoding=opts.encoding, errors="surrogateescape", newline="") as fh:
            reader = csv.reader(
                fh,
                delimiter=opts.delimiter,
                quotechar=opts.quote_char or None,
                quoting=csv.QUOTE_MINIMAL if opts.quote_char else csv.QUOTE_NONE,
            )
            end = 0
            for record in reader:
                start, end = end + 1, reader.line_num
                if start == 1:
                    continue  # the header
                if record and len(record) != len(self.header):
                    text = opts.delimiter.join(record).encode("utf-8", "surrogateescape")
                    self.invalid.append((start, text.decode("utf-8", "replace"), len(record)))
                    continue
                for column, index in zip(cells, where, strict=True):
                    cell = record[index] if record else ""
                    column.append(cell.encode("utf-8", "surrogateescape") if cell else None)
                lines.append(start)
                self.rows_read += 1
                if len(lines) == self.batch_rows:
                    yield self._python_cut(number, columns, cells, lines, first)
                    number, first = number + 1, first + len(lines)
                    cells, lines = [[] for _ in columns], []
        if lines:
            yield self._python_cut(number, columns, cells, lines, first)

    @staticmethod
    def _python_cut(
        number: int,
        columns: list[str],
        cells: list[list[bytes | None]],
        lines: list[int],
        first: int,
    ) -> RawBatch:
        table = pa.table({c: pa.array(v, pa.binary()) for c, v in zip(columns, cells, strict=True)})
        return RawBatch(
            number, table, first, np.zeros((0, 2), dtype=np.int64), np.array(lines, dtype=np.int64)
        )
