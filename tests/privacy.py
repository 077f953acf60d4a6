"""An independent search for any part of a victim's name, for tests that scan what the project writes.

It does not reuse the library's pattern: a part of a name is any word of four letters or more, and any title
with the word after it ("princess-haya", "Mr. X"), found however the words are joined and whatever the case,
accents or URL encoding. Only the words below, reviewed against the real database, and the words of
country names (a report on El Salvador says "Salvador") name nobody.

pdf_text reads the text of the PDFs the project writes without a PDF library (none is a dependency): the
string operands of the text operators in every content stream, inflated. That is all the text of a matplotlib
PDF: with its default Type 3 fonts each line of text is one BT ... ET block of cp1252 strings (TJ arrays split
by kerning). A character outside cp1252 is drawn as a glyph of its own, outside those strings: its neighbours
still read as words on either side of it.
"""

import functools
import re
import unicodedata
import zlib
from urllib.parse import unquote

import pycountry

ORGANISATIONS_AND_KINDS = {
    "activist", "amnesty", "bchr", "bint", "binti", "giei", "individual", "international", "jazeera", "phone",
    "staff", "wefaq", "wife",
}  # fmt: skip
TITLES = {"bishop", "father", "mr", "prince", "princess", "sheikh"}


def folded(text: str) -> str:
    text = unicodedata.normalize("NFKD", unquote(text))
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


@functools.cache
def country_words() -> set[str]:
    text = " ".join(
        f"{c.name} {getattr(c, 'official_name', '')} {getattr(c, 'common_name', '')}" for c in pycountry.countries
    )
    return set(re.findall(r"[^\W\d_]+", folded(text)))


def name_parts(name: str) -> list[str]:
    """The parts of one name that identify its person: long words, and each title with the next word."""
    words = re.findall(r"[^\W\d_]+", folded(name))
    parts = [w for w in words if len(w) >= 4 and w not in ORGANISATIONS_AND_KINDS | TITLES | country_words()]
    parts += [f"{w} {words[i + 1]}" for i, w in enumerate(words[:-1]) if w in TITLES]
    return parts


def named(text: str, names: list[str]) -> list[int]:
    """Indices of the names any part of which is in text, its words joined by anything or nothing."""
    corpus = folded(text)
    hits = []
    for i, name in enumerate(names):
        for part in name_parts(name):
            pattern = r"(?<![^\W\d_])" + r"[\W_]*".join(map(re.escape, part.split())) + r"(?![^\W\d_])"
            if re.search(pattern, corpus):
                hits.append(i)
                break
    return hits


# the data end before the EOL of "endstream": a \n, or \r\n, whose \r may just as well be the data's last byte (zlib
# ignores a \r left after the data)
STREAM = re.compile(rb"stream\r?\n(.*?)\nendstream", re.DOTALL)
TEXT_BLOCK = re.compile(rb"\bBT\b(.*?)\bET\b", re.DOTALL)
LITERAL = re.compile(rb"\(((?:\\.|[^\\()])*)\)", re.DOTALL)
ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    """A PDF literal string's bytes: backslash escapes and octal codes resolved."""

    def one(found: re.Match[bytes]) -> bytes:
        code = found.group(1)
        return bytes([int(code, 8)]) if code[:1].isdigit() else ESCAPES.get(code, code)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.DOTALL)


def pdf_text(data: bytes) -> str:
    """The text a PDF shows, one line per text block, and the rest of the file outside its streams (the document
    information) as it is."""
    lines = [STREAM.sub(b"", data).decode("latin-1")]
    for found in STREAM.finditer(data):
        try:
            content = zlib.decompress(found.group(1))
        except zlib.error:
            continue
        for block in TEXT_BLOCK.finditer(content):
            lines.append(b"".join(_unescape(s) for s in LITERAL.findall(block.group(1))).decode("cp1252", "replace"))
    return "\n".join(lines)
