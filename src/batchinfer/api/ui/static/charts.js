/* Plain SVG charts for the dashboard: line charts over time, markers, bars. No dependencies. */
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, parent) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }
  function extent(values) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) if (v !== null && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (lo === Infinity) return [0, 1];
    if (lo === hi) return [lo - 1, hi + 1];
    return [lo, hi];
  }
  /* A line chart. xs: numbers (e.g. epoch ms or indexes); series: [{values, cls, label}];
     markers: [{x, y, cls, title, data}] drawn on top; onMarker(data) when one is clicked. */
  function line(opts) {
    const W = opts.width || 760, H = opts.height || 160, L = 48, R = 10, T = 14, B = 22;
    const root = svg("svg", {viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "chart " + (opts.cls || "")});
    if (opts.title) { const t = svg("text", {x: L, y: 11}, root); t.textContent = opts.title; }
    const xs = opts.xs;
    const [x0, x1] = extent(xs.length ? [xs[0], xs[xs.length - 1]] : [0, 1]);
    const all = opts.series.flatMap(s => s.values);
    let [y0, y1] = opts.yRange || extent(all);
    const sx = x => L + (x - x0) / ((x1 - x0) || 1) * (W - L - R);
    const sy = y => T + (1 - (y - y0) / ((y1 - y0) || 1)) * (H - T - B);
    svg("line", {x1: L, y1: H - B, x2: W - R, y2: H - B, class: "axis"}, root);
    svg("line", {x1: L, y1: T, x2: L, y2: H - B, class: "axis"}, root);
    for (const [v, y] of [[y1, T + 4], [y0, H - B]]) {
      const t = svg("text", {x: L - 4, y, "text-anchor": "end"}, root);
      t.textContent = Math.abs(v) >= 1000 ? v.toExponential(1) : +v.toFixed(2);
    }
    if (opts.xLabel) for (const [x, anchor] of [[x0, "start"], [x1, "end"]]) {
      const t = svg("text", {x: sx(x), y: H - 6, "text-anchor": anchor}, root);
      t.textContent = opts.xLabel(x);
    }
    for (const s of opts.series) {
      let d = "", pen = false;
      s.values.forEach((v, i) => {
        if (v === null || !Number.isFinite(v)) { pen = false; return; }
        d += (pen ? "L" : "M") + sx(xs[i]).toFixed(1) + "," + sy(v).toFixed(1);
        pen = true;
      });
      const path = svg("path", {d, class: s.cls || "series"}, root);
      if (s.label) path.setAttribute("data-label", s.label);
    }
    for (const m of opts.markers || []) {
      const c = svg("circle", {cx: sx(m.x).toFixed(1), cy: sy(m.y).toFixed(1), r: m.r || 3.2, class: m.cls || "anomaly-marker"}, root);
      if (m.title) { const t = svg("title", {}, c); t.textContent = m.title; }
      if (opts.onMarker) c.addEventListener("click", () => opts.onMarker(m.data));
    }
    return root;
  }
  /* Horizontal bars: items [{label, value}] scaled to the largest. */
  function bars(items, opts) {
    const W = (opts && opts.width) || 420, row = 18, L = 130;
    const H = items.length * row + 8;
    const root = svg("svg", {viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "chart bars"});
    const max = Math.max(1e-12, ...items.map(i => i.value));
    items.forEach((item, i) => {
      const y = 4 + i * row;
      const t = svg("text", {x: L - 6, y: y + 12, "text-anchor": "end"}, root);
      t.textContent = item.label;
      svg("rect", {x: L, y: y + 2, height: row - 6, width: Math.max(1, (W - L - 60) * item.value / max), class: "bar"}, root);
      const v = svg("text", {x: W - 54, y: y + 12}, root);
      v.textContent = item.value.toFixed(3);
    });
    return root;
  }
  return {svg, line, bars};
})();
