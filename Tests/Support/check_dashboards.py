#!/usr/bin/env python3
"""Check phasewatch's Grafana dashboards against a live Prometheus (stdlib only).

Usage:
  check_dashboards.py --prometheus http://127.0.0.1:9090 \\
      --var target=NAME --var location=NAME [--var slo=availability] \\
      [--range 1h] [--rate-interval 1m] [--interval 15s] [--time UNIX] [--fail-on-nan] \\
      [--native-histograms=no|only] dashboards/*.json

1. Structure: every dashboard has `__inputs` with a Prometheus input DS_PROMETHEUS (the
   import dialog's choice, the default of the `datasource` variable), the `datasource`
   (type datasource, prometheus), `target` and `location` template variables, schemaVersion
   >= 36, unique panel ids and titles (panels nested in rows included), every panel, query,
   query variable and annotation uses the datasource ${datasource}, a data link to `/d/UID`
   names one of the dashboards checked, a field `Value #X` in a transformation or override names
   a query of its panel, no transformation maps a threshold from data (Grafana 10 paints values
   above such a threshold red), and a repeated panel repeats over a variable. Problems are printed as
   "STRUCTURE: ..." lines.
2. Queries: every `expr` of every panel (rows included) is interpolated the way Grafana's
   Prometheus datasource does it and run as an instant query (`GET /api/v1/query`). One line
   per query:
       dashboard title | panel title | refId | number of series | first value (or error)
   The `label_values()` queries of query variables are run too (as
   `/api/v1/label/NAME/values?match[]=...` over the --range) and reported as
   "dashboard title | variable $name | - | number of values | the first values".
   Then "N queries, M empty, K errors, D with duplicate legends". A query whose series would
   share a legend in Grafana (its legendFormat drops a label the query keeps, such as
   `location` with two agents selected) is a failure, except in tables. Queries that return
   only NaN (a histogram_quantile over buckets without observations) are counted on a separate
   line; they fail the check only with --fail-on-nan. With several locations selected, a query
   whose series all lack the `location` label blends places ("BLENDS LOCATIONS"), a failure
   unless the panel's description says it shows the "locations together" (the fleet view).
   Values must fit the panel's unit: a
   `percentunit` panel (or query field override) with a value above 1 is a failure ("UNIT").
   A panel repeated over a variable (`repeat`, its own or its row's) is run once per value of
   that variable, as Grafana draws one copy per value. Annotation queries are run too: an error fails, no events
   is fine.
3. Native histograms: a panel whose description says "Needs native histograms" reads the
   native histograms Prometheus keeps only when it scrapes them. With --native-histograms=no
   such panels are listed as skipped (a Prometheus without them); with --native-histograms=only
   only the panels whose description mentions native histograms are checked (a Prometheus that
   scrapes them, where the classic buckets of 2.40 - 2.44 are gone and with them the latency
   rules).

Template variables: `$name`, `${name}`, `${name:format}` (the format is ignored) and
`[[name]]`. Values come from --var NAME=VALUE; repeat --var for a multi-value selection
(`--var target=a --var target=b` becomes `(a|b)`, as Grafana does). A variable without --var
takes its `current` value from the JSON, else its allValue when it has "All" (`.*`), else it
is an error. Values of multi/All variables are regex-escaped the way Grafana does it.
Built-ins: $__rate_interval (--rate-interval), $__interval (--interval), $__interval_ms,
$__range, $__range_s, $__range_ms (--range).

Exit status: 0 when the structure is valid and every query returned at least one series (with
legends that tell its series apart and values that fit its unit),
1 otherwise, 2 on bad usage (unreadable file, Prometheus unreachable).
"""
import argparse
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

DS_UID = "${datasource}"
DS_UIDS = {"${datasource}", "$datasource"}
MIN_SCHEMA = 36
REQUIRED_VARS = ("target", "location")

DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?"
                         r"(?:(\d+)s)?(?:(\d+)ms)?$")
