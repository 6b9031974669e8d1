"""An import-linter contract that Import Linter lacks: no import cycle among modules.

Import Linter's own `acyclic_siblings` looks only at siblings inside one package, so it
misses a cycle that crosses packages (`bot.app` → `handlers` → `handlers.staff` →
`bot.app`). This one looks at every module of the given packages together: any cycle,
of any length, breaks it. Used by `[tool.importlinter]` in pyproject.toml.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter.application import contract_utils, output
from importlinter.application.contract_utils import AlertLevel
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def strongly_connected(nodes: list[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the groups of two or more nodes that reach each other (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(edges[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
    return groups


class AcyclicContract(Contract):
    """No import cycle among the modules of `packages`, within or across them."""

    type_name = "acyclic"

    packages = fields.ListField(subfield=fields.StringField())
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)
    unmatched_ignore_imports_alerting = fields.EnumField(AlertLevel, default=AlertLevel.ERROR)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph,
            ignore_imports=self.ignore_imports,  # type: ignore[arg-type]
            unmatched_alerting=self.unmatched_ignore_imports_alerting,  # type: ignore[arg-type]
        )
        roots = set(self.packages)  # type: ignore[call-overload]
        modules = sorted(m for m in graph.modules if m.split(".")[0] in roots)
        inside = set(modules)
        edges = {m: graph.find_modules_directly_imported_by(m) & inside for m in modules}
        cycles = []
        for group in strongly_connected(modules, edges):
            # One concrete loop per group: from the first module back to itself.
            first = group[0]
            loops = [
                chain
                for nxt in sorted(edges[first] & set(group))
                if (chain := graph.find_shortest_chain(importer=nxt, imported=first))
            ]
            loop = min(loops, key=len)
            cycles.append({"modules": group, "loop": [first, *loop]})
        return ContractCheck(
            kept=not cycles,
            warnings=list(removal.warnings),
            ignored_import_count=removal.ignored_import_count,
            metadata={"cycles": cycles},
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error(f"{len(cycle['modules'])} modules import each other:")
            output.print_error("    " + " -> ".join(cycle["loop"]), bold=False)
            output.print_error("    all of them: " + ", ".join(cycle["modules"]), bold=False)
            output.new_line()
