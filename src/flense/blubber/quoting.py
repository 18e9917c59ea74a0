"""Shell command text exactly as Blubber writes it.

Blubber quotes every argument with Go's ``strconv.Quote`` and fills command
templates with Go's ``fmt.Sprintf``. Python's ``json.dumps``, ``repr`` and
``shlex.quote`` all differ from it, so this module ports the Go rules.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

__all__ = ["RunTemplateError", "format_run", "go_quote", "join_runs"]

_HEX = "0123456789abcdef"

_NAMED_ESCAPES = {
    0x07: "\\a",
    0x08: "\\b",
    0x0C: "\\f",
    0x0A: "\\n",
    0x0D: "\\r",
    0x09: "\\t",
    0x0B: "\\v",
}


def go_quote(text: str | bytes) -> str:
    """Quote ``text`` as Go's ``strconv.Quote`` does.

    The result is wrapped in double quotes. ``"`` and ``\\`` get a backslash,
    and printable Unicode stays literal. The seven C escapes (``\\a`` to
    ``\\v``) are used where they apply. Other ASCII control bytes and bytes
    that are not valid UTF-8 become ``\\xHH``. Other non-printable runes
    become ``\\uHHHH`` or ``\\UHHHHHHHH``. A ``str`` is taken as its UTF-8
    encoding, so lone surrogates count as invalid bytes.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    out = ['"']
    index = 0
    while index < len(data):
        rune, width = _decode_rune(data, index)
        if rune is None:
            byte = data[index]
            out.append("\\x" + _HEX[byte >> 4] + _HEX[byte & 0xF])
        else:
            out.append(_escape_rune(rune))
        index += width
    out.append('"')
    return "".join(out)


def _decode_rune(data: bytes, index: int) -> tuple[int | None, int]:
    """Decode one UTF-8 rune as Go's ``utf8.DecodeRune`` does.

    Returns ``(None, 1)`` for an invalid byte. Python's strict UTF-8 decoder
    rejects the same sequences as Go: overlong forms, surrogates and values
    above U+10FFFF.
    """
    lead = data[index]
    if lead < 0x80:
        return lead, 1
    if 0xC2 <= lead <= 0xDF:
        width = 2
    elif 0xE0 <= lead <= 0xEF:
        width = 3
    elif 0xF0 <= lead <= 0xF4:
        width = 4
    else:
        return None, 1
    try:
        character = data[index : index + width].decode("utf-8")
    except UnicodeDecodeError:
        return None, 1
    if len(character) != 1:
        return None, 1
    return ord(character), width


def _escape_rune(rune: int) -> str:
    if rune in (0x22, 0x5C):
        return "\\" + chr(rune)
    if _is_print(rune):
        return chr(rune)
    if rune in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[rune]
    if rune < 0x20 or rune == 0x7F:
        return "\\x" + _HEX[rune >> 4] + _HEX[rune & 0xF]
    if rune < 0x10000:
        return f"\\u{rune:04x}"
    return f"\\U{rune:08x}"


def _is_print(rune: int) -> bool:
    """Report whether Go's ``strconv.IsPrint`` holds for ``rune``.

    Go counts letters, marks, numbers, punctuation, symbols and the ASCII
    space as printable. NOTE: Python's Unicode database version may differ
    from Go's for code points assigned recently.
    """
    if rune == 0x20:
        return True
    return unicodedata.category(chr(rune))[0] in "LMNPS"


class RunTemplateError(ValueError):
    """A command template whose ``%`` verbs do not match its arguments."""


def format_run(template: str, arguments: Sequence[str]) -> str:
    """Render one command as Blubber's ``RunAll`` does.

    Blubber counts the format verbs as ``count("%") - count("%%")``, fills
    that many leading arguments into the template with ``fmt.Sprintf`` (each
    argument quoted), and appends the other arguments quoted and separated by
    spaces. Raises RunTemplateError where Go would panic (more verbs than
    arguments) or print ``%!`` error text (verbs other than ``%s`` and
    ``%v``, or a verb count that differs from Blubber's count).
    """
    slots = template.count("%") - template.count("%%")
    if slots > len(arguments):
        raise RunTemplateError(
            f"the command {go_quote(template)} contains {slots} format "
            f"verb(s) but only {len(arguments)} argument(s) follow it"
        )
    quoted = [go_quote(argument) for argument in arguments]
    text = _sprintf(template, quoted[:slots])
    if len(quoted) > slots:
        text += " " + " ".join(quoted[slots:])
    return text


def _sprintf(template: str, values: Sequence[str]) -> str:
    out: list[str] = []
    used = 0
    index = 0
    while index < len(template):
        character = template[index]
        if character != "%":
            out.append(character)
            index += 1
            continue
        verb = template[index + 1 : index + 2]
        if verb == "%":
            out.append("%")
        elif verb in ("s", "v") and used < len(values):
            out.append(values[used])
            used += 1
        else:
            raise RunTemplateError(
                f"the command {go_quote(template)} contains the format text "
                f"{go_quote('%' + verb)}, which Blubber cannot render"
            )
        index += 2
    if used != len(values):
        raise RunTemplateError(
            f"the command {go_quote(template)} mixes %% and % so that Blubber "
            "miscounts its format verbs"
        )
    return "".join(out)


def join_runs(commands: Sequence[tuple[str, Sequence[str]]]) -> str:
    """Render several ``(template, arguments)`` commands joined with `` && ``."""
    return " && ".join(format_run(template, args) for template, args in commands)
