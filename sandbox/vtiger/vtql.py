"""VTQL, the first layer: vtiger's lexer and grammar (VTQL_Lexer.php / VTQL_Parser.y) re-implemented.

The lexer's rules and the parser's accepted grammar are those of vtiger's VTQL_Lexer.php and VTQL_Parser.y: a
mandatory `;`, no parentheses in WHERE, no NOT/IS NULL/BETWEEN/`<>`, one sort direction at the end, string
literals `'...'` with `''` as the only escape (backslashes are *not* special here; MySQL, the second layer
in `mysql.py`, treats them). Syntax errors carry lemon's message format; lexing failures are plain PHP
exceptions, which webservice.php reports as INTERNAL_SERVER_ERROR.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .envelope import UNKNOWN_ERROR, WsError

_TOKEN_RE = re.compile(
    r"(?P<WORD>[A-Za-z0-9_]+)|(?P<STRING>'(?:[^']|'')+')|(?P<PARENOPEN>\()|(?P<PARENCLOSE>\))"
    r"|(?P<INT>[+-]?[0-9]+)|(?P<COMMA>,)|(?P<ASTERISK>\*)|(?P<LTE><=)|(?P<GTE>>=)|(?P<NE>!=)"
    r"|(?P<EQ>=)|(?P<LT><)|(?P<GT>>)|(?P<SEMICOLON>;)"
)
_SPACE_RE = re.compile(r"[ \t\r\n]+")
KEYWORDS = {
    "select": "SELECT", "from": "FRM", "where": "WHERE", "and": "LOGICAL_AND", "or": "LOGICAL_OR",
    "in": "IN", "like": "LIKE", "order": "ORDERBY", "asc": "ASC", "desc": "DESC", "limit": "LIMIT",
    "count": "COUNT",
}
COMPARISONS = {"EQ": "=", "LT": "<", "GT": ">", "LTE": "<=", "GTE": ">=", "NE": "!="}
_END = "SEMICOLON"  # what lemon lists once only default reductions remain (as recorded)


@dataclass
class Token:
    kind: str  # WORD, STRING, INT or a punctuation name
    text: str

    @property
    def keyword(self) -> str | None:
        return KEYWORDS.get(self.text.lower()) if self.kind == "WORD" else None


@dataclass
class Condition:
    field: str
    op: str  # "=", "<", ..., "IN", "LIKE"
    values: list[Token]
    parenthesized: bool


@dataclass
class Select:
    columns: list[str] | None  # None = "*"
    count: bool
    table: str
    conditions: list[Condition] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)  # "AND"/"OR" between conditions
    order_by: list[str] = field(default_factory=list)
    direction: str = ""
    limit: tuple[Token | None, Token] | None = None


def lex(text: str) -> tuple[list[Token], bool]:
    """Tokens up to the first unlexable input, and whether such input was found."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        space = _SPACE_RE.match(text, pos)
        if space:
            pos = space.end()
            continue
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.lastgroup is None:
            return tokens, True
        tokens.append(Token(match.lastgroup, match.group()))
        pos = match.end()
    return tokens, False


