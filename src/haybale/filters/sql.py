"""Compile a filter tree to a parameterised SQL WHERE clause for SQLite or PostgreSQL.

Values *and* metadata keys travel as bound parameters: a SQLite JSON path (``$."a"."b"``) is a parameter, and
PostgreSQL reads nested keys with ``meta -> %s::text -> %s::text``. Only the column names chosen by the store
(validated as plain identifiers) appear in the SQL text.

Every generated predicate is NULL-free (it evaluates to TRUE or FALSE, never NULL), so ``NOT`` and the negated
operators behave exactly like the Python evaluator in :mod:`haybale.filters.evaluate`.

Layout assumed: SQLite stores metadata as JSON TEXT and uses ``?`` placeholders; PostgreSQL stores it as JSONB
(equality and list membership add a ``meta @> ...`` term so a GIN index on ``meta`` can serve them) and uses
psycopg's ``%s`` placeholders.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Literal

from haybale.errors import FilterError
from haybale.filters.tree import Condition, FilterNode, LogicalCondition, parse_filters

__all__ = ["Dialect", "compile_sql", "like_to_glob", "sqlite_json_path"]

Dialect = Literal["sqlite", "postgres"]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_ORDERING = (">", ">=", "<", "<=")
_MARKER = re.compile("\x00(\\d+)\x00")


def compile_sql(
    node: FilterNode | dict[str, Any] | None,
    dialect: Dialect,
    *,
    meta_column: str = "meta",
    id_column: str = "id",
    content_column: str = "content",
) -> tuple[str, list[Any]]:
    """Compile ``node`` into ``(where_sql, params)``.

    Args:
        node: a parsed filter tree, a filter dict, or None (matches everything: ``("TRUE", [])``).
        dialect: ``"sqlite"`` (``?`` placeholders, JSON TEXT metadata) or ``"postgres"`` (``%s`` placeholders,
            JSONB metadata).
        meta_column: column (optionally ``table.column``) holding the metadata JSON.
        id_column: column holding the document id.
        content_column: column holding the document content (nullable).

    Returns:
        The SQL boolean expression and its parameters, in order.

    Raises:
        FilterError: the filter is malformed, or (SQLite) a metadata key contains a double quote, which
            SQLite JSON paths cannot express.
    """
    if dialect not in ("sqlite", "postgres"):
        raise FilterError(f"compile_sql: unknown dialect {dialect!r}; use 'sqlite' or 'postgres'.")
    for name in (meta_column, id_column, content_column):
        if not _IDENTIFIER.match(name):
            raise FilterError(f"compile_sql: {name!r} is not a plain SQL identifier (letters, digits, _).")
    parsed = parse_filters(node)
    if parsed is None:
        return "TRUE", []
    compiler = _SQLiteCompiler() if dialect == "sqlite" else _PostgresCompiler()
    compiler.columns = {"meta": meta_column, "id": id_column, "content": content_column}
    return compiler.finish(compiler.node(parsed))


#: From this many values on, `in` binds strings and numbers as one array parameter instead of OR-ing tests.
_BULK_IN_MIN = 8


def _bulk_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return "number"
    return None


class _Compiler:
    """Walks the tree; subclasses render each operator for one field kind (metadata JSON or a text column)."""

    placeholder = "?"

    def __init__(self) -> None:
        self.params: list[Any] = []
        self.columns: dict[str, str] = {}

    def bind(self, value: Any) -> str:
        """Return a marker for ``value``; :meth:`finish` turns markers into placeholders in text order."""
        self.params.append(value)
        return f"\x00{len(self.params) - 1}\x00"

    def finish(self, sql: str) -> tuple[str, list[Any]]:
        # Fragments are built in whatever order is convenient; parameters must follow the final text order.
        ordered: list[Any] = []

        def placeholder(match: re.Match[str]) -> str:
            ordered.append(self.params[int(match.group(1))])
            return self.placeholder

        return _MARKER.sub(placeholder, sql), ordered

    def node(self, node: FilterNode) -> str:
        if isinstance(node, LogicalCondition):
            parts = [self.node(child) for child in node.conditions]
            if node.operator == "OR":
                return "(" + " OR ".join(parts) + ")"
            joined = "(" + " AND ".join(parts) + ")"
            return f"(NOT {joined})" if node.operator == "NOT" else joined
        return self.condition(node)

    def condition(self, cond: Condition) -> str:
        op, value = cond.operator, cond.value
        if op in ("!=", "not in", "not like"):
            positive = Condition(cond.field, {"!=": "==", "not in": "in", "not like": "like"}[op], value)
            return f"(NOT {self.condition(positive)})"
        if op in _ORDERING:
            return self.ordering(cond, op, value)
        renderers: dict[str, Callable[[Condition, Any], str]] = {
            "==": self.equals,
            "in": self.any_of,
            "exists": self.exists,
            "like": self.like,
        }
        return renderers.get(op, self.contains)(cond, value)

    def any_of(self, cond: Condition, options: list[Any]) -> str:
        if not options:
            return "FALSE"
        scalar = self.scalar_in(cond, options)
        if cond.meta_path is None:
            return scalar
        # A list-valued field is "in" the options when any of its elements is (contains-any).
        return f"({scalar} OR {self.array_has_any(cond.meta_path, options)})"

    def array_has_any(self, path: tuple[str, ...], options: list[Any]) -> str:
        """The metadata field at ``path`` is an array holding at least one of ``options``."""
        raise FilterError("unreachable: dialect compiler without array_has_any")  # pragma: no cover

    def scalar_in(self, cond: Condition, options: list[Any]) -> str:
        if len(options) < _BULK_IN_MIN:
            return "(" + " OR ".join(self.equals(cond, option) for option in options) + ")"
        # Long lists would nest one OR per value (SQLite refuses expression trees deeper than 1000):
        # strings and finite numbers are bound as one array parameter each; the rest keep their own test.
        groups: dict[str | None, list[Any]] = {"text": [], "number": [], None: []}
        for option in options:
            groups[_bulk_kind(option)].append(option)
        strings, numbers, rest = groups["text"], groups["number"], groups[None]
        parts = [self.one_of(cond, "text", strings)] if strings else []
        if numbers:
            parts.append(self.one_of(cond, "number", numbers))
        parts += [self.equals(cond, option) for option in rest]
        return "(" + " OR ".join(parts) + ")"

    def one_of(self, cond: Condition, kind: str, values: list[Any]) -> str:
        """Membership of the field in ``values`` (all strings when kind is "text", all numbers otherwise)."""
        raise FilterError("unreachable: dialect compiler without one_of")  # pragma: no cover

    def exists(self, cond: Condition, value: bool) -> str:
        null = self.is_null(cond)
        return f"(NOT {null})" if value else null

    def equals(self, cond: Condition, value: Any) -> str:
        if value is None:
            return self.is_null(cond)
        if cond.meta_path is None:
            return self.column_equals(self.columns[cond.field], value)
        return self.meta_equals(cond.meta_path, value)

    def column_equals(self, column: str, value: Any) -> str:
        if not isinstance(value, str):
            return "FALSE"  # id and content are text: a number, boolean or list never equals them
        return f"({column} IS NOT NULL AND {column} = {self.bind(value)})"

    # Dialect hooks
    def is_null(self, cond: Condition) -> str:
        raise FilterError("unreachable: dialect compiler without is_null")  # pragma: no cover

    def meta_equals(self, path: tuple[str, ...], value: Any) -> str:
        raise FilterError("unreachable: dialect compiler without meta_equals")  # pragma: no cover

    def ordering(self, cond: Condition, op: str, value: Any) -> str:
        raise FilterError("unreachable: dialect compiler without ordering")  # pragma: no cover

    def like(self, cond: Condition, pattern: str) -> str:
        raise FilterError("unreachable: dialect compiler without like")  # pragma: no cover

    def contains(self, cond: Condition, value: Any) -> str:
        raise FilterError("unreachable: dialect compiler without contains")  # pragma: no cover


def sqlite_json_path(keys: tuple[str, ...]) -> str:
    """The SQLite JSON path for nested object keys, e.g. ``('a', 'b')`` -> ``$."a"."b"``."""
    for key in keys:
        # SQLite matches path labels against the raw JSON text of object keys, so keys that JSON must escape
        # (quotes, backslashes, control characters) cannot be addressed. Stores write JSON with
        # ensure_ascii=False so every other key (unicode included) matches.
        if any(char in '"\\' or ord(char) < 0x20 for char in key):
            raise FilterError(
                f"metadata key {key!r} contains a double quote, backslash or control character, which SQLite "
                "JSON paths cannot address; rename the key."
            )
    return "$" + "".join(f'."{key}"' for key in keys)


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, ``\\`` escapes) to the equivalent case-sensitive GLOB."""
    out: list[str] = []
    chars = iter(pattern)
    literal_escapes = {"*": "[*]", "?": "[?]", "[": "[[]"}
    for char in chars:
        if char == "\\":
            nxt = next(chars)
            out.append(literal_escapes.get(nxt, nxt))
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(literal_escapes.get(char, char))
    return "".join(out)


