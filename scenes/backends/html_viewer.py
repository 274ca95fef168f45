"""The interactive viewer: one self-contained HTML page per trace (``geomdl render SCENE --format html``).

The page opens from disk with no network access: plotly.js is inlined from the installed ``plotly`` package (the
``viewer`` extra) and the trace's data is embedded as base64 of 16-bit coordinates. What it shows comes from
:mod:`scenes.clips.viewer` (the same projection and panel views as the clips): rotatable 3-D panels of the input,
each layer's ``T_l(X)`` with its cone and the outputs (or, for ``flows``, one panel per flow); a time slider with
play/pause and step buttons over the snapshots, the step, loss and collapsed counts per layer and class
updating with it; toggles for classes, panels and cones; hover with point index, class (from 1) and truncation
state ``k``; light and dark themes; labels typeset as HTML from the ``$...$`` mathtext convention (sub- and
superscripts, Greek letters; plotly's own LaTeX needs MathJax from the network, so it is not used).

API: :func:`viewer_html` (the page as text), :func:`write_viewer` (written atomically, size checked),
:func:`show` (a :class:`Viewer` that a notebook displays inline; a :class:`~geomdl.io.trace.Trace` displays the
same once :mod:`scenes` is imported in IPython). plotly is imported only when a page is built.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path

import numpy as np

from geomdl.errors import GeomdlError
from geomdl.io.atomic import atomic_path
from scenes.clips.base import THEMES

MAX_MB = 15.0                 # the page's size limit (issue 17: the headline trace's page <= 15 MB)
OVERHEAD = 200_000            # bytes of page besides plotly.js and the point data (HTML, script, JSON numbers)
SCALAR_NAMES = {"train_acc": "train accuracy", "test_acc": "test accuracy", "nc1_hidden": "NC1, last hidden layer",
                "delta_p": "$\\delta_P$", "grad_norm": "gradient norm", "grad_norm_hidden": "gradient norm, hidden",
                "region_infimum": "region infimum", "stage": "stage (0 toggle point, 1 after L-BFGS)"}
GREEK = {name: chr(code) for name, code in [
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5),
    ("lambda", 0x3BB), ("mu", 0x3BC), ("pi", 0x3C0), ("sigma", 0x3C3), ("tau", 0x3C4), ("theta", 0x3B8),
    ("Delta", 0x394), ("Sigma", 0x3A3), ("to", 0x2192), ("cdot", 0xB7), ("leq", 0x2264), ("geq", 0x2265),
    ("infty", 0x221E), ("in", 0x2208), ("times", 0xD7), ("propto", 0x221D), ("top", 0x22A4), ("ell", 0x2113),
    ("nabla", 0x2207), ("partial", 0x2202), ("approx", 0x2248), ("pm", 0xB1), ("sim", 0x223C), ("le", 0x2264),
    ("ge", 0x2265), ("ldots", 0x2026), ("rho", 0x3C1), ("eta", 0x3B7), ("kappa", 0x3BA), ("omega", 0x3C9)]}
DOUBLE_STRUCK = {"R": "\u211d", "N": "\u2115", "Z": "\u2124", "Q": "\u211a", "C": "\u2102"}


def plotly_js() -> tuple[str, str]:
    """The plotly.js bundle shipped by the installed ``plotly`` package, and its version."""
    try:
        import plotly  # noqa: PLC0415
        from plotly.offline import get_plotlyjs  # noqa: PLC0415
    except ImportError:
        raise GeomdlError("the HTML viewer needs plotly: pip install 'geomdl[viewer]' (or run scripts/setup.sh)") \
            from None
    js = get_plotlyjs()
    m = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", js[:2000])
    return js, (m.group(1) if m else f"from plotly.py {plotly.__version__}")


def html_text(text: str) -> str:
    """``text`` as HTML, with the label convention's mathtext typeset: inside ``$...$`` letters are italic,
    ``_x`` / ``_{..}`` subscripts, ``^x`` / ``^{..}`` / ``^(..)`` superscripts and ``\\lambda`` etc. Greek; outside,
    ``R^3``-style powers and ``T_1``-style indices are typeset too. Everything else is escaped."""
    out, parts = [], re.split(r"(\$[^$]*\$)", str(text))
    for i, part in enumerate(parts):
        if i % 2 and len(part) >= 2:
            out.append(_math(part[1:-1], italic=True))
        else:
            out.append(_math(part, italic=False))
    return "".join(out)


def _math(s: str, italic: bool) -> str:
    s = re.sub(r"\\mathbb\{([A-Z])\}", lambda m: DOUBLE_STRUCK.get(m.group(1), m.group(1)), s)
    s = re.sub(r"\\(?:mathrm|mathbf|text|operatorname)\{([^{}]*)\}", r"\1", s)   # upright words: as they are
    s = re.sub(r"\\([A-Za-z]+)", lambda m: GREEK.get(m.group(1), m.group(0)), s)
    pieces: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in "_^" and i + 1 < len(s) and (italic or (i > 0 and s[i - 1].isalnum() and (
                s[i + 1] in "{(" or s[i + 1].isdigit()))):
            tag = "sub" if c == "_" else "sup"
            j = i + 1
            if s[j] in "{(":
                close = "}" if s[j] == "{" else ")"
                k = s.find(close, j)
                k = len(s) - 1 if k < 0 else k
                body = s[j + 1:k] if s[j] == "{" else s[j:k + 1]
                i = k + 1
            else:
                m = re.match(r"-?[A-Za-z0-9]+" if not italic else r"-?[0-9]+|[^\s{}()]", s[j:])
                if not m:
                    pieces.append(html.escape(c))
                    i += 1
                    continue
                body = m.group(0)
                i = j + len(body)
            pieces.append(f"<{tag}>{_math(body, italic)}</{tag}>")
            continue
        if italic and c.isalpha() and c not in DOUBLE_STRUCK.values():
            j = i
            while j < len(s) and s[j].isalpha():
                j += 1
            word = s[i:j]
            pieces.append(html.escape(word) if len(word) > 1 and word.isascii() and word.islower()
                          else f"<i>{html.escape(word)}</i>")
            i = j
            continue
        pieces.append(html.escape(c))
        i += 1
    return "".join(pieces)


def _b64(a: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=dtype).tobytes()).decode("ascii")


def _q(P: np.ndarray, center: np.ndarray, half: float) -> str:
    from scenes.clips.viewer import quantise  # noqa: PLC0415

    return _b64(quantise(np.asarray(P, dtype=float), center, half), "<i2")


def _num(x: float) -> float | None:
    return float(f"{x:.6g}") if np.isfinite(x) else None


def page_data(model, theme: str) -> dict:
    """The JSON the page's script reads (numbers rounded to 6 digits; point data as base64)."""
    panels = []
    for p in model.panels:
        d = {"key": p.key, "title": html_text(p.title), "color": p.color, "center": [float(v) for v in p.center],
             "half": float(p.half), "axes": [html_text(a) for a in p.axes], "S": int(p.pos.shape[0]),
             "pos": _q(p.pos, p.center, p.half), "layer": p.layer, "width": p.width,
             "extra": [{"name": name, "pos": [[_num(v) for v in row] for row in pts]}
                       for name, pts in p.extra.items()]}
        if p.k is not None:
            kb = 1 if int(np.max(np.abs(p.k), initial=0)) <= 127 else 2
            d["k"], d["kbytes"] = _b64(p.k, "<i1" if kb == 1 else "<i2"), kb
        if p.base is not None:
            d["base"] = _q(p.base, p.center, p.half)
            d["baseOff"] = [bool(b) for b in p.base_off]
            d["R"] = int(p.rays.shape[1])
            d["rays"] = _q(p.rays, p.center, p.half)
        if p.trails is not None:
            d["trails"], d["T"] = _q(p.trails, p.center, p.half), int(p.trails.shape[1])
        panels.append(d)
    return {
        "title": html_text(model.title), "lines": [html_text(s) for s in model.lines],
        "notes": [html_text(s) for s in model.notes], "kind": model.kind, "stepName": model.step_name,
        "steps": [int(s) for s in model.steps], "loss": [_num(v) for v in model.loss],
        "scalars": {html_text(SCALAR_NAMES.get(k, k.replace("_", " "))): [_num(x) for x in v]
                    for k, v in model.scalars.items()},
        "counts": None if model.counts is None else np.asarray(model.counts).tolist(),
        "sizes": [int(s) for s in model.class_sizes], "Q": model.Q, "labels": [int(j) for j in model.labels],
        "index": [int(i) for i in model.index], "palette": model.palette, "theme": theme, "themes": THEMES,
        "panels": panels, "snapshots": [int(s) for s in model.snapshots], "sTotal": model.s_total,
        "version": str(model.meta.get("versions", {}).get("geomdl", "")),
    }


