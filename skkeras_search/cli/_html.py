"""``report.html``: the report as one self-contained page a person can open or mail.

Read off the finished ``report.json`` content (:func:`html_report`) and the
PNGs beside it, which are embedded as base64 ``data:`` images, so the file
needs nothing else: no script, no style sheet, no network. Every text from
the data (parameter values, column names, failure reasons) is escaped.
"""

import base64
import html
import os

from skkeras_search._core.files import atomic_write
from skkeras_search.cli._args import MULTI_FIDELITY, ORDER_NOTE

__all__ = ["html_report", "write_html_report"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.tied td { background: #eef6ee; } code { font-size: 0.9em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
p.note { color: #555; font-size: 0.9em; }
"""


def _e(value):
    return html.escape(str(value), quote=True)


def _num(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    return str(value)


def _param_text(params):
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items())


def _is_number(cell):
    try:
        float(cell)
    except (TypeError, ValueError):
        return False
    return not isinstance(cell, bool)


def _table(header, rows, classes=None):
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        cells = "".join(f'<td class="num">{_e(c)}</td>' if _is_number(c)
                        else f"<td>{_e(c)}</td>" for c in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _overview(report):
    search, data = report["search"], report["data"]
    note = f" ({ORDER_NOTE})" if search.get("asynchronous") else ""
    rows = [
        ("command", " ".join(report["command"])),
        ("data", f"{data['name']}: {data['n_samples']} samples x {data['n_features']} features, "
                 f"{data['task']}; {data['n_train']} for the search, {data['n_test']} held out"),
        ("search", f"{search['strategy']}{note}, {report['n_candidates']} candidates "
                   f"({report['n_failed_candidates']} failed), {search['cv']}-fold CV, "
                   f"{search['epochs']} epochs"),
        ("best parameters", _param_text(report["best_params"])),
        (f"best CV {search['scoring']}", _num(report["best_cv_score"])),
        (f"held-out {search['scoring']}", f"{_num(report['test_score'])} of the refit best model"),
        ("elapsed", f"{report['elapsed_s']:.1f} s"),
    ]
    return _table(["", ""], rows)


def _top(report):
    ties = report.get("ties") or {}
    header = ["rank", "mean", "std", "fit time", "tied with best", "params"]
    rows, classes = [], []
    for r in report["top"]:
        tied = r.get("tied")
        rows.append(["-" if r["rank"] is None else r["rank"],
                     "failed" if r["mean_test_score"] is None else _num(r["mean_test_score"]),
                     _num(r["std_test_score"]), f"{r['mean_fit_time']:.2f}s",
                     {True: "yes", False: "no", None: ""}[tied],
                     _param_text(r["params"]) + (f" ({r['reason']})" if r.get("reason") else "")])
        classes.append("tied" if tied else "")
    multi = report["search"]["strategy"] in MULTI_FIDELITY
    text = ("<p class=\"note\">Candidates at the full budget; every budget is in "
            "cv_results.csv.</p>" if multi else "")
    if "error" in ties:
        text += f"<p class=\"note\">Ties not tested: {_e(ties['error'])}</p>"
    elif ties:
        n = sum(row["tied"] for row in ties["rows"]) - 1
        text += (f"<p class=\"note\">{n} other candidate{'s' if n != 1 else ''} statistically "
                 f"tied with the best: {_e(ties['method'])}, two-sided, alpha={ties['alpha']}, on the "
                 "per-fold scores.</p>")
    return text + _table(header, rows, classes)


def _importance(report):
    imp = report.get("importance")
    if not imp:
        return ""
    if "error" in imp:
        return f"<h2>Hyperparameter importance</h2><p class=\"note\">Not computed: {_e(imp['error'])}</p>"
    methods = [imp] + ([imp["fanova"]] if isinstance(imp.get("fanova"), dict)
                       and "values" in imp["fanova"] else [])
    names = list(imp["values"])
    rows = [[name, *[_num(m["values"].get(name), 3) for m in methods]] for name in names]
    return ("<h2>Hyperparameter importance</h2>"
            "<p class=\"note\">Each parameter's share of the importance, over the full-budget "
            "candidates (fANOVA: of the score's variance; PED-ANOVA: of what sets the best "
            "candidates apart).</p>"
            + _table(["parameter", *[m["method"] for m in methods]], rows))


def _budget_correlation(report):
    corr = report.get("budget_correlation")
    if not corr:
        return ""
    rows = [["all brackets", p["from"], p["to"], p["n"], _num(p["rho"], 3)] for p in corr["overall"]]
    for bracket, pairs in (corr.get("per_bracket") or {}).items():
        rows += [[f"bracket {bracket}", p["from"], p["to"], p["n"], _num(p["rho"], 3)] for p in pairs]
    return ("<h2>Do low budgets predict high budgets?</h2>"
            f"<p class=\"note\">{_e(corr['method'])} between the scores of the candidates trained "
            "to both budgets: near 1, the early rounds keep the right candidates.</p>"
            + _table(["rows", "from epochs", "to epochs", "candidates", "rho"], rows))


def _failures(report):
    rows = [[_param_text(r["params"]), r["reason"]] for r in report["failed_candidates"]]
    return ("<h2>Failed candidates</h2>" + _table(["params", "reason"], rows)) if rows else ""


def _figures(report, out):
    parts = []
    for name in sorted({f for f in report["files"].values()
                        if isinstance(f, str) and f.endswith(".png")}):
        path = os.path.join(out, name)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
        parts.append(f'<figure><img alt="{_e(name)}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{_e(name)}</figcaption></figure>")
    return ("<h2>Plots</h2>" + "".join(parts)) if parts else ""


def html_report(report, out):
    """The page of a finished ``report`` (``report.json``'s content), PNGs read from ``out``.

    Returns
    -------
    page : str
        One HTML5 document, images embedded.
    """
    versions = ", ".join(f"{k} {v}" for k, v in report["versions"].items())
    names = {"report.json", *map(str, report["files"].values())}
    files = "".join(f"<li><code>{_e(v)}</code></li>" for v in sorted(names))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>skkeras-search report: {_e(report['data']['name'])}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>skkeras-search report: {_e(report['data']['name'])}</h1>"
        + _overview(report)
        + "<h2>Best candidates</h2>" + _top(report)
        + _importance(report) + _budget_correlation(report) + _failures(report)
        + _figures(report, out)
        + f"<h2>Files</h2><ul>{files}</ul>"
        + f"<p class=\"note\">{_e(versions)}</p></body></html>\n"
    )


def write_html_report(out, report):
    """Write ``OUT/report.html``; returns its name."""
    atomic_write(os.path.join(out, "report.html"), html_report(report, out))
    return "report.html"