class _SQLiteCompiler(_Compiler):
    placeholder = "?"

    def _kind(self, path: str) -> str:
        return f"COALESCE(json_type({self.columns['meta']}, {self.bind(path)}), 'null')"

    def _value(self, path: str) -> str:
        return f"json_extract({self.columns['meta']}, {self.bind(path)})"

    def is_null(self, cond: Condition) -> str:
        if cond.meta_path is None:
            return f"({self.columns[cond.field]} IS NULL)"
        return f"({self._kind(sqlite_json_path(cond.meta_path))} = 'null')"

    def meta_equals(self, path: tuple[str, ...], value: Any) -> str:
        return self._path_equals(sqlite_json_path(path), value)

    def _path_equals(self, path: str, value: Any) -> str:
        if value is None:
            return f"({self._kind(path)} = 'null')"
        if isinstance(value, bool):
            return f"({self._kind(path)} = {self.bind('true' if value else 'false')})"
        if isinstance(value, str):
            return f"({self._kind(path)} = 'text' AND {self._value(path)} = {self.bind(value)})"
        if isinstance(value, list):
            parts = [
                f"{self._kind(path)} = 'array'",
                f"json_array_length({self.columns['meta']}, {self.bind(path)}) = {self.bind(len(value))}",
            ]
            parts += [self._path_equals(f"{path}[{i}]", item) for i, item in enumerate(value)]
            return "(" + " AND ".join(parts) + ")"
        return f"({self._kind(path)} IN ('integer', 'real') AND {self._value(path)} = {self.bind(value)})"

    def one_of(self, cond: Condition, kind: str, values: list[Any]) -> str:
        members = f"(SELECT value FROM json_each({self.bind(json.dumps(values, ensure_ascii=False))}))"
        if cond.meta_path is None:
            if kind != "text":
                return "FALSE"
            column = self.columns[cond.field]
            return f"({column} IS NOT NULL AND {column} IN {members})"
        path = sqlite_json_path(cond.meta_path)
        kinds = "= 'text'" if kind == "text" else "IN ('integer', 'real')"
        return f"({self._kind(path)} {kinds} AND {self._value(path)} IN {members})"

    def array_has_any(self, path: tuple[str, ...], options: list[Any]) -> str:
        json_path = sqlite_json_path(path)
        strings = [o for o in options if isinstance(o, str)]
        numbers = [o for o in options if _bulk_kind(o) == "number"]
        tests = []
        if strings:
            members = f"(SELECT value FROM json_each({self.bind(json.dumps(strings, ensure_ascii=False))}))"
            tests.append(f"(e.type = 'text' AND e.value IN {members})")
        if numbers:
            members = f"(SELECT value FROM json_each({self.bind(json.dumps(numbers))}))"
            tests.append(f"(e.type IN ('integer', 'real') AND e.value IN {members})")
        tests += [f"e.type = {self.bind('true' if o else 'false')}" for o in options if isinstance(o, bool)]
        if any(o is None for o in options):
            tests.append("e.type = 'null'")
        elements = f"json_each({self.columns['meta']}, {self.bind(json_path)}) AS e"
        return (
            f"({self._kind(json_path)} = 'array' AND EXISTS (SELECT 1 FROM {elements} WHERE "
            + " OR ".join(tests)
            + "))"
        )

    def ordering(self, cond: Condition, op: str, value: Any) -> str:
        if cond.meta_path is None:
            if not isinstance(value, str):
                return "FALSE"
            column = self.columns[cond.field]
            return f"({column} IS NOT NULL AND {column} {op} {self.bind(value)})"
        path = sqlite_json_path(cond.meta_path)
        kinds = "= 'text'" if isinstance(value, str) else "IN ('integer', 'real')"
        return f"({self._kind(path)} {kinds} AND {self._value(path)} {op} {self.bind(value)})"

    def like(self, cond: Condition, pattern: str) -> str:
        # SQLite's LIKE ignores ASCII case; GLOB is case-sensitive, so the pattern is translated to GLOB.
        glob = like_to_glob(pattern)
        if cond.meta_path is None:
            column = self.columns[cond.field]
            return f"({column} IS NOT NULL AND {column} GLOB {self.bind(glob)})"
        path = sqlite_json_path(cond.meta_path)
        return f"({self._kind(path)} = 'text' AND {self._value(path)} GLOB {self.bind(glob)})"

    def contains(self, cond: Condition, value: Any) -> str:
        if cond.meta_path is None:
            if not isinstance(value, str):
                return "FALSE"
            column = self.columns[cond.field]
            return f"({column} IS NOT NULL AND instr({column}, {self.bind(value)}) > 0)"
        path = sqlite_json_path(cond.meta_path)
        if isinstance(value, bool):
            element = f"e.type = {self.bind('true' if value else 'false')}"
        elif isinstance(value, str):
            element = f"e.type = 'text' AND e.value = {self.bind(value)}"
        else:
            element = f"e.type IN ('integer', 'real') AND e.value = {self.bind(value)}"
        in_array = (
            f"({self._kind(path)} = 'array' AND EXISTS (SELECT 1 FROM json_each({self.columns['meta']}, "
            f"{self.bind(path)}) AS e WHERE {element}))"
        )
        if not isinstance(value, str):
            return in_array
        substring = f"({self._kind(path)} = 'text' AND instr({self._value(path)}, {self.bind(value)}) > 0)"
        return f"({substring} OR {in_array})"


