"""The filter language: one query syntax for ``carefeed entries --query`` and the reader's
``/`` bar, read into a tree of :mod:`carefeed.model` records. Pure: no I/O, no clock.

Grammar (precedence: ``-`` binds tightest, then AND, then ``or``)::

    query   := anyof?
    anyof   := allof ( "or" allof )*
    allof   := unary ( "and"? unary )*
    unary   := "-" unary | primary
    primary := "(" anyof ")" | FIELD ":" VALUE | "unread" | "starred" | WORD | "PHRASE"

Fields (case-insensitive): ``topic:`` ``tag:`` ``feed:`` ``author:`` ``has:comments``
``is:unread|read|starred`` ``since:`` ``before:`` (``7d``, ``24h``, ``2w``, ``3m``,
``1y``, ``today``, ``yesterday``, or an ISO date/time such as ``2025-01-01``). Values may
be quoted: ``tag:"Mental health"``. Free words and ``"quoted phrases"`` search the full
text; words are matched as prefixes and never as FTS5 syntax.

Every malformed query raises :class:`~carefeed.errors.QueryError` with a one-line message
and the 0-based character offset of the problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from carefeed.errors import QueryError, TopicError
from carefeed.model import AllOf, AnyOf, Not, QueryNode, Term, Text

FIELDS = ("topic", "tag", "feed", "author", "has", "is", "since", "before")
FLAGS = {"unread": "unread", "starred": "starred"}  # bare words that are flags
IS_VALUES = ("unread", "read", "starred")
HAS_VALUES = ("comments",)
OPEN_QUOTES = '"\u201c'
CLOSE_QUOTES = '"\u201d'
_RELATIVE = re.compile(r"(\d{1,5})([hdwmy])", re.IGNORECASE)
_FIELD = re.compile(r"([A-Za-z]+):")


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "-", "or", "and", "word", "phrase", "field", "end"
    pos: int
    text: str = ""  # the word, the phrase's inside, or the field's value
    field: str = ""  # for "field": the field name, lower case
    quoted: bool = False  # the value was in quotes


def _is_space(c: str) -> bool:
    return c.isspace()


def _check_controls(text: str) -> None:
    for i, c in enumerate(text):
        if unicodedata.category(c) == "Cc" and not c.isspace():
            raise QueryError(f"control character U+{ord(c):04X} is not allowed", i)


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The inside of the quotes opening at ``start``, and the offset after the closing one."""
    end = start + 1
    while end < len(text) and text[end] not in CLOSE_QUOTES:
        end += 1
    if end >= len(text):
        raise QueryError('unclosed quote: add a closing "', start)
    return text[start + 1 : end], end + 1


def _word_end(text: str, start: int) -> int:
    end = start
    while end < len(text) and not _is_space(text[end]) and text[end] not in "()" + OPEN_QUOTES:
        end += 1
    return end


