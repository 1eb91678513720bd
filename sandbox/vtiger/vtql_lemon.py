"""vtiger's VTQL parser, ported line by line (SalesPlatform 7.2's lemon-generated
`include/Webservices/VTQL_Parser.php`, fed by the lexer in `vtql_lexer.py`), so that every query is accepted,
rejected and worded as there.

The PHP parser has quirks that decide what a client sees, and the port keeps them:
- the parser's "expected token" look-ahead simulates reductions on the live stack and, on one path, returns
  without restoring it (the PHP port of lemon's bug), so later actions can be skipped;
- a null token compares equal to 0 (end of input) wherever PHP compares loosely.
The parser's output is the `out` array of the PHP actions; `vtql.py` turns it into a `Select`.
Messages are copied from the PHP file; its tables and rules are in `vtql_tables.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .envelope import UNKNOWN_ERROR, PhpFatal, WsError
from .vtql_lexer import TOKEN_NAMES, Lexer, LexError, Tok, ilower
from .vtql_tables import (
    OPERATORS,
    RULES,
    YY_ACTION,
    YY_DEFAULT,
    YY_ERROR_ACTION,
    YY_EXPECTED,
    YY_LOOKAHEAD,
    YY_NO_ACTION,
    YY_REDUCE_OFST,
    YY_REDUCE_USE_DFLT,
    YY_SHIFT_OFST,
    YY_SHIFT_USE_DFLT,
    YYERRORSYMBOL,
    YYNOCODE,
    YYNRULE,
    YYNSTATE,
)


def _loose_ne(a: int, b: Tok) -> bool:
    """PHP's `a != b` for an int table entry and a token that may be null (null == 0)."""
    return a != 0 if b is None else a != b


@dataclass
class Entry:
    stateno: int | None
    major: int | None
    minor: Any = None


class Stack:
    """A PHP array used as the parser's stack: array_push appends after the highest key ever used (less
    the pops), assignment by index replaces in place or appends, array_pop removes the last element."""

    def __init__(self) -> None:
        self.items: dict[int, Entry] = {}
        self.next_key = 0

    def push(self, entry: Entry) -> None:
        self.items[self.next_key] = entry
        self.next_key += 1

    def set(self, key: int, entry: Entry) -> None:
        self.items[key] = entry
        self.next_key = max(self.next_key, key + 1)

    def pop(self) -> None:
        if self.items:
            key, _ = self.items.popitem()
            if key == self.next_key - 1:
                self.next_key = key
        # PHP resets the next free key only when the popped key was the last one

    def get(self, key: int) -> Entry | None:
        return self.items.get(key)

    def copy(self) -> Stack:
        other = Stack()
        other.items, other.next_key = dict(self.items), self.next_key
        return other


class ParseError(WsError):
    pass