def _nest(path: tuple[str, ...], value: Any) -> str:
    nested: Any = value
    for key in reversed(path):
        nested = {key: nested}
    return json.dumps(nested, ensure_ascii=False)


class _PostgresCompiler(_Compiler):
    placeholder = "%s"

    def _json(self, path: tuple[str, ...]) -> str:
        steps = "".join(f" -> {self.bind(key)}::text" for key in path)
        return f"({self.columns['meta']}{steps})"

    def is_null(self, cond: Condition) -> str:
        if cond.meta_path is None:
            return f"({self.columns[cond.field]} IS NULL)"
        return f"(COALESCE(jsonb_typeof({self._json(cond.meta_path)}), 'null') = 'null')"

    def meta_equals(self, path: tuple[str, ...], value: Any) -> str:
        # `meta @> {"a": {"b": value}}` is implied by the exact test and lets a GIN index on meta narrow rows.
        contained = f"{self.columns['meta']} @> {self.bind(_nest(path, value))}::jsonb"
        exact = f"{self._json(path)} = {self.bind(json.dumps(value, ensure_ascii=False))}::jsonb"
        return f"COALESCE({contained} AND {exact}, FALSE)"

    def one_of(self, cond: Condition, kind: str, values: list[Any]) -> str:
        if cond.meta_path is None:
            if kind != "text":
                return "FALSE"
            column = self.columns[cond.field]
            return f"COALESCE({column} = ANY({self.bind(values)}::text[]), FALSE)"
        typeof = f"jsonb_typeof({self._json(cond.meta_path)})"
        text = f"({self._json(cond.meta_path)} #>> '{{}}')"
        if kind == "text":
            test = f"{text} = ANY({self.bind(values)}::text[])"
            json_kind = "string"
        else:  # numbers travel as text so ints and floats share one array; numeric compares them exactly
            test = f"{text}::numeric = ANY({self.bind([repr(v) for v in values])}::text[]::numeric[])"
            json_kind = "number"
        return f"COALESCE(CASE WHEN {typeof} = '{json_kind}' THEN {test} ELSE FALSE END, FALSE)"

    def array_has_any(self, path: tuple[str, ...], options: list[Any]) -> str:
        field = self._json(path)
        strings = [o for o in options if isinstance(o, str)]
        numbers = [o for o in options if _bulk_kind(o) == "number"]
        tests = []
        if strings:
            tests.append(f"jsonb_exists_any({field}, {self.bind(strings)}::text[])")
        if numbers:
            values = self.bind([repr(v) for v in numbers])
            tests.append(
                f"EXISTS (SELECT 1 FROM jsonb_array_elements({field}) AS e WHERE jsonb_typeof(e) = 'number' "
                f"AND (e #>> '{{}}')::numeric = ANY({values}::text[]::numeric[]))"
            )
        tests += [
            f"{field} @> {self.bind(json.dumps([o]))}::jsonb"
            for o in options
            if o is None or isinstance(o, bool)
        ]
        return (
            f"COALESCE(CASE WHEN jsonb_typeof({field}) = 'array' THEN ("
            + " OR ".join(tests)
            + ") ELSE FALSE END, FALSE)"
        )

    def ordering(self, cond: Condition, op: str, value: Any) -> str:
        if cond.meta_path is None:
            if not isinstance(value, str):
                return "FALSE"
            column = self.columns[cond.field]
            return f'COALESCE({column} COLLATE "C" {op} {self.bind(value)}::text, FALSE)'
        if isinstance(value, str):
            kind, cast, collate = "string", "text", ' COLLATE "C"'
        else:
            kind, cast, collate = "number", "numeric", ""
        typeof = f"jsonb_typeof({self._json(cond.meta_path)})"
        text = f"({self._json(cond.meta_path)} #>> '{{}}')"
        compared = f"{text}::{cast}{collate} {op} {self.bind(value)}::{cast}"
        return f"COALESCE(CASE WHEN {typeof} = '{kind}' THEN {compared} ELSE FALSE END, FALSE)"

    def like(self, cond: Condition, pattern: str) -> str:
        if cond.meta_path is None:
            column = self.columns[cond.field]
            return f"COALESCE({column} LIKE {self.bind(pattern)}::text, FALSE)"
        typeof = f"jsonb_typeof({self._json(cond.meta_path)})"
        text = f"({self._json(cond.meta_path)} #>> '{{}}')"
        return (
            f"COALESCE(CASE WHEN {typeof} = 'string' THEN {text} LIKE {self.bind(pattern)}::text "
            "ELSE FALSE END, FALSE)"
        )

    def contains(self, cond: Condition, value: Any) -> str:
        if cond.meta_path is None:
            if not isinstance(value, str):
                return "FALSE"
            column = self.columns[cond.field]
            return f"COALESCE(strpos({column}, {self.bind(value)}::text) > 0, FALSE)"
        path = cond.meta_path
        element = json.dumps([value], ensure_ascii=False)
        in_array = (
            f"COALESCE(jsonb_typeof({self._json(path)}) = 'array' "
            f"AND {self._json(path)} @> {self.bind(element)}::jsonb, FALSE)"
        )
        if not isinstance(value, str):
            return in_array
        substring = (
            f"COALESCE(CASE WHEN jsonb_typeof({self._json(path)}) = 'string' "
            f"THEN strpos({self._json(path)} #>> '{{}}', {self.bind(value)}::text) > 0 ELSE FALSE END, FALSE)"
        )
        return f"({substring} OR {in_array})"