VAR_RE = re.compile(r"\$\{(\w+)(?::([\w-]+))?\}|\[\[(\w+)(?::([\w-]+))?\]\]|\$(\w+)")


def duration_seconds(text):
    m = DURATION_RE.match(text or "")
    if not m or not any(m.groups()):
        raise ValueError("bad duration %r (want Prometheus syntax, e.g. 30s, 5m, 1h)" % text)
    mult = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
    return sum(int(g) * k for g, k in zip(m.groups(), mult) if g)


# ---------------------------------------------------------------------------- panels
def walk_panels(panels, parent=None):
    """Yield (panel, row) for every panel, including panels nested in rows; `row` is the row
    panel it belongs to (nested in it, or after it on the top level), else None."""
    current = parent
    for p in panels or []:
        if not isinstance(p, dict):
            continue
        if p.get("type") == "row" and parent is None:
            current = p
        yield p, (parent if p.get("type") == "row" else current)
        if p.get("type") == "row" or p.get("panels"):
            yield from walk_panels(p.get("panels"), p)


def ds_uid(ds):
    if isinstance(ds, dict):
        return ds.get("uid")
    return ds  # legacy: datasource given by name


def has_queries(panel):
    return any(isinstance(t, dict) and t.get("expr") for t in panel.get("targets") or [])


# ---------------------------------------------------------------------------- structure
def dashboard_links(node):
    """Every data-link and panel-link URL in a dashboard (any nesting)."""
    if isinstance(node, dict):
        if isinstance(node.get("url"), str) and ("title" in node):
            yield node["url"]
        for v in node.values():
            yield from dashboard_links(v)
    elif isinstance(node, list):
        for v in node:
            yield from dashboard_links(v)