class Parser:
    """VTQL_Parser: doParse(token, value) per token, then doParse(0, 0); `out` holds the actions' work."""

    def __init__(self, lexer: Lexer, check_module: Any) -> None:
        self.lex = lexer
        self.check_module = check_module  # vtws_getModuleHandlerFromName: raises for an unknown module
        self.out: dict[str, Any] = {"column_list": []}
        self.stack = Stack()
        self.yyidx: int | None = None
        self.errcnt = -1
        self.success = False

    # --- tables --------------------------------------------------------------------------------------------
    def _state(self) -> int | None:
        entry = self.stack.get(self.yyidx if self.yyidx is not None else -1)
        return entry.stateno if entry is not None else None

    def find_shift_action(self, look: Tok) -> int | None:
        state = self._state()
        if state is None or state >= len(YY_SHIFT_OFST):
            return YY_DEFAULT[state] if state is not None and state < len(YY_DEFAULT) else None
        i = YY_SHIFT_OFST[state]
        if i == YY_SHIFT_USE_DFLT:
            return YY_DEFAULT[state]
        if look == YYNOCODE:
            return YY_NO_ACTION
        i += look or 0
        if i < 0 or i >= len(YY_ACTION) or _loose_ne(YY_LOOKAHEAD[i], look):
            return YY_DEFAULT[state]
        return YY_ACTION[i]

    @staticmethod
    def find_reduce_action(state: int | None, look: int) -> int | None:
        if state is None or state >= len(YY_REDUCE_OFST):
            return YY_DEFAULT[state] if state is not None and state < len(YY_DEFAULT) else None
        i = YY_REDUCE_OFST[state]
        if i == YY_REDUCE_USE_DFLT:
            return YY_DEFAULT[state]
        i += look
        if i < 0 or i >= len(YY_ACTION) or YY_LOOKAHEAD[i] != look:
            return YY_DEFAULT[state]
        return YY_ACTION[i]

    # --- the look-ahead simulations (with the PHP port's missing restore on the shift path) ----------------
    def _simulate(self, token: Tok, expected: list[int] | None) -> Any:
        """yy_get_expected_tokens (expected is a list) or yy_is_expected_token (expected is None)."""
        saved, saved_idx = self.stack.copy(), self.yyidx
        assert self.yyidx is not None

        def restore() -> None:
            self.stack, self.yyidx = saved.copy(), saved_idx

        while True:
            act = self.find_shift_action(token)
            if act is None or not YYNSTATE <= act < YYNSTATE + YYNRULE:
                break
            done = 0
            while True:
                if done == 100:
                    restore()
                    return _unique(expected) if expected is not None else True
                done += 1
                lhs, size = RULES[act - YYNSTATE]  # type: ignore[operator]  # unguarded, as in the PHP port
                self.yyidx -= size
                nxt = self.find_reduce_action(self._state(), lhs)
                if nxt is not None and nxt < len(YY_EXPECTED):
                    if expected is not None:
                        expected += YY_EXPECTED[nxt][len(expected) :]  # PHP's array union: by index
                    if token in YY_EXPECTED[nxt]:
                        restore()
                        return _unique(expected) if expected is not None else True
                if nxt is not None and nxt < YYNSTATE:
                    self.yyidx += 1
                    self.stack.set(self.yyidx, Entry(nxt, lhs))
                    break  # continue 2
                if nxt == YYNSTATE + YYNRULE + 1:
                    restore()
                    if expected is not None:
                        return _unique(expected)
                    return token in (0, None)
                if nxt == YY_NO_ACTION:
                    restore()
                    return expected if expected is not None else True
                act = nxt
            else:  # pragma: no cover - the inner loop always leaves by return or break
                pass
        return _unique(expected) if expected is not None else True  # not restored, as in the PHP port

    def expected_tokens(self, token: Tok) -> list[int]:
        state = self._state()
        expected = list(YY_EXPECTED[state]) if state is not None and state < len(YY_EXPECTED) else []
        if token in expected:
            return expected
        return list(self._simulate(token, expected))

    def is_expected(self, token: Tok) -> bool:
        if token == 0:
            return True
        state = self._state()
        if state is not None and state < len(YY_EXPECTED) and token in YY_EXPECTED[state]:
            return True
        return bool(self._simulate(token, None))

    # --- shift, reduce, parse -----------------------------------------------------------------------------
    def shift(self, state: int, major: int | None, minor: Any) -> None:
        assert self.yyidx is not None
        self.yyidx += 1
        if self.yyidx >= 100:
            raise ParseError("QUERY_SYNTAX_ERROR", "Parser stack overflow")
        self.stack.push(Entry(state, major, minor))

    def _minor(self, offset: int) -> Any:
        assert self.yyidx is not None
        entry = self.stack.get(self.yyidx + offset)
        return entry.minor if entry is not None else None

    def reduce(self, rule: int) -> None:
        self._action(rule)
        lhs, size = RULES[rule]
        assert self.yyidx is not None
        self.yyidx -= size
        for _ in range(size):
            self.stack.pop()
        act = self.find_reduce_action(self._state(), lhs)
        if act is not None and act < YYNSTATE:
            if size:
                self.yyidx += 1
                self.stack.set(self.yyidx, Entry(act, lhs))
            else:
                self.shift(act, lhs, None)
        elif act == YYNSTATE + YYNRULE + 1:
            self.accept()

    def accept(self) -> None:
        while self.yyidx is not None and self.yyidx >= 0:
            self.pop()
        self.success = True

    def pop(self) -> None:
        if not self.stack.items:
            return
        self.stack.pop()
        assert self.yyidx is not None
        self.yyidx -= 1

    def syntax_error(self, major: Tok, value: Any) -> WsError:
        names = [TOKEN_NAMES[t] for t in self.expected_tokens(major)]
        kind = (
            "End of Input"
            if major == 0
            else TOKEN_NAMES[major]
            if major is not None and 0 < major < len(TOKEN_NAMES)
            else "Unknown"
        )
        shown, last = ("0" if value == 0 else str(value)), self.lex.value
        return ParseError(
            "QUERY_SYNTAX_ERROR",
            f"Syntax Error on line 1: token '{last}' Unexpected "
            f"{kind}({shown}), expected one of: {','.join(names)}",
        )

    def parse_token(self, major: Tok, value: Any) -> None:
        """doParse()."""
        error_hit = False
        if self.yyidx is None or self.yyidx < 0:
            self.yyidx, self.errcnt = 0, -1
            self.stack = Stack()
            self.stack.push(Entry(0, 0))
        end_of_input = major in (0, None)
        while True:
            act = self.find_shift_action(major)
            if (major is None or major < YYERRORSYMBOL) and not self.is_expected(major):
                act = YY_ERROR_ACTION
            if act is not None and act < YYNSTATE:
                self.shift(act, major, value)
                self.errcnt -= 1
                major = 0 if end_of_input and self.yyidx >= 0 else YYNOCODE
            elif act is not None and act < YYNSTATE + YYNRULE:
                self.reduce(act - YYNSTATE)
            elif act == YY_ERROR_ACTION:
                if self.errcnt < 0:
                    raise self.syntax_error(major, value)
                top = self.stack.get(self.yyidx)
                if (top is not None and top.major == YYERRORSYMBOL) or error_hit:
                    major = YYNOCODE
                else:
                    while self.yyidx >= 0 and (self.find_shift_action(YYERRORSYMBOL) or 0) >= YYNSTATE:
                        self.pop()
                    if self.yyidx < 0 or major == 0:
                        self.parse_failed()
                        major = YYNOCODE
                    else:
                        self.shift(self.find_shift_action(YYERRORSYMBOL) or 0, YYERRORSYMBOL, 0)
                self.errcnt = 3
                error_hit = True
            else:
                self.accept()
                major = YYNOCODE
            if major == YYNOCODE or self.yyidx < 0:
                return

    def parse_failed(self) -> None:
        while self.yyidx is not None and self.yyidx >= 0:
            self.pop()
        raise ParseError("QUERY_SYNTAX_ERROR", "Parsing failed")

    # --- the grammar's actions (only what decides answers; the SQL is built by queryexec) -----------------
    def _action(self, rule: int) -> None:
        out = self.out
        if rule in (11, 12, 14, 17) or rule in OPERATORS:  # the PHP array exists once a WHERE action ran
            where = out.setdefault(
                "where_condition",
                {"column_operators": [], "column_names": [], "column_values": [], "operators": []},
            )
        if rule == 1:
            out["select"] = self._minor(-7)
            out["built"] = True  # buildSelectStmt: the checks run in vtql.py, on the finished `out`
        elif rule in (2, 3):
            out["column_list"].append(self._minor(0))
        elif rule == 4:
            out["column_list"].append("count(*)")
        elif rule == 7:
            columns = out["column_list"]
            lowered = [ilower(str(c)) for c in columns]
            if "*" not in columns and "count(*)" not in lowered and "id" not in columns:
                columns.append("id")
            module = self._minor(0)
            if not module or module == "0":
                raise ParseError("QUERY_SYNTAX_ERROR", "There is an syntax error in query")
            self.check_module(str(module))
            out["moduleName"] = module
        elif rule in (11, 12):
            where["operators"].append(self._minor(0))
        elif rule == 14:
            out["columnDone"] = True
            where["column_names"].append(self._minor(-2))
        elif rule == 17:
            values, ops = where["column_values"], where["column_operators"]
            pos = max(len(values) - 1, 0)
            current = values[pos] if pos < len(values) else None
            if (
                pos < len(ops)
                and ilower(str(ops[pos])) == "in"
                and current not in (None, "", "0", [], 0)
                and not out.get("columnDone")
            ):
                if not isinstance(current, list):
                    values[pos] = [current]
                values[pos].append(self._minor(0))
            else:
                out["columnDone"] = False
                values.append(self._minor(0))
        elif rule in OPERATORS:
            where["column_operators"].append(OPERATORS[rule])
        elif rule == 31:
            out.setdefault("orderby", []).append(self._minor(0))
        elif rule in (34, 35):
            out["sortOrder"] = "ASC" if rule == 34 else "DESC"
        elif rule == 39:
            out.setdefault("limit", []).append(self._minor(0))
        elif rule == 40:
            out.setdefault("limit", []).extend([self._minor(-2), self._minor(0)])
        elif rule == 41:
            out["meta"] = True


