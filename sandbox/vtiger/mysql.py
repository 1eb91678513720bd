"""VTQL, the second layer: the SQL that vtiger pastes together, as MySQL reads it.

vtiger copies WHERE literals into SQL verbatim (with their quotes). MySQL, unlike the VTQL lexer, treats
backslash as an escape inside strings, so the two can disagree about where a literal ends. To reproduce
what that does (errors, silent non-matches, or a changed query), the condition is rendered as SQL text
and re-read here with MySQL's own string rules, then evaluated over the stored rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .envelope import WsError
from .storage import collation_key, like_fold

_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "%": "\\%", "_": "\\_"}
_SQL_TOKEN = re.compile(
    r"(?P<space>\s+)|(?P<comment>#[^\n]*|--(?=\s|$)[^\n]*|/\*.*?\*/)"
    r"|(?P<num>[0-9]+(?:\.[0-9]+)?(?![A-Za-z_]))|(?P<ident>[A-Za-z0-9_$.]+)"
    r"|(?P<op><=>|<=|>=|!=|<>|&&|\|\||[=<>(),;!+-])",
    re.S,
)
Value = Any  # str | float | int | None
_COMPARISONS = ("=", "!=", "<>", "<", ">", "<=", ">=", "<=>")


class SqlError(Exception):
    """MySQL rejected the statement (syntax, unknown column, ...): DATABASE_QUERY_ERROR."""


@dataclass
class Tok:
    kind: str  # str, num, ident, op, kw
    value: Any


_KEYWORDS = {"and", "or", "not", "in", "like", "order", "by", "asc", "desc", "limit", "xor", "is", "null"}


def tokenize(sql: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(sql):
        ch = sql[pos]
        if ch in "'\"":
            value, pos = _string(sql, pos)
            out.append(Tok("str", value))
            continue
        match = _SQL_TOKEN.match(sql, pos)
        if match is None:
            raise SqlError("syntax")
        pos = match.end()
        kind = match.lastgroup or ""
        text = match.group()
        if kind in ("space", "comment"):
            continue
        if kind == "num":
            out.append(Tok("num", float(text) if "." in text else int(text)))
        elif kind == "ident":
            out.append(Tok("kw", text.lower()) if text.lower() in _KEYWORDS else Tok("ident", text))
        else:
            out.append(Tok("op", text))
    return out


def _string(sql: str, pos: int) -> tuple[str, int]:
    quote = sql[pos]
    pos += 1
    chars: list[str] = []
    while pos < len(sql):
        ch = sql[pos]
        if ch == "\\" and pos + 1 < len(sql):
            nxt = sql[pos + 1]
            chars.append(_ESCAPES.get(nxt, nxt))
            pos += 2
        elif ch == quote:
            if pos + 1 < len(sql) and sql[pos + 1] == quote:
                chars.append(quote)
                pos += 2
            else:
                return "".join(chars), pos + 1
        else:
            chars.append(ch)
            pos += 1
    raise SqlError("unterminated string")


Row = Callable[[str], Value]  # column name -> value (raises SqlError for unknown columns)


class Statement:
    """`WHERE <expr> [ORDER BY ...] [LIMIT ...]` as MySQL parses it."""

    def __init__(self, sql: str) -> None:
        self.toks = tokenize(sql)
        self.pos = 0
        self.where = self._expr()
        self.order: list[str] = []
        self.desc = False
        self.offset = 0
        self.count: int | None = None
        if self._kw("order"):
            if not self._kw("by"):
                raise SqlError("syntax")
            self.order.append(self._ident())
            while self._op(","):
                self.order.append(self._ident())
            if self._kw("desc"):
                self.desc = True
            else:
                self._kw("asc")
        if self._kw("limit"):
            first = self._uint()
            if self._op(","):
                self.offset, self.count = first, self._uint()
            else:
                self.count = first
        self._op(";")
        if self.pos != len(self.toks):
            raise SqlError("syntax")

    # --- token helpers ------------------------------------------------------------------------------
    def _peek(self) -> Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def _kw(self, word: str) -> bool:
        tok = self._peek()
        if tok is not None and tok.kind == "kw" and tok.value == word:
            self.pos += 1
            return True
        return False

    def _op(self, op: str) -> bool:
        tok = self._peek()
        if tok is not None and tok.kind == "op" and tok.value == op:
            self.pos += 1
            return True
        return False

    def _ident(self) -> str:
        tok = self._peek()
        if tok is None or tok.kind != "ident":
            raise SqlError("syntax")
        self.pos += 1
        return str(tok.value)

    def _uint(self) -> int:
        tok = self._peek()
        if tok is None or tok.kind != "num" or not isinstance(tok.value, int):
            raise SqlError("syntax")
        self.pos += 1
        return int(tok.value)

    # --- expressions (MySQL precedence: OR < AND < NOT < comparison) --------------------------------
    def _expr(self) -> Callable[[Row], Value]:
        left = self._and()
        while self._kw("or") or self._op("||"):
            left = _combine(_or, left, self._and())
        return left

    def _and(self) -> Callable[[Row], Value]:
        left = self._not()
        while self._kw("and") or self._op("&&"):
            left = _combine(_and, left, self._not())
        return left

    def _not(self) -> Callable[[Row], Value]:
        if self._kw("not") or self._op("!"):
            inner = self._not()
            return lambda row: None if (v := inner(row)) is None else int(not _truth(v))
        return self._predicate()

    def _predicate(self) -> Callable[[Row], Value]:
        left = self._operand()
        negate = self._kw("not")
        if self._kw("in"):
            if not self._op("("):
                raise SqlError("syntax")
            items = [self._operand()]
            while self._op(","):
                items.append(self._operand())
            if not self._op(")"):
                raise SqlError("syntax")
            return lambda row: _negate(negate, _in(left(row), [i(row) for i in items]))
        if self._kw("like"):
            pattern = self._operand()
            return lambda row: _negate(negate, _like(left(row), pattern(row)))
        if negate:
            raise SqlError("syntax")
        tok = self._peek()
        if tok is not None and tok.kind == "op" and tok.value in _COMPARISONS:
            self.pos += 1
            right = self._operand()
            return lambda row: _compare(str(tok.value), left(row), right(row))
        return left

    def _operand(self) -> Callable[[Row], Value]:
        tok = self._peek()
        if tok is None:
            raise SqlError("syntax")
        self.pos += 1
        if tok.kind == "op" and tok.value == "(":
            inner = self._expr()
            if not self._op(")"):
                raise SqlError("operand should contain 1 column")
            return inner
        if tok.kind == "op" and tok.value in "+-":
            inner = self._operand()
            sign = -1 if tok.value == "-" else 1
            return lambda row: None if (v := inner(row)) is None else sign * _number(v)
        if tok.kind in ("str", "num"):
            return lambda row: tok.value
        if tok.kind == "kw" and tok.value == "null":
            return lambda row: None
        if tok.kind == "ident":
            return lambda row: row(str(tok.value))
        raise SqlError("syntax")


def _combine(
    op: Callable[[Value, Value], Value], a: Callable[[Row], Value], b: Callable[[Row], Value]
) -> Callable[[Row], Value]:
    return lambda row: op(a(row), b(row))


def _truth(value: Value) -> bool:
    return value is not None and _number(value) != 0


def _or(a: Value, b: Value) -> Value:
    if _truth(a) or _truth(b):
        return 1
    return None if a is None or b is None else 0


def _and(a: Value, b: Value) -> Value:
    if (a is not None and not _truth(a)) or (b is not None and not _truth(b)):
        return 0
    return None if a is None or b is None else 1


def _negate(flag: bool, value: Value) -> Value:
    return value if not flag or value is None else int(not _truth(value))


def _number(value: Value) -> float:
    if isinstance(value, (int, float)):
        return value
    match = re.match(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", str(value))
    return float(match.group()) if match else 0.0


def _compare(op: str, a: Value, b: Value) -> Value:
    if a is None or b is None:
        return int(a is None and b is None) if op == "<=>" else None
    x: Any
    y: Any
    if isinstance(a, str) and isinstance(b, str):
        x, y = collation_key(a), collation_key(b)
    else:
        x, y = _number(a), _number(b)
    return int(
        {
            "=": x == y,
            "<=>": x == y,
            "!=": x != y,
            "<>": x != y,
            "<": x < y,
            ">": x > y,
            "<=": x <= y,
            ">=": x >= y,
        }[op]
    )


def _in(a: Value, items: list[Value]) -> Value:
    results = [_compare("=", a, item) for item in items]
    if any(r == 1 for r in results):
        return 1
    return None if a is None or None in results else 0


def _like(value: Value, pattern: Value) -> Value:
    if value is None or pattern is None:
        return None
    text = like_fold(value if isinstance(value, str) else _fmt(value))
    pat = like_fold(pattern if isinstance(pattern, str) else _fmt(pattern))
    regex: list[str] = []
    i = 0
    while i < len(pat):
        ch = pat[i]
        if ch == "\\" and i + 1 < len(pat):
            regex.append(re.escape(pat[i + 1]))
            i += 2
            continue
        regex.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return int(re.fullmatch("".join(regex), text, re.S) is not None)


def _fmt(value: Value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def run(sql: str) -> Statement:
    try:
        return Statement(sql)
    except SqlError:
        raise
    except (RecursionError, ValueError) as exc:
        raise SqlError(str(exc)) from exc


def database_error(message: str) -> WsError:
    return WsError("DATABASE_QUERY_ERROR", message)
