"""SQL only through bound parameters: every place that hands the database text of its own
(``text()``, ``exec_driver_sql``, ``literal_column``, a DB-API ``cursor.execute``) is either a
plain string literal or one of the reviewed sites below, each built from constants of its own
function with the values bound (``:name``). A new site fails this test until it is reviewed
and listed."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("bot", "db", "handlers", "scripts")
REVIEWED: dict[tuple[str, str, str], int] = {
    # (none: the daily plan's statements in db/deliveries.py are module constants built from
    # string constants, the keys and rows bound as JSON parameters)
}


def _constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _sql_call(func: ast.expr) -> str | None:
    """The name of a call that takes SQL text: ``text(…)``/``literal_column(…)`` (imported
    from SQLAlchemy, not ``ReplyBuilder.text``), or ``….execute(…)``-like methods."""
    if isinstance(func, ast.Name) and func.id in ("text", "literal_column"):
        return func.id
    if isinstance(func, ast.Attribute):
        if func.attr in ("text", "literal_column"):
            owner = func.value
            return (
                func.attr
                if isinstance(owner, ast.Name) and owner.id in ("sa", "sqlalchemy")
                else None
            )
        if func.attr in ("exec_driver_sql", "execute", "executescript"):
            return func.attr
    return None


def _sites() -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for call in ast.walk(function):
                    if not isinstance(call, ast.Call) or not call.args:
                        continue
                    name = _sql_call(call.func)
                    if name is None:
                        continue
                    first = call.args[0]
                    if _constant(first) or not isinstance(first, ast.JoinedStr | ast.BinOp):
                        continue  # a literal, or an expression object (select(...)) executed
                    key = (str(path.relative_to(ROOT)), function.name, name)
                    found[key] = found.get(key, 0) + 1
    return found


def test_raw_sql_is_literal_or_reviewed() -> None:
    assert _sites() == REVIEWED


def test_the_scan_finds_an_interpolated_statement(tmp_path: Path) -> None:
    tree = ast.parse('def f(session, name):\n    session.execute(text(f"SELECT {name}"))\n')
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "text"
    ]
    assert isinstance(calls[0].args[0], ast.JoinedStr)