class Parser:
    def __init__(self, text: str, check_field: Callable[[str, bool], None] | None = None) -> None:
        # check_field(name, in_select) runs where vtiger's grammar actions check names: the select
        # list once FROM is read, a WHERE field once its condition is complete.
        self.check = check_field or (lambda name, in_select: None)
        self.tokens, self.lex_failed = lex(text)
        self.pos = 0
        self.last = ""  # the lexer's current value, shown in syntax errors

    # --- token stream -----------------------------------------------------------------------------
    def _peek(self) -> Token | None:
        if self.pos < len(self.tokens):
            return self.tokens[self.pos]
        if self.lex_failed:
            # The lexer runs lazily, token by token: its exception surfaces only when reached.
            raise WsError("INTERNAL_SERVER_ERROR", UNKNOWN_ERROR)
        return None

    def _take(self) -> Token:
        token = self._peek()
        assert token is not None
        self.pos += 1
        self.last = token.text
        return token

    def _fail(self, expected: str, context: str = "") -> WsError:
        token = self._peek()
        if token is None:
            return WsError("QUERY_SYNTAX_ERROR", f"Syntax Error on line 1: token '{self.last}' Unexpected "
                                                 f"End of Input(0), expected one of: {expected}")
        self.last = token.text
        name = self._name(token, context)
        return WsError("QUERY_SYNTAX_ERROR", f"Syntax Error on line 1: token '{token.text}' Unexpected "
                                             f"{name}({token.text}), expected one of: {expected}")

    @staticmethod
    def _name(token: Token, context: str) -> str:
        if token.kind in ("STRING", "INT"):
            return "VALUE"
        if token.kind != "WORD":
            return token.kind
        if context == "start":
            return "SELECT" if token.keyword == "SELECT" else "Unknown"
        if token.keyword:
            return token.keyword
        return {"table": "TABLENAME", "value": "VALUE"}.get(context, "COLUMNNAME")

    def _is(self, keyword: str) -> bool:
        token = self._peek()
        return token is not None and token.keyword == keyword

    def _is_kind(self, kind: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == kind

    def _word(self, expected: str, context: str = "") -> str:
        token = self._peek()
        if token is None or token.kind != "WORD" or token.keyword:
            raise self._fail(expected, context)
        return self._take().text

    # --- grammar ----------------------------------------------------------------------------------
    def parse(self) -> Select:
        if not self._is("SELECT"):
            raise self._fail("SELECT", "start")
        self._take()
        columns: list[str] | None = None
        count = False
        if self._is_kind("ASTERISK"):
            self._take()
        elif self._is("COUNT"):
            self._take()
            for kind in ("PARENOPEN", "ASTERISK", "PARENCLOSE"):
                if not self._is_kind(kind):
                    raise self._fail(kind)
                self._take()
            count = True
        else:
            columns = [self._word("COLUMNNAME,ASTERISK,COUNT")]
            while self._is_kind("COMMA"):
                self._take()
                columns.append(self._word("COLUMNNAME"))
        if not self._is("FRM"):
            raise self._fail("COMMA,FRM" if columns else "FRM")
        self._take()
        for name in columns or []:
            self.check(name, True)
        query = Select(columns=columns, count=count, table=self._word("TABLENAME", "table"))
        if self._is("WHERE"):
            self._take()
            self._conditions(query)
        if self._is("ORDERBY"):
            self._take()
            token = self._peek()
            if token is None or token.text.lower() != "by":
                raise self._fail("BY")
            self._take()
            query.order_by.append(self._word("COLUMNNAME"))
            while self._is_kind("COMMA"):
                self._take()
                query.order_by.append(self._word("COLUMNNAME"))
            if self._is("ASC") or self._is("DESC"):
                query.direction = self._take().text.upper()
        if self._is("LIMIT"):
            self._take()
            first = self._value()
            if self._is_kind("COMMA"):
                self._take()
                query.limit = (first, self._value())
            else:
                query.limit = (None, first)
        if not self._is_kind("SEMICOLON"):
            raise self._fail(_END)
        self._take()
        if self._peek() is not None:
            raise self._fail("$")
        return query

    def _conditions(self, query: Select) -> None:
        while True:
            name = self._word("COLUMNNAME")
            token = self._peek()
            if token is not None and token.kind in COMPARISONS:
                op = COMPARISONS[self._take().kind]
            elif token is not None and token.keyword in ("IN", "LIKE"):
                op = self._take().text.upper()
            else:
                raise self._fail("EQ,LT,GT,LTE,GTE,NE,IN,LIKE")
            if self._is_kind("PARENOPEN"):
                self._take()
                values = [self._value("PARENOPEN,VALUE")]
                while self._is_kind("COMMA"):
                    self._take()
                    values.append(self._value())
                if not self._is_kind("PARENCLOSE"):
                    raise self._fail("COMMA,PARENCLOSE")
                self._take()
                query.conditions.append(Condition(name, op, values, True))
            else:
                query.conditions.append(Condition(name, op, [self._value("PARENOPEN,VALUE")], False))
            self._peek()  # lemon reduces (and checks the field) only once it holds the next token
            self.check(name, False)
            if self._is("LOGICAL_AND") or self._is("LOGICAL_OR"):
                query.connectors.append(self._take().text.upper())
                continue
            return

    def _value(self, expected: str = "VALUE") -> Token:
        token = self._peek()
        if token is None or token.kind not in ("STRING", "INT", "WORD"):
            raise self._fail(expected, "value")
        return self._take()


def parse(text: str, check_field: Callable[[str, bool], None] | None = None) -> Select:
    return Parser(text, check_field).parse()
