"""Prints which of paydesk's packages import which, and the pairs that import each other.

    python scripts/package_graph.py [SRC]      (SRC defaults to src/)

Counts every import, at module level or inside a function, from one package of
`paydesk` to another (top-level modules such as `db.py` are left out: they are below
every package). import-linter enforces the layers; this shows them.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path


def graph(root: Path) -> dict[str, set[str]]:
    packages = {d.name for d in root.iterdir() if (d / "__init__.py").exists()}
    edges: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        me = parts[0] if len(parts) > 1 else None
        if me not in packages:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if not name.startswith("paydesk."):
                    continue
                other = name.split(".")[1]
                if other in packages and other != me:
                    edges[me].add(other)
    return dict(edges)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "src") / "paydesk"
    edges = graph(root)
    for package in sorted(edges):
        print(f"{package:14} -> {', '.join(sorted(edges[package]))}")
    mutual = sorted(
        {tuple(sorted((a, b))) for a in edges for b in edges[a] if a in edges.get(b, set())}
    )
    print(f"pairs importing each other: {len(mutual)}", *(f"{a}<->{b}" for a, b in mutual))


if __name__ == "__main__":
    main()