def viewer_html(trace, theme: str = "light", max_mb: float = MAX_MB, view: str = "input") -> str:
    """The viewer page of ``trace`` as one self-contained HTML document (``theme``: the one it opens in).

    Data beyond what fits in ``max_mb`` megabytes (10^6 bytes) together with plotly.js is decimated (snapshots
    first, then points), and the page says so. A trace kind without per-layer panels is a
    :class:`GeomdlError`."""
    from scenes.clips import viewer  # noqa: PLC0415

    if theme not in THEMES:
        raise GeomdlError(f"unknown theme {theme!r}; known: {', '.join(THEMES)}")
    if not viewer.has_panels(trace):
        viewer.build(trace, 0.0)          # raises the one-line error
    js, js_version = plotly_js()
    budget = max_mb * 1e6 - len(js.encode()) - OVERHEAD
    if budget <= 0:
        raise GeomdlError(f"max_mb={max_mb:g} leaves no room beside plotly.js ({len(js) / 1e6:.1f} MB)")
    model = viewer.build(trace, budget, scene_lines=_scene_lines(trace), view=view)
    data = page_data(model, theme)
    data["plotly"] = js_version
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    th = THEMES[theme]
    page = (_PAGE.replace("__TITLE__", html.escape(re.sub(r"<[^>]+>", "", data["title"])))
            .replace("__BG__", th["bg"]).replace("__FG__", th["fg"])
            .replace("__CSS__", _CSS).replace("__SCRIPT__", _SCRIPT))
    head, tail = page.split("__DATA__")
    head = head.replace("__PLOTLYJS__", js.replace("</script", "<\\/script"))
    return head + blob + tail


