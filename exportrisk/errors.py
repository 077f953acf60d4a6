"""One error type for bad input, so the CLI can print one line instead of a traceback."""

from pathlib import Path


class InputError(Exception):
    """Input the pipeline cannot use; names the file, and the row and column where known."""

    def __init__(self, path: Path | str, message: str, row: int | None = None, column: str | None = None):
        self.path, self.row, self.column, self.message = str(path), row, column, message
        where = self.path + (f", row {row}" if row is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")
