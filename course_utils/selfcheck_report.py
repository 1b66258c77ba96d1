"""The self-check's result: one :class:`Check` per line, shown as text or as an HTML table.

The HTML marks each status with a coloured badge that carries its own background (white text,
contrast above 4.5:1), so it reads the same in JupyterLab's light and dark themes, Colab and VS Code;
everything else inherits the theme's text colour.
"""
from __future__ import annotations

from html import escape

# status -> (label, badge background); white text on each has a contrast ratio above 4.5:1
BADGES = {"ok": ("ok", "#1a7f37"), "note": ("note", "#9a6700"), "problem": ("problem", "#cf222e")}


class Check:
    """One line of the self-check: what was looked at, what was found, and the fix if it is a problem.

    ``status`` is ``"ok"``, ``"note"`` (worth knowing; ``fix`` holds a tip) or ``"problem"`` (fix it first).
    """

    def __init__(self, name: str, status: str, found: str, fix: str = ""):
        if status not in BADGES:
            raise ValueError(f"status must be one of {list(BADGES)}, not {status!r}")
        self.name, self.status, self.found, self.fix = name, status, found, fix

    def __repr__(self) -> str:
        return f"Check({self.name!r}, {self.status!r}, {self.found!r}, fix={self.fix!r})"


class SelfCheckReport:
    """The result of ``self_check()``: a list of :class:`Check`; prints as text, shows as a table."""

    def __init__(self, checks: list[Check]):
        self.checks = list(checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status == "problem"]

    @property
    def ok(self) -> bool:
        """True when nothing needs fixing (notes are fine)."""
        return not self.problems

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; the checks are {[c.name for c in self.checks]}")

    def summary(self) -> str:
        n = len(self.problems)
        return ("Environment self-check: all good." if n == 0 else
                f"Environment self-check: {n} problem{'s' if n > 1 else ''} to fix (see 'fix:' below).")

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = [self.summary()]
        for c in self.checks:
            mark = {"ok": "ok     ", "note": "note   ", "problem": "PROBLEM"}[c.status]
            lines.append(f"  {mark}  {c.name:<{width}}  {c.found}")
            if c.fix:  # a problem's fix, or a note's tip
                lines.append(f"  {'':7}  {'':<{width}}  {'fix' if c.status == 'problem' else 'tip'}: {c.fix}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        cell = "style='text-align:left;vertical-align:top'"  # JupyterLab right-aligns table cells
        rows = []
        for c in self.checks:
            label, background = BADGES[c.status]
            badge = (f"<span style='background-color:{background};color:#ffffff;font-weight:bold;"
                     f"padding:0 6px;border-radius:4px;white-space:nowrap'>{label}</span>")
            rows.append(f"<tr><td {cell}>{badge}</td><td {cell[:-1]};white-space:nowrap'>{escape(c.name)}</td>"
                        f"<td {cell}>{escape(c.found)}</td><td {cell}>{escape(c.fix)}</td></tr>")
        header = "".join(f"<th {cell}>{h}</th>" for h in ("", "check", "found", "what to do"))
        return f"<p><b>{escape(self.summary())}</b></p><table><tr>{header}</tr>{''.join(rows)}</table>"
