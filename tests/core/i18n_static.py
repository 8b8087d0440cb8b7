"""Find interface text in Python that is not marked for translation (read from the source).

Flagged: a plain or f-string literal given to ``messages.*()``, to ``deny()``, as a form
field's ``label``/``help_text``/``empty_label``, to ``ValidationError``, ``HttpError`` or
``PermissionDenied``, as the label of a ``TextChoices`` member, or as a ``verbose_name``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "datalux"
# Pure libraries and the command line speak English only (operators' logs, scripts).
ENGLISH_ONLY = ("privacy", "dataplane", "cli", "demo", "migrations", "settings.py")
MESSAGE_FUNCS = {"success", "error", "info", "warning", "debug", "add_message"}
# Choices whose labels are format names, the same in every language.
CODE_CHOICES = {"FileType"}
ERRORS = {"ValidationError", "HttpError", "PermissionDenied"}
LABEL_KWARGS = {"label", "help_text", "empty_label", "verbose_name", "verbose_name_plural"}


def _literal(node: ast.AST | None) -> bool:
    """A text literal with letters in it (a marked string is a call, not a literal)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(
            isinstance(v, ast.Constant) and any(c.isalpha() for c in str(v.value))
            for v in node.values
        )
    if isinstance(node, ast.Dict):
        return any(_literal(v) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _literal(node.left)
    return False


def _name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def unmarked(root: Path = SRC) -> Iterator[str]:
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if rel.parts[0] in ENGLISH_ONLY or "migrations" in rel.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                name = _name(node.func)
                args = node.args
                if (
                    isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "messages"
                    and name in MESSAGE_FUNCS
                    and any(_literal(a) for a in args[1:])
                ):
                    yield f"{where}: messages.{name}() with an unmarked text"
                if name == "deny" and any(_literal(a) for a in args[2:]):
                    yield f"{where}: deny() with an unmarked reason"
                if name in ERRORS and any(_literal(a) for a in args):
                    yield f"{where}: {name}() with an unmarked message"
                for kw in node.keywords:
                    if kw.arg in LABEL_KWARGS and _literal(kw.value):
                        yield f"{where}: {kw.arg}= is not marked"
            if (
                isinstance(node, ast.ClassDef)
                and node.name not in CODE_CHOICES
                and any(_name(b) in ("TextChoices", "IntegerChoices") for b in node.bases)
            ):
                for item in node.body:
                    if (
                        isinstance(item, ast.Assign)
                        and isinstance(item.value, ast.Tuple)
                        and len(item.value.elts) > 1
                        and _literal(item.value.elts[-1])
                    ):
                        yield f"{rel}:{item.lineno}: choice label is not marked"
            if (
                isinstance(node, ast.Assign)
                and any(
                    isinstance(t, ast.Name) and t.id in ("verbose_name", "verbose_name_plural")
                    for t in node.targets
                )
                and _literal(node.value)
            ):
                yield f"{where}: verbose_name is not marked"