def check_structure(path, dash, uids=None):
    """Return a list of problems (strings) of one dashboard."""
    problems = []
    title = dash.get("title") or path

    def bad(msg):
        problems.append("%s (%s): %s" % (title, path, msg))

    inputs = dash.get("__inputs")
    if not isinstance(inputs, list) or not inputs:
        bad("no __inputs (export the dashboard 'for sharing externally')")
    else:
        ds_inputs = [i for i in inputs if isinstance(i, dict) and i.get("name") == "DS_PROMETHEUS"]
        if not ds_inputs:
            bad("__inputs has no DS_PROMETHEUS input")
        elif (ds_inputs[0].get("type") != "datasource"
              or ds_inputs[0].get("pluginId") != "prometheus"):
            bad("__inputs DS_PROMETHEUS must be type=datasource, pluginId=prometheus")

    schema = dash.get("schemaVersion")
    if not isinstance(schema, int) or schema < MIN_SCHEMA:
        bad("schemaVersion is %r, want >= %d" % (schema, MIN_SCHEMA))

    variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []
                 if isinstance(v, dict)}
    # Every query goes to the `datasource` variable, so a provisioned dashboard (where nothing
    # replaces ${DS_PROMETHEUS}) works and one can switch between Prometheus, Thanos and Mimir.
    datasource = variables.get("datasource")
    if not datasource or datasource.get("type") != "datasource" or datasource.get("query") != "prometheus":
        bad("templating has no variable 'datasource' of type datasource for prometheus")
    for name in REQUIRED_VARS:
        if name not in variables:
            bad("templating has no %r variable" % name)
    for name, v in variables.items():
        if v.get("type") == "query" and ds_uid(v.get("datasource")) not in DS_UIDS:
            bad("variable %r: datasource %r is not %s" % (name, v.get("datasource"), DS_UID))

    panels = list(walk_panels(dash.get("panels")))
    if not panels:
        bad("no panels")
    titles = {}
    for p, _row in panels:
        t = p.get("title")
        if t in titles:
            bad("two panels are titled %r" % t)
        titles[t] = True
    for a in (dash.get("annotations") or {}).get("list") or []:
        if a.get("expr") and ds_uid(a.get("datasource")) not in DS_UIDS:
            bad("annotation %r: datasource %r is not %s" % (a.get("name"), a.get("datasource"), DS_UID))
    for url in dashboard_links(dash):
        m = re.match(r"^/d/([\w-]+)", url)
        if m and uids is not None and m.group(1) not in uids:
            bad("link to a dashboard that is not here: %s" % url)
    seen = {}
    for p, _row in panels:
        pid, ptitle = p.get("id"), p.get("title") or "(untitled)"
        if pid is None:
            bad("panel %r has no id" % ptitle)
        elif pid in seen:
            bad("panel id %r used by %r and %r" % (pid, seen[pid], ptitle))
        else:
            seen[pid] = ptitle
        if p.get("type") == "row":
            if p.get("datasource") is not None and ds_uid(p.get("datasource")) not in DS_UIDS:
                bad("row %r: datasource %r is not %s" % (ptitle, p.get("datasource"), DS_UID))
            continue
        if "gridPos" not in p:
            bad("panel %r has no gridPos" % ptitle)
        if ds_uid(p.get("datasource")) not in DS_UIDS:
            bad("panel %r: datasource %r is not %s" % (ptitle, p.get("datasource"), DS_UID))
        targets = p.get("targets") or []
        if not targets:
            bad("panel %r has no queries" % ptitle)
        refids = set()
        for t in targets:
            ref = t.get("refId")
            if not ref or ref in refids:
                bad("panel %r: missing or duplicate refId %r" % (ptitle, ref))
            refids.add(ref)
            tds = t.get("datasource")
            if tds is not None and ds_uid(tds) not in DS_UIDS:
                bad("panel %r refId %s: datasource %r is not %s" % (ptitle, ref, tds, DS_UID))
            if not t.get("expr"):
                bad("panel %r refId %s: no expr" % (ptitle, ref))
        # Fields named after a query ("Value #B") in transformations and overrides name one of its queries.
        named = set(re.findall(r"Value #(\w+)", json.dumps([p.get("transformations"), p.get("fieldConfig")])))
        for ref in sorted(named - refids):
            bad("panel %r: 'Value #%s' names no query of the panel" % (ptitle, ref))
        # Grafana 10's rowsToFields/configFromData threshold handler keeps a green base and paints
        # values above the threshold red whatever the panel says: colour rows with a color label.
        if '"handlerKey": "threshold1"' in json.dumps(p.get("transformations") or []):
            bad("panel %r: a threshold1 mapping colours values above the threshold red in Grafana 10; "
                "use a color label and the color handler" % ptitle)
        for r in (p, _row or {}):
            if r.get("repeat") and r["repeat"] not in variables:
                bad("panel %r repeats over $%s, which is not a variable" % (r.get("title"), r["repeat"]))
    return problems


# ---------------------------------------------------------------------------- interpolation
def regex_escape(value):
    # Grafana's prometheusSpecialRegexEscape: the backslashes are doubled because the result
    # lands inside a double-quoted PromQL string.
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"([$^*{}\[\]'+?.()|])", r"\\\\\1", value)


def regular_escape(value):
    # Grafana's prometheusRegularEscape (single-value variables without All).
    return value.replace("\\", "\\\\").replace("'", "\\\\'")


