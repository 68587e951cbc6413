"""Glob matching for policy patterns (``*`` any run, ``?`` one character) in bounded time, never backtracking.

A pattern is split at its ``*`` wildcards into segments (literal text and ``?``). The string matches when the first
segment matches at its start, the last at its end, and every middle segment occurs, in order, between them. Taking
each middle segment at its leftmost occurrence is always right (a later occurrence leaves less room for the rest),
so no choice is ever revisited: a match costs at most O(len(string) × len(pattern)), where a backtracking regular
expression such as ``.*a.*a.*a…!`` is exponential (and holds the GIL while it runs). Segments are searched with
``str.find`` or with a quantifier-free regular expression, so the work is done in C.

Used for IAM and IoT policy actions and resources; MQTT topic filters are matched level by level in
:mod:`helpers.spec.topics`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence, Union

ANY = object()  # the ``*`` token
ONE = object()  # the ``?`` token
Token = Union[str, object]


@dataclass(frozen=True)
class _Segment:
    """A run of literal text and ``?`` between two ``*``: its length and how to find it."""

    length: int
    text: str | None  # the literal text when the segment has no ``?`` and case matters
    regex: re.Pattern[str] | None  # otherwise a quantifier-free expression

    def at(self, s: str, pos: int) -> bool:
        """Return True when the segment matches ``s`` exactly at ``pos``."""
        if pos < 0 or pos + self.length > len(s):
            return False
        if self.text is not None:
            return s.startswith(self.text, pos)
        return self.regex.match(s, pos, pos + self.length) is not None  # type: ignore[union-attr]

    def find(self, s: str, start: int, end: int) -> int:
        """Return the leftmost position in [start, end - length] where the segment matches, or -1."""
        if self.text is not None:
            return s.find(self.text, start, end)
        m = self.regex.search(s, start, end)  # type: ignore[union-attr]
        return -1 if m is None else m.start()


def _segment(tokens: Sequence[Token], ignore_case: bool) -> _Segment:
    """Return the compiled segment for literal strings and ONE tokens."""
    length = sum(1 if t is ONE else len(t) for t in tokens)  # type: ignore[arg-type]
    if not ignore_case and all(t is not ONE for t in tokens):
        return _Segment(length, "".join(tokens), None)  # type: ignore[arg-type]
    source = "".join("." if t is ONE else re.escape(t) for t in tokens)  # type: ignore[arg-type]
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)  # IGNORECASE keeps lengths; str.lower() may not
    return _Segment(length, None, re.compile(source, flags))


class Glob:
    """A compiled pattern of literal text, ``*`` and ``?``; :meth:`matches` tells whether a whole string matches."""

    def __init__(self, tokens: Sequence[Token], ignore_case: bool = False) -> None:
        parts: list[list[Token]] = [[]]
        for token in tokens:
            if token is ANY:
                parts.append([])
            elif token is ONE or token:
                parts[-1].append(token)
        self._segments = [_segment(p, ignore_case) for p in parts]

    def matches(self, s: str) -> bool:
        """Return True when the whole of ``s`` matches the pattern."""
        segments = self._segments
        first, last = segments[0], segments[-1]
        if len(segments) == 1:
            return len(s) == first.length and first.at(s, 0)
        if len(s) < first.length + last.length or not first.at(s, 0) or not last.at(s, len(s) - last.length):
            return False
        pos, end = first.length, len(s) - last.length
        for seg in segments[1:-1]:
            if seg.length == 0:
                continue
            found = seg.find(s, pos, end)
            if found < 0:
                return False
            pos = found + seg.length
        return True


class GlobSet:
    """Several globs: :meth:`matches` is True when any of them matches."""

    def __init__(self, globs: Sequence[Glob]) -> None:
        self._globs = tuple(globs)

    def matches(self, s: str) -> bool:
        """Return True when any of the globs matches the whole of ``s``."""
        return any(g.matches(s) for g in self._globs)


@lru_cache(maxsize=16384)
def glob(pattern: str, ignore_case: bool = False) -> Glob:
    """Return the compiled glob for a plain pattern of text, ``*`` and ``?``."""
    return Glob(tokenize(pattern), ignore_case)


def tokenize(pattern: str) -> list[Token]:
    """Return ``pattern`` as tokens: literal strings, ANY for ``*`` and ONE for ``?``."""
    tokens: list[Token] = []
    literal: list[str] = []
    for ch in pattern:
        if ch in "*?":
            if literal:
                tokens.append("".join(literal))
                literal = []
            tokens.append(ANY if ch == "*" else ONE)
        else:
            literal.append(ch)
    if literal:
        tokens.append("".join(literal))
    return tokens