def tokenise(text: str) -> list[_Token]:
    _check_controls(text)
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if _is_space(c):
            i += 1
        elif c in "()":
            tokens.append(_Token(c, i))
            i += 1
        elif c == "-":
            if i + 1 >= n or _is_space(text[i + 1]):
                raise QueryError("'-' must be followed by a term, with no space between", i)
            tokens.append(_Token("-", i))
            i += 1
        elif c in OPEN_QUOTES:
            inside, i2 = _read_quoted(text, i)
            tokens.append(_Token("phrase", i, inside))
            i = i2
        else:
            end = _word_end(text, i)
            word = text[i:end]
            match = _FIELD.match(word)
            if match is not None and not word.startswith(match.group(0) + "//"):
                name = match.group(1).lower()
                if name not in FIELDS:
                    known = ", ".join(f"{f}:" for f in FIELDS)
                    raise QueryError(f"unknown field {match.group(0)!r}; known: {known}", i)
                value_at = i + len(match.group(0))
                if value_at < n and text[value_at] in OPEN_QUOTES:
                    value, end = _read_quoted(text, value_at)
                    quoted = True
                else:
                    value, quoted = text[value_at:end], False
                if not value.strip():
                    raise QueryError(f"{name}: needs a value", value_at)
                tokens.append(_Token("field", i, value.strip(), name, quoted))
            elif word.lower() in ("or", "and"):
                tokens.append(_Token(word.lower(), i, word))
            else:
                tokens.append(_Token("word", i, word))
            i = end
    tokens.append(_Token("end", n))
    return tokens


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenise(text)
        self.at = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def parse(self) -> QueryNode:
        if self.token.kind == "end":
            return AllOf(())
        node = self.any_of()
        token = self.token
        if token.kind == ")":
            raise QueryError("unmatched ')'", token.pos)
        if token.kind != "end":  # pragma: no cover - any_of stops only at ")" or the end
            raise QueryError(f"unexpected {token.text or token.kind!r}", token.pos)
        return node

    def any_of(self) -> QueryNode:
        parts = [self.all_of()]
        while self.token.kind == "or":
            keyword = self.take()
            if self.token.kind in ("end", ")", "or", "and"):
                raise QueryError(f"{keyword.text!r} needs a term after it", keyword.pos)
            parts.append(self.all_of())
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def all_of(self) -> QueryNode:
        parts = [self.unary()]
        while self.token.kind not in ("end", ")", "or"):
            if self.token.kind == "and":
                keyword = self.take()
                if self.token.kind in ("end", ")", "or", "and"):
                    raise QueryError(f"{keyword.text!r} needs a term after it", keyword.pos)
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def unary(self) -> QueryNode:
        token = self.token
        if token.kind == "-":
            self.take()
            if self.token.kind in ("end", ")", "or", "and"):
                raise QueryError("'-' must be followed by a term", token.pos)
            return Not(self.unary())
        return self.primary()

    def primary(self) -> QueryNode:
        token = self.take()
        kind = token.kind
        if kind == "(":
            if self.token.kind == ")":
                raise QueryError("empty parentheses", token.pos)
            if self.token.kind == "end":
                raise QueryError("unclosed '(': add a ')'", token.pos)
            node = self.any_of()
            if self.token.kind != ")":
                raise QueryError("unclosed '(': add a ')'", token.pos)
            self.take()
            return node
        if kind in ("or", "and"):
            raise QueryError(f"{token.text!r} needs a term before it", token.pos)
        if kind == ")":
            raise QueryError("unmatched ')'", token.pos)
        if kind == "end":  # pragma: no cover - callers check for the end first
            raise QueryError("the query ends too soon", token.pos)
        if kind == "field":
            return _field_term(token)
        if kind == "phrase":
            if not _searchable(token.text):
                raise QueryError("nothing to search for inside these quotes", token.pos)
            return Text(" ".join(token.text.split()), phrase=True)
        word = token.text
        if word.lower() in FLAGS:
            return Term("is", FLAGS[word.lower()])
        if not _searchable(word):
            raise QueryError(f"nothing to search for in {word!r}: use letters or digits", token.pos)
        return Text(word)


def _searchable(text: str) -> bool:
    return any(c.isalnum() for c in text)


def _field_term(token: _Token) -> Term:
    name, value = token.field, token.text
    value_at = token.pos + len(name) + 1
    if name == "is":
        if value.lower() not in IS_VALUES:
            raise QueryError(f"is: takes {', '.join(IS_VALUES)}", value_at)
        return Term(name, value.lower())
    if name == "has":
        if value.lower() not in HAS_VALUES:
            raise QueryError(f"has: takes {', '.join(HAS_VALUES)}", value_at)
        return Term(name, value.lower())
    if name in ("since", "before"):
        if _relative_delta(value) is None and _parse_instant(value) is None:
            raise QueryError(
                f"{name}: takes a date such as 2025-01-01, or an age such as 7d, 24h, 2w, 3m",
                value_at,
            )
        return Term(name, value.lower() if _relative_delta(value) is not None else value)
    if name == "topic":
        return Term(name, " ".join(value.split()))
    return Term(name, value)


def parse_query(text: str) -> QueryNode:
    """Read a query; raise QueryError (message, position) when it is malformed. An empty
    query is ``AllOf(())``, which matches every post."""
    return _Parser(text).parse()


# --------------------------------------------------------------------------- dates


def _relative_delta(value: str) -> timedelta | tuple[int, int] | str | None:
    """``7d`` → timedelta; ``3m``/``1y`` → (months, 0); ``today``/``yesterday`` → the word."""
    low = value.lower()
    if low in ("today", "yesterday"):
        return low
    match = _RELATIVE.fullmatch(value)
    if match is None:
        return None
    amount, unit = int(match.group(1)), match.group(2).lower()
    if unit == "h":
        return timedelta(hours=amount)
    if unit == "d":
        return timedelta(days=amount)
    if unit == "w":
        return timedelta(weeks=amount)
    return (amount * (12 if unit == "y" else 1), 0)