class Interpolator:
    def __init__(self, dash, cli_vars, builtins):
        self.builtins = builtins
        self.values = {}
        self.errors = []
        declared = [v for v in (dash.get("templating") or {}).get("list") or []
                    if isinstance(v, dict)]
        for v in declared:
            name = v.get("name")
            if not name:
                continue
            multi = bool(v.get("multi") or v.get("includeAll"))
            if name in cli_vars:
                vals = cli_vars[name]
            else:
                vals = self._default(v)
                if vals is None:
                    continue
            if vals == ["$__all"]:
                all_value = v.get("allValue")
                if all_value is None:
                    self.errors.append("variable %r: 'All' without allValue: give --var %s=..."
                                       % (name, name))
                    continue
                self.values[name] = all_value  # allValue is used verbatim
            elif multi:
                escaped = [regex_escape(x) for x in vals]
                self.values[name] = (escaped[0] if len(escaped) == 1
                                     else "(" + "|".join(escaped) + ")")
            else:
                self.values[name] = regular_escape(vals[0])
        names = {v.get("name") for v in declared}
        for name, vals in cli_vars.items():
            if name not in names:
                # Not a dashboard variable: still substitute it, as a plain value.
                self.values[name] = regular_escape(vals[0])

    @staticmethod
    def _default(v):
        cur = (v.get("current") or {}).get("value")
        if isinstance(cur, list) and cur:
            return [str(x) for x in cur]
        if isinstance(cur, str) and cur:
            return [cur]
        if v.get("includeAll"):
            return ["$__all"]
        opts = [o.get("value") for o in v.get("options") or [] if o.get("value") not in (None, "")]
        if opts:
            return [str(opts[0])]
        if v.get("type") == "custom" and v.get("query"):
            first = str(v["query"]).split(",")[0].strip()
            if first:
                return [first.split(" : ")[-1]]
        return None

    def __call__(self, expr):
        missing = []

        def sub(m):
            name = m.group(1) or m.group(3) or m.group(5)
            if name in self.builtins:
                return self.builtins[name]
            if name in self.values:
                return self.values[name]
            missing.append(name)
            return m.group(0)

        out = VAR_RE.sub(sub, expr)
        return out, missing


# ---------------------------------------------------------------------------- prometheus
def instant_query(base, expr, at, timeout):
    params = {"query": expr}
    if at is not None:
        params["time"] = "%.3f" % at
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:  # 400/422 carry a JSON error body
        try:
            body = json.load(e)
        except Exception:
            return None, "HTTP %d" % e.code
    if body.get("status") != "success":
        return None, "%s: %s" % (body.get("errorType", "error"), body.get("error", "?"))
    return body["data"], None


LABEL_VALUES_RE = re.compile(r"^\s*label_values\(\s*(?:(.*\S)\s*,\s*)?(\w+)\s*\)\s*$", re.S)


def variable_query(base, query, timeout, at, range_s):
    """Run a label_values() variable query; (values, error). Other kinds: (None, None)."""
    m = LABEL_VALUES_RE.match(query)
    if not m:
        return None, None
    selector, label = m.group(1), m.group(2)
    params = [("start", "%.3f" % (at - range_s)), ("end", "%.3f" % at)]
    if selector:
        params.append(("match[]", selector))
    url = "%s/api/v1/label/%s/values?%s" % (base.rstrip("/"), urllib.parse.quote(label),
                                             urllib.parse.urlencode(params))
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = json.load(r)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except Exception:
            return None, "HTTP %d" % e.code
    if body.get("status") != "success":
        return None, "%s: %s" % (body.get("errorType", "error"), body.get("error", "?"))
    return body.get("data") or [], None


