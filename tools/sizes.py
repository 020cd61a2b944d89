"""Print the sizes the architecture issue watches: fit's code lines, the longest functions, the largest modules.

Usage::

    python tools/sizes.py [--top N] [SRC]

A function's code lines are the lines of its body that are neither blank, comments, nor its docstring (its
signature left out; nested functions count in their own right and in their parent). A module's lines are all its
lines.
"""

from __future__ import annotations

import argparse
import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _code_lines(source: str) -> set[int]:
    """Return the numbers of the lines holding code: not blank, not only a comment."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def function_sizes(path: Path) -> list[tuple[int, str]]:
    """Return ``(code lines, qualified name)`` of each function in ``path``, docstrings left out."""
    source = path.read_text()
    code = _code_lines(source)
    sizes = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                first = child.body[0]
                start = first.lineno  # the body: the signature and the decorators left out
                if (
                    isinstance(first, ast.Expr)
                    and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)
                ):
                    start = (first.end_lineno or first.lineno) + 1
                body = set(range(start, (child.end_lineno or child.lineno) + 1)) & code
                sizes.append((len(body), f"{prefix}{child.name}"))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(source), "")
    return sizes


def main() -> None:
    """Print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", default=str(ROOT / "src" / "gluonlr"))
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    src = Path(args.src)
    modules = sorted(src.rglob("*.py"))
    functions = [(n, f"{m.relative_to(src)}:{name}") for m in modules for n, name in function_sizes(m)]
    fit_lines = dict((name, n) for n, name in functions).get("fit.py:fit")
    print(f"fit's code lines (body, docstring aside): {fit_lines}")
    print("longest functions (code lines):")
    for n, name in sorted(functions, reverse=True)[: args.top]:
        print(f"  {n:4d}  {name}")
    print("largest modules (lines):")
    for n, name in sorted(((len(m.read_text().splitlines()), str(m.relative_to(src))) for m in modules), reverse=True)[
        : args.top
    ]:
        print(f"  {n:4d}  {name}")


if __name__ == "__main__":
    main()