def _parse_instant(value: str) -> datetime | None:
    """An ISO date or date-time (UTC unless it says otherwise), or None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?", value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _months_back(now: datetime, months: int) -> datetime:
    total = now.year * 12 + (now.month - 1) - months
    year, month = divmod(total, 12)
    day = min(now.day, _days_in_month(year, month + 1))
    return now.replace(year=year, month=month + 1, day=day)


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (datetime(year, month + 1, 1) - datetime(year, month, 1)).days


def _absolute(value: str, now: datetime) -> str:
    rel = _relative_delta(value)
    if rel is None:
        return value
    if isinstance(rel, timedelta):
        at = now - rel
    elif isinstance(rel, tuple):
        at = _months_back(now, rel[0])
    else:
        at = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if rel == "yesterday":
            at -= timedelta(days=1)
    at = at.astimezone(UTC).replace(microsecond=0)
    if (at.hour, at.minute, at.second) == (0, 0, 0):
        return at.strftime("%Y-%m-%d")
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- resolving


def resolve_query(
    node: QueryNode,
    *,
    resolve_topic: Callable[[str], str],
    now: datetime,
    text: str | None = None,
) -> QueryNode:
    """Topic prefixes → canonical names, relative dates → absolute ones at ``now``.

    ``resolve_topic`` raises TopicError for a name that matches no topic or several; that
    becomes a QueryError naming the term, pointing at it when ``text`` (the query the tree
    was read from) is given.
    """

    def walk(node: QueryNode) -> QueryNode:
        if isinstance(node, Term):
            if node.field == "topic":
                try:
                    return Term("topic", resolve_topic(node.value))
                except TopicError as exc:
                    raise QueryError(
                        f"topic:{_quote(node.value)}: {exc}", _position_of(text, node)
                    ) from None
            if node.field in ("since", "before"):
                return Term(node.field, _absolute(node.value, now))
            return node
        if isinstance(node, Text):
            return node
        if isinstance(node, Not):
            return Not(walk(node.part))
        parts = tuple(walk(p) for p in node.parts)
        return AllOf(parts) if isinstance(node, AllOf) else AnyOf(parts)

    return walk(node)


def _position_of(text: str | None, term: Term) -> int | None:
    """Where ``term`` was written in ``text`` (its first occurrence), if anywhere."""
    if text is None:
        return None
    try:
        tokens = tokenise(text)
    except QueryError:
        return None
    for token in tokens:
        if token.kind == "field" and token.field == term.field and _field_term(token) == term:
            return token.pos
    return None


# --------------------------------------------------------------------------- writing


def _needs_quotes(value: str) -> bool:
    return (
        value == ""
        or any(_is_space(c) or c in '()"\u201c\u201d' for c in value)
        or value.lower() in ("or", "and")
        or value.startswith("-")
    )


def _quote(value: str) -> str:
    return f'"{value}"' if _needs_quotes(value) else value


def format_query(node: QueryNode) -> str:
    """The canonical text of a query; ``parse_query(format_query(n)) == n`` for any tree
    parse_query can make (values holding a double quote cannot be written back)."""
    return _format(node, top=True)


def _format(node: QueryNode, *, top: bool = False, inside: str = "") -> str:
    if isinstance(node, Term):
        if node.field == "is" and node.value in FLAGS:
            return node.value
        return f"{node.field}:{_quote(node.value)}"
    if isinstance(node, Text):
        if node.phrase or _needs_quotes(node.value) or node.value.lower() in FLAGS:
            return f'"{node.value}"'
        return node.value
    if isinstance(node, Not):
        return "-" + _format(node.part, inside="not")
    if not node.parts:
        return "" if top else "()"
    if isinstance(node, AllOf):
        text = " ".join(_format(p, inside="all") for p in node.parts)
        return f"({text})" if inside in ("all", "not") else text
    text = " or ".join(_format(p, inside="any") for p in node.parts)
    return f"({text})" if inside in ("all", "not", "any") else text


__all__ = [
    "FIELDS",
    "format_query",
    "parse_query",
    "resolve_query",
    "tokenise",
]