def _unique(values: list[int]) -> list[int]:
    return list(dict.fromkeys(values))


def _spins(parser: Parser) -> bool:
    """Will VTQL_Parser::__destruct loop for ever? It pops while yyidx >= 0 (null included) but stops
    popping once the array is empty."""
    return parser.yyidx is None or (parser.yyidx >= 0 and len(parser.stack.items) <= parser.yyidx)


def run(text: str, check_module: Any) -> dict[str, Any]:
    """Lex and parse `text` as Parser::parse() does; the actions' `out`, or the error vtiger answers.

    Raises PhpFatal where the real server never answers: the parser's destructor spins (a query whose first
    character cannot be lexed, e.g. `ё SELECT ...`), holding the PHP worker and the session's lock for ever
    (max_execution_time 0, as vtiger recommends). The sandbox answers what that worker's death would.
    """
    lexer = Lexer(text)
    parser = Parser(lexer, check_module)
    try:
        while lexer.next():
            parser.parse_token(lexer.token, lexer.value)
        parser.parse_token(0, 0)
    except LexError:
        if _spins(parser):
            raise PhpFatal("VTQL_Parser::__destruct never returns") from None
        raise WsError("INTERNAL_SERVER_ERROR", UNKNOWN_ERROR) from None
    except WsError:
        if _spins(parser):
            raise PhpFatal("VTQL_Parser::__destruct never returns") from None
        raise
    if _spins(parser):
        raise PhpFatal("VTQL_Parser::__destruct never returns")
    parser.out["success"] = parser.success
    return parser.out
