"""Go's regexp (RE2) and strings.ToLower semantics, for Stash's exclude patterns.

Stash lower-cases each `scraping.excludeTagPatterns` entry and each scraped tag name with
Go's strings.ToLower and searches with Go's regexp. Python's `re` and `str.lower()` spell
and mean a few things differently; this module translates a Go pattern into an
equivalent Python one (or rejects it where Go would) and lower-cases as Go does.
"""
from __future__ import annotations
import re
import warnings


def go_lower(text: str) -> str:
    """Go's strings.ToLower: per code point, no context. Python's str.lower()
    differs in two ways: U+0130 becomes "i" plus U+0307, and a word-final
    capital sigma becomes final sigma. Undo both."""
    if text.isascii():
        return text.lower()
    return text.replace("\u0130", "i").replace("\u03a3", "\u03c3").lower()


_GO_SPECIAL_CHARACTERS = frozenset("\\.+*?()|[]{}^$")


def go_quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta: a backslash before each of ``\\.+*?()|[]{}^$``, all else as is."""
    return "".join("\\" + ch if ch in _GO_SPECIAL_CHARACTERS else ch for ch in text)


# --------------------------------------------------------------------------
# Go (RE2) pattern -> Python re
# --------------------------------------------------------------------------

_GO_MAX_REPEAT = 1000
_MULTILINE_FLAG = re.compile(r"\(\?[a-zA-Z-]*m")
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")
_GROUP_OPENING = re.compile(
    r"\(\?(?:P?<(?P<name>[A-Za-z0-9_]+)>|(?P<flags>[a-zA-Z-]*)(?P<end>[:)]))"
)
_OCTAL = re.compile(r"[0-7]{1,3}")
_HEX_BRACED = re.compile(r"x\{([0-9a-fA-F]+)\}")
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_GO_SPACE = "\\t\\n\\f\\r "  # Go's \s has no \v; Python's has


def compile_go_pattern(pattern: str) -> re.Pattern:
    """Compile a Go regexp pattern with Python's re, keeping Go's meaning for
    the constructs the two spell differently, and raising ValueError for
    constructs Go rejects (lookaround, backreferences, possessive and atomic
    groups, \\u escapes).

    re.ASCII gives Go's ASCII-only \\d \\w \\b. Known remaining differences
    (checked against Go 1.24's regexp, the Go Stash v0.30.1 is built with):
    negated POSIX classes (``[[:^alpha:]]``) and group names starting with a
    digit are valid in Go but rejected here; ``(?i)`` folds only ASCII
    letters here (patterns and names are lower-cased first, so it only
    matters for pairs such as final and medial sigma).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "possible nested set"
        return re.compile(_GoPatternTranslator(pattern).translate(), re.ASCII)


class _GoPatternTranslator:
    """One pass over a Go pattern, writing the Python equivalent."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.index = 0
        self.out: list[str] = []
        self.in_class = False
        self.after_repeat = False
        # Per open group, the flag groups opened mid-group: Go applies
        # "(?i)" to the rest of the enclosing group; Python needs "(?i:...)".
        self.scoped_flags: list[list[str]] = [[]]
        # Without the m flag Go's $ is the end of the text; Python's $ would
        # also match before a final newline.
        self.end_of_text = "(?:$)" if _MULTILINE_FLAG.search(pattern) else "(?:\\Z)"

    def translate(self) -> str:
        while self.index < len(self.pattern):
            ch = self.pattern[self.index]
            if ch == "\\":
                piece = self._escape()
            elif self.in_class:
                piece = self._class_member()
            else:
                piece = self._outside_class(ch)
            self.after_repeat = not self.in_class and (piece in ("*", "+", "?") or piece[:1] == "{")
            self.out.append(piece)
        for flags in reversed(self.scoped_flags):
            self.out.append(")" * len(flags))
        return "".join(self.out)

    def _take(self, piece: str, length: int = 1) -> str:
        self.index += length
        return piece

    def _outside_class(self, ch: str) -> str:
        if ch == "+" and self.after_repeat:
            raise ValueError(f"invalid nested repetition operator at {self.index}")
        if ch == "[":
            return self._open_class()
        if ch == "(":
            return self._open_group()
        if ch == ")":
            return self._close_group()
        if ch == "|":
            flags = self.scoped_flags[-1]
            return self._take(")" * len(flags) + "|" + "".join(f"(?{f}:" for f in flags))
        if ch == "{":
            return self._brace()
        if ch == "^":
            return self._take("(?:^)")  # a group, so that Go's "^*" stays valid
        if ch == "$":
            return self._take(self.end_of_text)
        return self._take(ch)

    def _open_class(self) -> str:
        start = self.index + 1
        if self.pattern.startswith("^", start):
            start += 1
        if self.pattern.startswith("]", start):  # a leading ] is a literal
            start += 1
        opening = "[" + self.pattern[self.index + 1:start].replace("]", "\\]")
        self.in_class = True
        return self._take(opening, start - self.index)

    def _class_member(self) -> str:
        ch = self.pattern[self.index]
        if ch == "]":
            self.in_class = False
            return self._take("]")
        if self.pattern.startswith("[:", self.index):
            end = self.pattern.find(":]", self.index + 2)
            if end > 0:  # Go: any "[:...:]" must name a class it knows
                name = self.pattern[self.index + 2:end]
                if name not in _POSIX_CLASSES:
                    raise ValueError(f"invalid or unsupported character class [:{name}:]")
                return self._take(_POSIX_CLASSES[name], end + 2 - self.index)
        if ch in "[&~|":
            return self._take("\\" + ch)  # literal in Go; set operators in Python's future
        return self._take(ch)

    def _open_group(self) -> str:
        self.scoped_flags.append([])
        if not self.pattern.startswith("(?", self.index):
            return self._take("(")
        opening = _GROUP_OPENING.match(self.pattern, self.index)
        if opening is None:  # (?= (?! (?<= (?<! (?> (?# (?( ...
            raise ValueError(f"unsupported group syntax at {self.index}")
        length = opening.end() - self.index
        if opening.group("name"):
            return self._take(f"(?P<{opening.group('name')}>", length)
        flags = opening.group("flags")
        if set(flags) - set("ims-"):
            raise ValueError(f"invalid flags {opening.group(0)!r}")
        if opening.group("end") == ":":
            return self._take(opening.group(0), length)
        self.scoped_flags.pop()  # "(?flags)" opens no group of its own
        if not flags:
            return self._take("", length)
        self.scoped_flags[-1].append(flags)
        return self._take(f"(?{flags}:", length)

    def _close_group(self) -> str:
        closing = ")" * len(self.scoped_flags[-1])
        if len(self.scoped_flags) > 1:
            self.scoped_flags.pop()
        return self._take(closing + ")")

    def _brace(self) -> str:
        repeat = _REPEAT.match(self.pattern, self.index)
        if not repeat:
            return self._take("\\{")  # Go: a brace that starts no repeat is literal
        counts = [int(c) for c in (repeat.group(1), repeat.group(3)) if c]
        if max(counts) > _GO_MAX_REPEAT:
            raise ValueError(f"invalid repeat count {repeat.group(0)}")
        return self._take(repeat.group(0), len(repeat.group(0)))

    def _escape(self) -> str:
        pattern, index = self.pattern, self.index
        if index + 1 >= len(pattern):
            raise ValueError("trailing backslash")
        ch = pattern[index + 1]
        octal = _OCTAL.match(pattern, index + 1)
        if ch == "0" or ch in "1234567" and octal and len(octal.group(0)) > 1:
            return self._take(re.escape(chr(int(octal.group(0), 8))), 1 + len(octal.group(0)))
        braced = _HEX_BRACED.match(pattern, index + 1)
        if braced and int(braced.group(1), 16) <= 0x10FFFF:
            return self._take(re.escape(chr(int(braced.group(1), 16))), 1 + len(braced.group(0)))
        if ch == "s":
            return self._take(_GO_SPACE if self.in_class else f"[{_GO_SPACE}]", 2)
        if not self.in_class and ch in "bz":
            return self._take("(?:\\b)" if ch == "b" else "(?:\\Z)", 2)
        if ch.isdigit() or ch in "buz" or not ch.isascii():
            raise ValueError(f"invalid escape \\{ch}")
        return self._take("\\" + ch, 2)