def variable_text(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    return q or v.get("definition") or ""


def describe(data):
    """(number of series, first value as text, True when every value is NaN)."""
    rtype, result = data.get("resultType"), data.get("result")
    if rtype in ("scalar", "string"):
        return 1, str(result[1]), str(result[1]) == "NaN"
    if not result:
        return 0, "-", False
    if rtype == "vector":
        # A native histogram sample has "histogram": [time, {"count": ..., "buckets": ...}].
        values = [r["value"][1] if "value" in r else "histogram(count=%s)" % r["histogram"][1].get("count")
                  for r in result]
    else:  # matrix
        values = [r["values"][-1][1] if r.get("values") else "NaN" for r in result]
    first = result[0]
    labels = {k: v for k, v in first.get("metric", {}).items() if k != "__name__"}
    lab = ",".join("%s=%s" % kv for kv in sorted(labels.items()))
    return len(result), "%s {%s}" % (values[0], lab), all(v == "NaN" for v in values)


LEGEND_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def duplicate_legends(data, legend_format):
    """The legends that two or more series of `data` would share in Grafana (`legendFormat`
    with each series' labels filled in): a label the query keeps but the legend leaves out,
    such as `location` with two agents. Empty and `__auto` formats name series by all their
    labels, which never collide."""
    if not legend_format or legend_format == "__auto" or data.get("resultType") not in ("vector", "matrix"):
        return []
    seen = {}
    for r in data.get("result") or []:
        labels = r.get("metric", {})
        legend = LEGEND_RE.sub(lambda m: labels.get(m.group(1), ""), legend_format)
        seen[legend] = seen.get(legend, 0) + 1
    return sorted(legend for legend, n in seen.items() if n > 1)


def reachable_query(args, expr, at):
    """instant_query, exiting with status 2 when Prometheus cannot be reached at all."""
    try:
        return instant_query(args.prometheus, expr, at, args.timeout)
    except (urllib.error.URLError, OSError) as e:
        print("check_dashboards: cannot reach Prometheus at %s: %s" % (args.prometheus, e), file=sys.stderr)
        sys.exit(2)


def unit_problem(panel, target, data):
    """A value that does not fit the unit of its field: a share (percentunit) above 1."""
    unit = ((panel.get("fieldConfig") or {}).get("defaults") or {}).get("unit")
    for o in (panel.get("fieldConfig") or {}).get("overrides") or []:
        m = o.get("matcher") or {}
        if m.get("id") == "byFrameRefID" and m.get("options") == target.get("refId"):
            unit = next((pr.get("value") for pr in o.get("properties") or [] if pr.get("id") == "unit"), unit)
    if unit != "percentunit" or data.get("resultType") != "vector":
        return None
    for r in data.get("result") or []:
        if "value" not in r:  # a native histogram has no single value
            continue
        v = float(r["value"][1])
        if v > 1 + 1e-9:
            return "%s = %g shown as percentunit (above 100 %%)" % (r.get("metric"), v)
    return None


BLEND_OK = "locations together"


def check_query(args, panel, target, raw, interp, at, places=1):
    """Run one panel query; (text for the report, kind) with kind one of ok, empty, error,
    duplicate, blend, unit, nan. `places` is the number of locations selected: with more than
    one, a query whose series have no `location` label blends them, which only a panel whose
    description says it shows the "locations together" may do."""
    expr, missing = interp(raw)
    if missing:
        return "ERROR: no value for variable(s) %s" % ", ".join("$" + m for m in sorted(set(missing))), "error"
    data, err = reachable_query(args, expr, at)
    if err:
        return "ERROR: %s  [query: %s]" % (err, expr), "error"
    n, first, all_nan = describe(data)
    if n == 0:
        return "0 | EMPTY  [query: %s]" % expr, "empty"
    twice = [] if panel.get("type") in ("table", "heatmap") else duplicate_legends(data, target.get("legendFormat"))
    if twice:
        return "%d | DUPLICATE LEGEND %s (legend %r)" % (n, ", ".join(repr(x) for x in twice[:3]),
                                                          target.get("legendFormat")), "duplicate"
    series = data.get("result") if data.get("resultType") in ("vector", "matrix") else None
    if (places > 1 and series and BLEND_OK not in (panel.get("description") or "")
            and not any("location" in r.get("metric", {}) for r in series)):
        return "%d | BLENDS LOCATIONS: no series keeps the location label  [query: %s]" % (n, expr), "blend"
    bad_unit = unit_problem(panel, target, data)
    if bad_unit:
        return "%d | UNIT %s" % (n, bad_unit), "unit"
    if all_nan:
        return "%d | %s  (only NaN)" % (n, first), "nan"
    return "%d | %s" % (n, first), "ok"


def repeats(panel, row, dash, interp, cli_vars, builtins):
    """(suffix, interpolator, locations selected) per copy Grafana draws of the panel: one per
    value of its `repeat` variable and of its row's, else the panel itself."""
    names = [n for n in ((row or {}).get("repeat"), panel.get("repeat")) if n]
    if not names:
        yield "", interp, len(cli_vars.get("location") or [None])
        return
    copies = [("", dict(cli_vars))]
    for name in names:
        declared = next((v for v in (dash.get("templating") or {}).get("list") or [] if v.get("name") == name), {})
        values = cli_vars.get(name)
        if not values or values == ["$__all"]:
            if declared.get("type") == "custom":
                values = [x.strip() for x in str(declared.get("query") or "").split(",") if x.strip()]
        copies = [(suffix + " [$%s=%s]" % (name, value), dict(chosen, **{name: [value]}))
                  for suffix, chosen in copies for value in values or []]
    for suffix, chosen in copies:
        yield suffix, Interpolator(dash, chosen, builtins), len(chosen.get("location") or [None])


# ---------------------------------------------------------------------------- main
def parse_vars(items):
    out = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit("check_dashboards: bad --var %r (want NAME=VALUE)" % item)
        k, v = item.split("=", 1)
        out.setdefault(k.strip().lstrip("$"), []).append(v)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Validate Grafana dashboards and run every panel query against Prometheus.")
    ap.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    ap.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                    help="template variable value; repeat for several values")
    ap.add_argument("--range", default="1h", help="dashboard time range for $__range (1h)")
    ap.add_argument("--rate-interval", default="1m", help="value of $__rate_interval (1m)")
    ap.add_argument("--interval", default="15s", help="value of $__interval (15s)")
    ap.add_argument("--time", type=float, default=None,
                    help="evaluation time (Unix seconds); default: now")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-query timeout in seconds")
    ap.add_argument("--fail-on-nan", action="store_true",
                    help="also fail when a query returns nothing but NaN values")
    ap.add_argument("--native-histograms", choices=("no", "only"), default=None,
                    help="no: skip the panels that need native histograms; only: check just those")
    ap.add_argument("dashboards", nargs="+", help="dashboard JSON files")
    args = ap.parse_args(argv)

    try:
        range_s = duration_seconds(args.range)
        interval_s = duration_seconds(args.interval)
        duration_seconds(args.rate_interval)
    except ValueError as e:
        ap.error(str(e))
    cli_vars = parse_vars(args.var)
    builtins = {
        "__rate_interval": args.rate_interval,
        "__interval": args.interval,
        "__interval_ms": str(int(interval_s * 1000)),
        "__range": args.range,
        "__range_s": str(int(range_s)),
        "__range_ms": str(int(range_s * 1000)),
    }
    at = args.time if args.time is not None else time.time()

    dashboards = []
    for path in args.dashboards:
        try:
            with open(path, encoding="utf-8") as f:
                dashboards.append((path, json.load(f)))
        except (OSError, ValueError) as e:
            print("check_dashboards: cannot read %s: %s" % (path, e), file=sys.stderr)
            return 2

    # The list of dashboards and panels.
    print("Dashboards:")
    for path, dash in dashboards:
        print("  %s  [uid=%s, schemaVersion=%s]  %s" % (dash.get("title"), dash.get("uid"),
                                                     dash.get("schemaVersion"), path))
        for p, row in walk_panels(dash.get("panels")):
            where = (" (row %r)" % row.get("title")) if row else ""
            nq = len([t for t in p.get("targets") or [] if t.get("expr")])
            print("    #%-3s %-10s %s%s  [%d %s]" % (p.get("id"), p.get("type"), p.get("title"),
                                                    where, nq, "query" if nq == 1 else "queries"))
    print()

    structure = []
    for path, dash in dashboards:
        structure += check_structure(path, dash, uids={d.get("uid") for _, d in dashboards})
    for s in structure:
        print("STRUCTURE: " + s)
    if structure:
        print()

    total = empty = errors = nans = duplicates = units = skipped = blends = 0
    for path, dash in dashboards:
        interp = Interpolator(dash, cli_vars, builtins)
        dtitle = dash.get("title") or path
        for e in interp.errors:
            print("STRUCTURE: %s: %s" % (dtitle, e))
            structure.append(e)
        for v in (dash.get("templating") or {}).get("list") or []:
            if not isinstance(v, dict) or v.get("type") != "query":
                continue
            query, missing = interp(variable_text(v))
            label = "variable $%s" % v.get("name")
            if missing:
                total += 1
                errors += 1
                print("%s | %s | - | ERROR: no value for variable(s) %s" % (
                    dtitle, label, ", ".join("$" + m for m in sorted(set(missing)))))
                continue
            try:
                values, err = variable_query(args.prometheus, query, args.timeout, at, range_s)
            except (urllib.error.URLError, OSError) as e:
                print("check_dashboards: cannot reach Prometheus at %s: %s"
                      % (args.prometheus, e), file=sys.stderr)
                return 2
            if values is None and err is None:
                print("%s | %s | - | skipped (only label_values() is checked): %s"
                      % (dtitle, label, query))
                continue
            total += 1
            if err:
                errors += 1
                res = "ERROR: %s  [query: %s]" % (err, query)
            elif not values:
                empty += 1
                res = "0 | EMPTY  [query: %s]" % query
            else:
                res = "%d | %s" % (len(values), ", ".join(values[:5])
                                   + (", ..." if len(values) > 5 else ""))
            print("%s | %s | - | %s" % (dtitle, label, res))
        for a in (dash.get("annotations") or {}).get("list") or []:
            if not a.get("expr") or args.native_histograms == "only":
                continue
            expr, missing = interp(a["expr"])
            total += 1
            if missing:
                errors += 1
                res = "ERROR: no value for variable(s) %s" % ", ".join("$" + m for m in sorted(set(missing)))
            else:
                data, err = reachable_query(args, expr, at)
                if err:
                    errors += 1
                    res = "ERROR: %s  [query: %s]" % (err, expr)
                else:
                    res = "%d events now (none is fine)" % describe(data)[0]
            print("%s | annotation %s | - | %s" % (dtitle, a.get("name"), res))
        for p, row in walk_panels(dash.get("panels")):
            needs_native = "Needs native histograms" in (p.get("description") or "")
            reads_native = "native" in (p.get("description") or "")
            if p.get("targets") and args.native_histograms == "no" and needs_native:
                skipped += 1
                print("%s | %s | - | skipped: needs native histograms" % (dtitle, p.get("title")))
                continue
            if args.native_histograms == "only" and not reads_native:
                continue
            for t in p.get("targets") or []:
                raw = t.get("expr")
                if not raw:
                    continue
                for copy_name, copy_interp, places in repeats(p, row, dash, interp, cli_vars, builtins):
                    total += 1
                    ref = t.get("refId", "?") + copy_name
                    res, kind = check_query(args, p, t, raw, copy_interp, at, places)
                    blends += kind == "blend"
                    empty += kind == "empty"
                    errors += kind == "error"
                    duplicates += kind == "duplicate"
                    units += kind == "unit"
                    nans += kind == "nan"
                    print("%s | %s | %s | %s" % (dtitle, p.get("title"), ref, res))

    print()
    print("%d queries, %d empty, %d errors, %d with duplicate legends, %d blending locations, "
          "%d with values that do not fit the unit" % (total, empty, errors, duplicates, blends, units))
    if skipped:
        print("%d panels skipped: they need native histograms" % skipped)
    if nans:
        print("%d %s returned only NaN (e.g. a quantile without observations)%s"
              % (nans, "query" if nans == 1 else "queries",
                 "" if args.fail_on_nan else "; not a failure without --fail-on-nan"))
    if structure:
        print("%d structure problems" % len(structure))
    failed = structure or empty or errors or duplicates or blends or units or total == 0 or (args.fail_on_nan and nans)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
