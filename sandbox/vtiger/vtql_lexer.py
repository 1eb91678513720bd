"""vtiger's VTQL lexer, ported line by line from SalesPlatform 7.2 `include/Webservices/VTQL_Lexer.php` for
`vtql_lemon.py`: a state machine whose token kinds depend on what came before (a word after a WHERE column
is a VALUE, `order` is skipped, a word it cannot place has no kind at all, i.e. PHP's null).
"""

from __future__ import annotations

import re

SELECT, FRM, COLUMNNAME, ASTERISK, COUNT, PARENOPEN, PARENCLOSE, COMMA, TABLENAME, WHERE = range(1, 11)
LOGICAL_AND, LOGICAL_OR, VALUE, EQ, LT, GT, LTE, GTE, NE, IN, LIKE, ORDERBY, ASC, DESC, LIMIT = range(11, 26)
SEMICOLON = 26
TOKEN_NAMES = (
    "$",
    "SELECT",
    "FRM",
    "COLUMNNAME",
    "ASTERISK",
    "COUNT",
    "PARENOPEN",
    "PARENCLOSE",
    "COMMA",
    "TABLENAME",
    "WHERE",
    "LOGICAL_AND",
    "LOGICAL_OR",
    "VALUE",
    "EQ",
    "LT",
    "GT",
    "LTE",
    "GTE",
    "NE",
    "IN",
    "LIKE",
    "ORDERBY",
    "ASC",
    "DESC",
    "LIMIT",
    "SEMICOLON",
    "error",
    "sql",
    "select_statement",
    "selectcol_list",
    "table_list",
    "where_condition",
    "order_clause",
    "limit_clause",
    "end_stmt",
    "selectcolumn_exp",
    "condition",
    "expr_set",
    "expr",
    "logical_term",
    "valuelist",
    "valueref",
    "value_exp",
    "column_group",
    "clause",
    "column_list",
    "column_exp",
    "limit_set",
)

Tok = int | None  # a token kind; None where a PHP handler returned nothing


def ilower(text: str) -> str:  # PHP's strtolower/strcasecmp: ASCII letters only
    return "".join(c.lower() if c.isascii() else c for c in text)


def _same(a: str, b: str) -> bool:  # strcasecmp(a, b) === 0
    return ilower(a) == ilower(b)


# --- the lexer (VTQL_Lexer.php) -----------------------------------------------------------------------------
_PATTERN = re.compile(
    r"((\w+|'(?:[^']|'')+'|\(|\)|(\+|-)?\d+|,|\*|(?!<|>)=|<(?!=)|>(?!=)|<=|>=|!=|;))"
    r"|([ \t\r\n]+)",
    re.ASCII,
)
MANDATORY_STATES = ("select", "column_list", "from", "table")
OPTIONAL_STATES = ("where", "orderby", "limit")


class LexError(Exception):
    """The lexer found input no rule matches (a plain PHP Exception: INTERNAL_SERVER_ERROR)."""


class Lexer:
    def __init__(self, data: str) -> None:
        self.data = data
        self.index = 0
        self.mandatory = True
        self.current_state = 0
        self.value = ""
        self.token: Tok = None
        # the PHP globals of one request
        self.where_col = self.orderby = self.in_started = self.count = False

    def _inc(self, n: int = 1) -> None:
        for _ in range(n):
            self.current_state += 1
            if self.current_state == len(MANDATORY_STATES):
                self.mandatory = False

    def next(self) -> bool:
        """yylex(): advance to the next token (kind in `token`, text in `value`); False at the end."""
        while self.index < len(self.data):
            match = _PATTERN.match(self.data, self.index)
            if match is None:
                raise LexError(f"Unexpected input at line1: {self.data[self.index]}")
            self.value = match.group(1) if match.group(1) is not None else match.group(4)
            self.index += len(self.value)
            if match.group(1) is None or self._classify() is False:
                continue  # whitespace, or `order`: skipped
            return True
        return False

    def _classify(self) -> bool | None:
        value = self.value
        if self.mandatory:
            self.token = getattr(self, "_" + MANDATORY_STATES[self.current_state])(value)
            return None
        if value == ";":
            self.token = SEMICOLON
            return None
        if _same(value, "order"):
            self.orderby = True
            return False
        if _same(value, "by") and self.orderby is True:
            self.orderby = False
            self.current_state = 1
        lowered = ilower(value)
        if lowered in OPTIONAL_STATES:
            self.current_state = OPTIONAL_STATES.index(lowered)
        self.token = getattr(self, "_" + OPTIONAL_STATES[self.current_state])(value)
        return None

    def _select(self, value: str) -> Tok:
        if self.mandatory and _same(value, MANDATORY_STATES[self.current_state]):
            self._inc()
            return SELECT
        return None

    def _column_list(self, value: str) -> Tok:
        if not self.mandatory:
            return None
        if _same(value, MANDATORY_STATES[2]):
            self._inc(2)
            return FRM
        if value == "*":
            if not self.count:
                self._inc(1)
            return ASTERISK
        if value == "(":
            return PARENOPEN
        if value == ")":
            return PARENCLOSE
        if _same(value, "count"):
            self.count = True
            return COUNT
        return COMMA if value == "," else COLUMNNAME

    def _from(self, value: str) -> Tok:
        if _same(value, MANDATORY_STATES[self.current_state]):
            self._inc()
            return FRM
        return None

    def _table(self, value: str) -> Tok:
        if not self.mandatory:
            return None
        self.current_state = 0
        self.mandatory = False
        return None if _same(value, OPTIONAL_STATES[self.current_state]) else TABLENAME

    def _where(self, value: str) -> Tok:
        value = value.strip(" \t\n\r\0\x0b")
        simple = {"=": EQ, "<": LT, "<=": LTE, ">=": GTE, "!=": NE, ">": GT, "(": PARENOPEN}
        if value == "=":
            return EQ
        if _same(value, OPTIONAL_STATES[self.current_state]):
            return WHERE
        if value in simple:
            return simple[value]
        if value == ")":
            if self.in_started:
                self.in_started = self.where_col = False
            return PARENCLOSE
        if _same(value, "and"):
            return LOGICAL_AND
        if _same(value, "or"):
            return LOGICAL_OR
        if not self.where_col:
            self.where_col = True
            return COLUMNNAME
        if _same(value, "in"):
            self.in_started = True
            return IN
        if value == ",":
            return COMMA
        if _same(value, "like"):
            return LIKE
        if not self.in_started:
            self.where_col = False
        return VALUE

    def _orderby(self, value: str) -> Tok:
        if not self.orderby:
            self.orderby = True
            return ORDERBY
        return {",": COMMA}.get(value) or (
            ASC if _same(value, "asc") else DESC if _same(value, "desc") else COLUMNNAME
        )

    def _limit(self, value: str) -> Tok:
        if _same(value, "limit"):
            return LIMIT
        return {"(": PARENOPEN, ")": PARENCLOSE, ",": COMMA}.get(value, VALUE)