def _scene_lines(trace) -> list[str]:
    """The title-card lines of the clip that draws this trace (its parameters), under the page title."""
    import importlib  # noqa: PLC0415

    from scenes.clips.viewer import CARD_LINES  # noqa: PLC0415

    ref = CARD_LINES.get(trace.meta.get("kind"))
    if ref is None:
        return []
    mod, cls = ref.split(":")
    lines = getattr(importlib.import_module(mod), cls).card_lines(trace)
    return [ln for ln in lines[1:] if ln]


def write_viewer(trace, path: str | Path, theme: str = "light", max_mb: float = MAX_MB,
                 view: str = "input") -> Path:
    """Write the viewer page of ``trace`` to ``path`` atomically (an earlier file is replaced whole or not at
    all); checks that the written file is the page and within ``max_mb``. Returns the path."""
    path = Path(path)
    text = viewer_html(trace, theme=theme, max_mb=max_mb, view=view)
    size = len(text.encode("utf-8"))
    if size > max_mb * 1e6:
        raise GeomdlError(f"the viewer page would be {size / 1e6:.1f} MB, over the {max_mb:g} MB limit")
    return ViewerPath(write_page(path, text))


def write_page(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and check what landed in the temporary file before it replaces
    ``path``."""
    data = text.encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
        if tmp.stat().st_size != len(data) or tmp.read_bytes()[-7:] != data[-7:]:
            raise GeomdlError(f"{path}: the page was not written completely")
    return path


class ViewerPath(type(Path())):
    """The path of a written viewer page (what ``render(..., fmt="html")`` returns): a notebook displays the
    page inline."""

    def _repr_html_(self) -> str:
        return Viewer(self.read_text(encoding="utf-8"))._repr_html_()


class Viewer:
    """A viewer page that a notebook displays inline (an ``<iframe srcdoc>``); ``save(path)`` writes it."""

    def __init__(self, page: str, height: int = 900):
        self.page = page
        self.height = int(height)

    def _repr_html_(self) -> str:
        return (f'<iframe srcdoc="{html.escape(self.page, quote=True)}" style="width:100%;height:{self.height}px;'
                f'border:0" sandbox="allow-scripts"></iframe>')

    def save(self, path: str | Path) -> Path:
        return write_page(Path(path), self.page)

    def __len__(self) -> int:
        return len(self.page.encode("utf-8"))


def show(trace, theme: str = "light", max_mb: float = MAX_MB, view: str = "input", height: int = 900) -> Viewer:
    """The viewer of ``trace`` (a :class:`~geomdl.io.trace.Trace` or the path of a trace or of a written page)
    for a notebook: the last expression of a cell displays it inline."""
    if isinstance(trace, str | Path):
        p = Path(trace)
        if p.suffix == ".html":
            return Viewer(p.read_text(encoding="utf-8"), height)
        from geomdl.io import trace as trace_mod  # noqa: PLC0415

        trace = trace_mod.load(p)
    return Viewer(viewer_html(trace, theme=theme, max_mb=max_mb, view=view), height)


def trace_html(trace) -> str:
    """The inline HTML of a trace in a notebook (what IPython shows for a :class:`~geomdl.io.trace.Trace`)."""
    return show(trace)._repr_html_()


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>__CSS__</style>
<script>__PLOTLYJS__</script>
</head>
<body style="background:__BG__;color:__FG__">
<header><h1 id="title"></h1><div id="lines"></div></header>
<div id="controls">
  <button id="play" type="button" title="play / pause (space)">&#9654; play</button>
  <button id="prev" type="button" title="previous snapshot">&#9664;</button>
  <input id="slider" type="range" min="0" max="0" step="1" value="0" aria-label="snapshot">
  <button id="next" type="button" title="next snapshot">&#9654;</button>
  <span id="stepinfo"></span>
  <label>speed <select id="speed"><option value="2">2/s</option><option value="6">6/s</option>
    <option value="12" selected>12/s</option><option value="24">24/s</option></select></label>
  <label><input id="link" type="checkbox" checked> link rotation</label>
  <button id="theme" type="button">dark theme</button>
</div>
<div id="toggles"><span id="classes"></span><span id="panelsel"></span>
  <label id="conelabel"><input id="cones" type="checkbox" checked> cones</label></div>
<main><div id="grid"></div><aside id="readout"></aside></main>
<footer id="notes"></footer>
<script type="application/json" id="geomdl-data">__DATA__</script>
<script>__SCRIPT__</script>
</body></html>
"""

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;padding:10px 16px}
h1{font-size:19px;font-weight:600;margin:4px 0 4px}
#lines{font-size:13px;opacity:.75;line-height:1.45}
#controls,#toggles{display:flex;flex-wrap:wrap;align-items:center;gap:10px;margin:8px 0;font-size:14px}
#slider{flex:1 1 260px;min-width:160px}
button,select{font:inherit;padding:2px 8px;border-radius:4px;border:1px solid #888;background:transparent;color:inherit}
#toggles label{cursor:pointer;white-space:nowrap;margin-right:8px}
main{display:flex;gap:14px;align-items:flex-start}
#grid{flex:1;min-width:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:10px}
.panel{border:1px solid var(--panel);border-radius:4px;padding:4px}
.ptitle{font-size:14px;font-weight:600;padding:2px 6px}
.plot{height:360px}
aside{flex:0 0 340px;width:340px;overflow-x:auto;font-size:13px;font-variant-numeric:tabular-nums;white-space:nowrap}
td.full{font-weight:700}
aside table{border-collapse:collapse;width:100%;margin:6px 0}
aside td,aside th{padding:1px 4px;text-align:right;border-bottom:1px solid var(--panel)}
aside td:first-child,aside th:first-child{text-align:left}
#stepinfo{font-variant-numeric:tabular-nums;min-width:16em}
footer{font-size:12px;opacity:.7;margin-top:10px;line-height:1.5}
.big{font-size:16px;font-weight:600}
"""

_SCRIPT = r"""
(function(){
"use strict";
const D = JSON.parse(document.getElementById('geomdl-data').textContent);
const QMAX = 32767, MISSING = -32768;
const S = D.steps.length, Q = D.Q, n = D.labels.length;
function bytes(b64){const s=atob(b64),u=new Uint8Array(s.length);
  for(let i=0;i<s.length;i++)u[i]=s.charCodeAt(i);
  return u.buffer;}
function i16(b64){return new Int16Array(bytes(b64));}
function decoder(p, b64){const q=i16(b64),c=p.center,h=p.half;
  return function(o){const v=q[o];return v===MISSING?null:c[o%3]+v/QMAX*h;};}
const byClass = [];
for(let j=0;j<Q;j++) byClass.push([]);
D.labels.forEach((j,i)=>byClass[j].push(i));
const state = {s:0, playing:null, theme:D.theme, classes:new Array(Q).fill(true), cones:true, link:true, busy:false};
const panels = D.panels.map(p=>{
  const o = {p:p, pos:decoder(p,p.pos)};
  if(p.k){o.k = p.kbytes===1 ? new Int8Array(bytes(p.k)) : new Int16Array(bytes(p.k));}
  if(p.base){o.base = decoder(p,p.base); o.rays = decoder(p,p.rays);}
  if(p.trails){o.trails = decoder(p,p.trails);}
  return o;});
const layerPanels = panels.filter(o=>o.k);
function fmt(v){ if(v===null||v===undefined) return 'n/a'; const a=Math.abs(v);
  return (a!==0&&(a<1e-3||a>=1e5)) ? v.toExponential(3) : (+v.toPrecision(5)).toString(); }
function th(){return D.themes[state.theme];}
function color(o){return o.p.color==='fg' ? th().fg : o.p.color;}

// -- per-snapshot data of one panel ---------------------------------------------------------------
function collapsedAt(o, s, i){ return o.k[s*n+i] === o.p.width; }
function everCollapsed(s, i){ for(const o of layerPanels){ if(collapsedAt(o,s,i)) return true; } return false; }
function classData(o, s, j){
  const si = o.p.S === 1 ? 0 : s, I = byClass[j], x=[],y=[],z=[],sym=[],txt=[],cd=[];
  for(const i of I){
    const b = (si*n+i)*3;
    x.push(o.pos(b)); y.push(o.pos(b+1)); z.push(o.pos(b+2)); cd.push(D.index[i]);
    if(o.k){ const k=o.k[s*n+i]; txt.push(k+' of '+o.p.width+(k===o.p.width?' (collapsed)':''));
             sym.push(k===o.p.width?'diamond':'circle'); }
    else if(layerPanels.length && o.p.key==='input'){
      const ks = layerPanels.map(q=>q.k[s*n+i]); const c = everCollapsed(s,i);
      txt.push(ks.join(', ')+(c?' (collapsed)':'')); sym.push(c?'diamond':'circle'); }
    else { txt.push(''); sym.push('circle'); }
  }
  return {x:x,y:y,z:z,sym:sym,txt:txt,cd:cd};
}
function coneData(o, s){
  const b = s*3, off = o.p.baseOff[s];
  const base = {x:[o.base(b)], y:[o.base(b+1)], z:[o.base(b+2)], sym: off ? 'x' : 'diamond-open'};
  const R = o.p.R, x=[],y=[],z=[];
  if(!off){ for(let r=0;r<R;r++){ const a=((s*R+r)*2)*3;
    const p0=[o.rays(a),o.rays(a+1),o.rays(a+2)], p1=[o.rays(a+3),o.rays(a+4),o.rays(a+5)];
    if(p0[0]===null||p1[0]===null) continue;
    x.push(p0[0],p1[0],null); y.push(p0[1],p1[1],null); z.push(p0[2],p1[2],null);} }
  return {base:base, rays:{x:x,y:y,z:z}};
}
function baseHover(o, s){
  return 'base point p<sub>'+o.p.layer+'</sub>'+(o.p.baseOff[s]?' (off view: pinned)':'')+'<extra></extra>'; }
function hoverFor(o, j){
  const cls = 'class '+(j+1);
  if(o.k) return 'point %{customdata}<br>'+cls+'<br>k = %{text}<extra>'+o.p.key+'</extra>';
  if(o.p.key==='input' && layerPanels.length)
    return 'point %{customdata}<br>'+cls+'<br>k per layer: %{text}<extra>input</extra>';
  return 'point %{customdata}<br>'+cls+'<extra>'+o.p.key+'</extra>';
}

// -- figures -------------------------------------------------------------------------------------
function axis(o, d){ const t=th(), c=o.p.center[d], h=o.p.half;
  return {range:[c-h,c+h], title:{text:o.p.axes[d]}, color:t.muted, gridcolor:t.panel, zerolinecolor:t.muted,
          showbackground:false, showspikes:false}; }
function layout(o){ const t=th();
  return {paper_bgcolor:t.bg, plot_bgcolor:t.bg, font:{color:t.fg, size:12}, showlegend:false, uirevision:'keep',
          margin:{l:0,r:0,t:0,b:0}, hoverlabel:{namelength:-1},
          scene:{xaxis:axis(o,0), yaxis:axis(o,1), zaxis:axis(o,2), aspectmode:'cube', bgcolor:t.bg,
                 camera:{eye:{x:1.5,y:-1.5,z:0.9}}}}; }
function traces(o){
  const out = [], s = state.s;
  for(let j=0;j<Q;j++){ const d = classData(o,s,j);
    out.push({type:'scatter3d', mode:'markers', name:'class '+(j+1), x:d.x, y:d.y, z:d.z, customdata:d.cd,
              text:d.txt, hovertemplate:hoverFor(o,j), visible:state.classes[j],
              marker:{size:3, color:D.palette[j % D.palette.length], symbol:d.sym, opacity:0.9}}); }
  o.coneIdx = [];
  if(o.base){ const c = coneData(o,s);
    o.coneIdx.push(out.length);
    out.push({type:'scatter3d', mode:'markers', name:'base point', x:c.base.x, y:c.base.y, z:c.base.z,
              hovertemplate:baseHover(o,s), visible:state.cones,
              marker:{size:7, color:o.p.color, symbol:c.base.sym, line:{width:2, color:o.p.color}}});
    o.coneIdx.push(out.length);
    out.push({type:'scatter3d', mode:'lines', name:'edge rays', x:c.rays.x, y:c.rays.y, z:c.rays.z,
              hoverinfo:'skip', line:{width:4, color:o.p.color}, visible:state.cones}); }
  o.extraIdx = [];
  for(const e of o.p.extra){ o.extraIdx.push(out.length);
    out.push({type:'scatter3d', mode:'markers', name:e.name, x:e.pos.map(r=>r[0]), y:e.pos.map(r=>r[1]),
              z:e.pos.map(r=>r[2]), hovertemplate:e.name+'<extra></extra>',
              marker:{size:6, color:th().fg, symbol:'circle-open', opacity:0.8}}); }
  if(o.trails){ const T=o.p.T, x=[],y=[],z=[], cols=[];
    for(let i=0;i<n;i++){
      for(let t=0;t<T;t++){ const b=(i*T+t)*3; x.push(o.trails(b)); y.push(o.trails(b+1)); z.push(o.trails(b+2)); }
      x.push(null); y.push(null); z.push(null); }
    o.trailIdx = out.length;
    out.push({type:'scatter3d', mode:'lines', name:'trajectories', x:x, y:y, z:z, hoverinfo:'skip',
              line:{width:1, color:o.p.color}, opacity:0.35}); }
  return out;
}

const grid = document.getElementById('grid');
const config = {displaylogo:false, responsive:true, modeBarButtonsToRemove:['resetCameraLastSave3d']};
function syncCameras(src, cam){
  if(!state.link || state.busy) return;
  state.busy = true;
  Promise.all(panels.filter(o=>o.div!==src && o.div.offsetParent!==null)
    .map(o=>Plotly.relayout(o.div, {'scene.camera':cam}))).finally(()=>{state.busy=false;});
}
panels.forEach((o,pi)=>{
  const box = document.createElement('div'); box.className='panel'; box.id='panel-'+o.p.key;
  const t = document.createElement('div'); t.className='ptitle'; t.innerHTML=o.p.title;
  t.style.color = color(o); o.titleEl = t;
  const d = document.createElement('div'); d.className='plot'; d.id='plot-'+o.p.key;
  box.appendChild(t); box.appendChild(d); grid.appendChild(box); o.box=box; o.div=d;
});
const ready = Promise.all(panels.map(o=>Plotly.newPlot(o.div, traces(o), layout(o), config).then(()=>{
  o.div.on('plotly_relayout', ev=>{ if(ev && ev['scene.camera']) syncCameras(o.div, ev['scene.camera']); });
})));

// -- readouts ------------------------------------------------------------------------------------
const readout = document.getElementById('readout');
function readoutHTML(s){
  let h = '<div class="big">'+D.stepName+' '+D.steps[s]+' / '+D.steps[S-1]+'</div>';
  h += '<div class="big">loss '+fmt(D.loss[s])+'</div>';
  h += '<div>snapshot '+(D.snapshots[s]+1)+' of '+D.sTotal+'</div>';
  const names = Object.keys(D.scalars);
  if(names.length){ h += '<table>';
    for(const k of names) h += '<tr><td>'+k+'</td><td>'+fmt(D.scalars[k][s])+'</td></tr>';
    h += '</table>'; }
  if(D.counts){
    h += '<div>collapsed points per layer and class (bold: all of it)</div><table id="counts"><tr><th>class</th>';
    for(let j=0;j<Q;j++) h += '<th style="color:'+D.palette[j%D.palette.length]+'">'+(j+1)+'</th>';
    h += '<th>all</th></tr><tr><td>of</td>';
    D.sizes.forEach(m=>{ h += '<td>'+m+'</td>'; });
    h += '<td>'+D.sizes.reduce((a,b)=>a+b,0)+'</td></tr>';
    D.counts[s].forEach((row,l)=>{ const tot=row.reduce((a,b)=>a+b,0);
      h += '<tr><td style="color:'+D.palette[l%D.palette.length]+'">layer '+(l+1)+'</td>';
      row.forEach((c,j)=>{ h += '<td'+(c===D.sizes[j]&&c>0?' class="full"':'')+'>'+c+'</td>'; });
      h += '<td>'+tot+'</td></tr>'; });
    h += '</table>'; }
  return h;
}
const slider = document.getElementById('slider'), stepinfo = document.getElementById('stepinfo');
slider.max = String(S-1);
let pending = null, drawing = false;
function draw(s){
  state.s = s; slider.value = String(s);
  stepinfo.textContent = D.stepName+' '+D.steps[s]+'  ·  loss '+fmt(D.loss[s]);
  readout.innerHTML = readoutHTML(s);
  document.body.dataset.snapshot = String(s);
  if(drawing){ pending = s; return; }
  drawing = true;
  ready.then(()=>Promise.all(panels.map(o=>{
    if(o.p.S===1 && !o.k && !(o.p.key==='input' && layerPanels.length) && !o.base) return null;
    const upd = {x:[],y:[],z:[],text:[],'marker.symbol':[]}, idx=[];
    for(let j=0;j<Q;j++){ const d=classData(o,s,j); upd.x.push(d.x); upd.y.push(d.y); upd.z.push(d.z);
      upd.text.push(d.txt); upd['marker.symbol'].push(d.sym); idx.push(j); }
    const p1 = Plotly.restyle(o.div, upd, idx);
    if(!o.base) return p1;
    const c = coneData(o,s);
    return p1.then(()=>Plotly.restyle(o.div, {x:[c.base.x, c.rays.x], y:[c.base.y, c.rays.y], z:[c.base.z, c.rays.z],
      'marker.symbol':[c.base.sym, 'circle'],
      hovertemplate:[baseHover(o,s), null]}, o.coneIdx));
  }))).then(()=>{ drawing=false; document.body.dataset.drawn = String(s);
    if(pending!==null){ const q=pending; pending=null; draw(q); } });
}
slider.addEventListener('input', ()=>draw(parseInt(slider.value,10)));
document.getElementById('prev').onclick = ()=>draw(Math.max(0,state.s-1));
document.getElementById('next').onclick = ()=>draw(Math.min(S-1,state.s+1));
const play = document.getElementById('play');
function stop(){ if(state.playing){ clearInterval(state.playing); state.playing=null; } play.innerHTML='&#9654; play'; }
function start(){ stop(); if(state.s>=S-1) draw(0);
  const fps = parseInt(document.getElementById('speed').value,10);
  state.playing = setInterval(()=>{ if(drawing) return; if(state.s>=S-1){ stop(); return; } draw(state.s+1); },
                              1000/fps);
  play.innerHTML='&#10074;&#10074; pause'; }
play.onclick = ()=>{ state.playing ? stop() : start(); };
document.getElementById('speed').onchange = ()=>{ if(state.playing) start(); };
document.addEventListener('keydown', ev=>{ if(ev.target===slider) return;
  if(ev.key===' '){ ev.preventDefault(); play.click(); }
  if(ev.key==='ArrowRight') draw(Math.min(S-1,state.s+1));
  if(ev.key==='ArrowLeft') draw(Math.max(0,state.s-1)); });
document.getElementById('link').onchange = ev=>{ state.link = ev.target.checked; };

// -- toggles -------------------------------------------------------------------------------------
const cl = document.getElementById('classes');
cl.innerHTML = 'classes: ';
for(let j=0;j<Q;j++){ const lab=document.createElement('label');
  lab.innerHTML='<input type="checkbox" id="class-'+(j+1)+'" checked> <span style="color:'
    +D.palette[j%D.palette.length]+'">&#9679;</span> '+(j+1);
  cl.appendChild(lab);
  lab.querySelector('input').onchange = ev=>{ state.classes[j]=ev.target.checked;
    ready.then(()=>Promise.all(panels.map(o=>Plotly.restyle(o.div, {visible:ev.target.checked}, [j])))); }; }
const ps = document.getElementById('panelsel');
ps.innerHTML = 'panels: ';
panels.forEach(o=>{ const lab=document.createElement('label');
  lab.innerHTML='<input type="checkbox" id="show-'+o.p.key+'" checked> '+o.p.title.replace(/:.*/, '');
  ps.appendChild(lab);
  lab.querySelector('input').onchange = ev=>{ o.box.style.display = ev.target.checked ? '' : 'none';
    panels.forEach(q=>{ if(q.box.style.display!=='none') Plotly.Plots.resize(q.div); }); }; });
const cones = document.getElementById('cones');
if(!layerPanels.length) document.getElementById('conelabel').style.display='none';
cones.onchange = ()=>{ state.cones = cones.checked;
  ready.then(()=>Promise.all(panels.filter(o=>o.base)
    .map(o=>Plotly.restyle(o.div, {visible:state.cones}, o.coneIdx.concat(o.extraIdx))))); };

// -- theme ---------------------------------------------------------------------------------------
const themeBtn = document.getElementById('theme');
function applyTheme(){ const t=th();
  document.body.style.background=t.bg; document.body.style.color=t.fg;
  document.documentElement.style.setProperty('--panel', t.panel);
  themeBtn.textContent = state.theme==='light' ? 'dark theme' : 'light theme';
  document.body.dataset.theme = state.theme;
  return ready.then(()=>Promise.all(panels.map(o=>{ o.titleEl.style.color=color(o);
    const L = layout(o); delete L.scene.camera;
    const upd = {paper_bgcolor:t.bg, plot_bgcolor:t.bg, 'font.color':t.fg, 'scene.bgcolor':t.bg};
    for(const a of ['xaxis','yaxis','zaxis']){ upd['scene.'+a+'.color']=t.muted; upd['scene.'+a+'.gridcolor']=t.panel;
      upd['scene.'+a+'.zerolinecolor']=t.muted; }
    const p = Plotly.relayout(o.div, upd);
    const extra = o.extraIdx.length ? Plotly.restyle(o.div, {'marker.color':t.fg}, o.extraIdx) : null;
    return Promise.all([p, extra]); }))); }
themeBtn.onclick = ()=>{ state.theme = state.theme==='light' ? 'dark' : 'light'; applyTheme(); };

// -- header, notes -------------------------------------------------------------------------------
document.getElementById('title').innerHTML = D.title;
document.getElementById('lines').innerHTML = D.lines.join('<br>');
document.getElementById('notes').innerHTML = 'Shown: '+D.notes.join('. ')
  +'. Diamonds: collapsed points (k = M<sub>l</sub>; on the input, collapsed at some layer); drag to rotate, '
  +'scroll to zoom; hover a point for its index in the trace, class and truncation state k. Made by geomdl '
  +D.version+' with plotly.js '+D.plotly+' (inlined: the page works offline).';
applyTheme();
draw(0);
ready.then(()=>{ document.body.dataset.ready = '1'; });
window.geomdlViewer = {draw:draw, state:state, panels:panels, data:D};
})();
"""
