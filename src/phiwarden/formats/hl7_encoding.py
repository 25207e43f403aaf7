"""HL7 v2 ER7 encoding characters and escapes: the delimiters a message declares in MSH-1
and MSH-2, escaping a value for writing and decoding one that was read. Shared by the
readers (``ingest``) and the synthetic writers (``synth``), owned by neither."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Encoding:
    """The five delimiters of a message (MSH-1 and MSH-2)."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def msh2(self) -> str:
        """The encoding characters as written in MSH-2."""
        return self.component + self.repetition + self.escape + self.subcomponent


DEFAULT = Encoding()


def escape(value: str, enc: Encoding = DEFAULT) -> str:
    """Escape delimiters in a value and turn line breaks into spaces (for writers)."""
    out = value.replace(enc.escape, f"{enc.escape}E{enc.escape}")
    for char, code in (
        (enc.field, "F"),
        (enc.component, "S"),
        (enc.subcomponent, "T"),
        (enc.repetition, "R"),
    ):
        out = out.replace(char, f"{enc.escape}{code}{enc.escape}")
    return _LINE_BREAK.sub(" ", out)


def unescape(value: str, enc: Encoding) -> str:
    """Decode the escape sequences of a value; formatting commands become spaces."""
    if enc.escape not in value:
        return value
    parts = value.split(enc.escape)
    out = [parts[0]]
    simple = {
        "F": enc.field,
        "S": enc.component,
        "T": enc.subcomponent,
        "R": enc.repetition,
        "E": enc.escape,
    }
    i = 1
    while i < len(parts):
        if i + 1 >= len(parts):  # an unpaired escape character stands for itself
            out.append(enc.escape + parts[i])
            break
        code = parts[i]
        if code in simple:
            out.append(simple[code])
        elif code.startswith("X") and re.fullmatch(r"X(?:[0-9A-Fa-f]{2})+", code):
            out.append(bytes.fromhex(code[1:]).decode("latin-1"))
        else:
            out.append(" " if code in (".br", "H", "N") or code.startswith(".") else "")
        out.append(parts[i + 1])
        i += 2
    return "".join(out)
