// The traffic view: frames (JSON) from /ws/traffic/ become bars per pod, figures and three uPlot charts.
// The server pushes a frame when a second closes and four times a second in between.
(function () {
  "use strict";

  // Versions named after a colour (blue/green deployments) get that colour; others a stable palette slot.
  var NAMED = { blue: "#1f6feb", green: "#2da44e", red: "#cf222e", orange: "#d1700f", yellow: "#bf8700", purple: "#8250df" };
  var PALETTE = ["#1f6feb", "#2da44e", "#d1700f", "#8250df", "#cf222e", "#0a9396", "#bf8700", "#e85aad"];

  function colourOf(version) {
    if (NAMED[version]) return NAMED[version];
    var h = 0;
    for (var i = 0; i < version.length; i++) h = (h * 31 + version.charCodeAt(i)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }

  function pct(x, digits) {
    return x === null || x === undefined ? "–" : (100 * x).toFixed(digits === undefined ? 1 : digits) + " %";
  }
  function ms(x) {
    return x === null || x === undefined ? "–" : (x < 10 ? x.toFixed(2) : x.toFixed(1)) + " ms";
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  var live = null;
  var charts = {};
  var shareVersions = "";
  var frames = 0;

  function themeColours() {
    var style = getComputedStyle(document.body);
    return { text: style.color, grid: "rgba(128,128,128,0.25)" };
  }

  function axes(yLabel, y2) {
    var c = themeColours();
    var list = [
      { stroke: c.text, grid: { stroke: c.grid } },
      { stroke: c.text, grid: { stroke: c.grid }, label: yLabel, size: 60 },
    ];
    if (y2) list.push({ scale: y2.scale, side: 1, stroke: c.text, grid: { show: false }, label: y2.label, size: 60 });
    return list;
  }

  function chartWidth(id) {
    var node = document.getElementById(id);
    return Math.max(280, node.clientWidth || 600);
  }

  function makeChart(id, opts, data) {
    var node = document.getElementById(id);
    if (charts[id]) charts[id].destroy();
    node.textContent = "";
    opts.width = chartWidth(id);
    opts.height = 180;
    opts.legend = { show: true, live: false };
    charts[id] = new uPlot(opts, data, node);
    return charts[id];
  }

  function renderShare(series) {
    var versions = Object.keys(series.shares).sort();
    // Stacked: draw the running sums from the top down, each filled to zero, so each band shows one version.
    var sums = [];
    var acc = series.t.map(function () { return null; });
    versions.forEach(function (v) {
      acc = series.t.map(function (_t, i) {
        var s = series.shares[v][i];
        if (s === null) return acc[i];
        return (acc[i] || 0) + s;
      });
      sums.push(acc);
    });
    var data = [series.t].concat(sums.slice().reverse());
    var key = versions.join("\u0000");
    if (!charts["chart-share"] || key !== shareVersions) {
      shareVersions = key;
      var s = [{}].concat(versions.slice().reverse().map(function (v) {
        var c = colourOf(v);
        return { label: v, stroke: c, fill: c + "cc", width: 1, points: { show: false } };
      }));
      makeChart("chart-share", { series: s, scales: { y: { range: [0, 1] } }, axes: axes("share") }, data);
    } else {
      charts["chart-share"].setData(data);
    }
  }

  function renderRate(series) {
    var data = [series.t, series.rps, series.err.map(function (e) { return e === null ? null : 100 * e; })];
    if (!charts["chart-rate"]) {
      makeChart("chart-rate", {
        series: [{}, { label: "req/s", stroke: "#1f6feb", width: 2, points: { show: false } },
          { label: "errors %", stroke: "#cf222e", width: 2, scale: "%", points: { show: false } }],
        scales: { "%": { range: [0, 100] } },
        axes: axes("req/s", { scale: "%", label: "errors %" }),
      }, data);
    } else charts["chart-rate"].setData(data);
  }

  function renderLatency(series) {
    var data = [series.t, series.p50, series.p99];
    if (!charts["chart-latency"]) {
      makeChart("chart-latency", {
        series: [{}, { label: "p50", stroke: "#2da44e", width: 2, points: { show: false } },
          { label: "p99", stroke: "#d1700f", width: 2, points: { show: false } }],
        axes: axes("ms"),
      }, data);
    } else charts["chart-latency"].setData(data);
  }

  function renderBars(groups) {
    var box = document.getElementById("traffic-bars");
    if (!groups.length) {
      box.replaceChildren(el("p", { class: "empty" }, "No answers in the last 10 s."));
      return;
    }
    var nodes = groups.map(function (g) {
      var group = el("div", { class: "version-group", "data-version": g.version, style: "--sy-series:" + colourOf(g.version) });
      var head = el("p", { class: "version-head" });
      head.append(el("span", { class: "swatch", "aria-hidden": "true" }), el("strong", {}, g.version),
        el("span", { class: "value" }, " " + pct(g.share) + " · " + g.answers + " answers · " + g.pods.length + " pod" + (g.pods.length === 1 ? "" : "s")));
      var list = el("ul", { class: "pod-bars" });
      g.pods.forEach(function (p) {
        var item = el("li", { class: "pod-bar", "data-pod": p.name, "data-share": p.share.toFixed(4), "data-answers": String(p.answers) });
        var bar = el("span", { class: "bar", role: "img", "aria-label": p.name + " " + pct(p.share) });
        var fill = el("span", { class: "fill" });
        fill.style.width = (100 * p.share).toFixed(1) + "%";
        bar.append(fill);
        item.append(el("span", { class: "pod-name" }, p.name), bar, el("span", { class: "value" }, pct(p.share) + " (" + p.answers + ")"));
        list.append(item);
      });
      group.append(head, list);
      return group;
    });
    box.replaceChildren.apply(box, nodes);
  }

  function render(frame) {
    frames += 1;
    live.dataset.frames = String(frames);
    var state = document.getElementById("probe-state");
    if (!frame.exists) {
      state.textContent = "This probe does not exist (any more).";
      return;
    }
    var st = frame.status;
    state.textContent = (st.running ? "Running at " + st.rate + " req/s" : "Stopped") + " · " + st.sent + " sent, " +
      st.answered + " answered, " + st.failed + " failed" + (st.skipped ? ", " + st.skipped + " skipped" : "") + " · live";
    live.dataset.running = st.running ? "true" : "false";
    var last = frame.last;
    document.getElementById("fig-rps").textContent = last.rps === null ? "–" : last.rps.toFixed(0);
    document.getElementById("fig-errors").textContent = pct(last.error_rate, 2);
    document.getElementById("fig-p50").textContent = ms(last.p50_ms);
    document.getElementById("fig-p99").textContent = ms(last.p99_ms);
    var open = frame.open;
    document.getElementById("fig-open").textContent = open ? open.requests + " requests in " + open.elapsed.toFixed(2) + " s" : "–";
    var codes = Object.keys(frame.recent.errors_by_code);
    document.getElementById("traffic-errors").textContent = codes.length
      ? "Errors in the last 10 s: " + codes.map(function (c) { return c + " × " + frame.recent.errors_by_code[c]; }).join(", ")
      : "";
    renderBars(frame.bars);
    if (typeof uPlot !== "undefined") {
      renderShare(frame.series);
      renderRate(frame.series);
      renderLatency(frame.series);
    }
  }

  var retry = 0;
  function connect() {
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    var socket = new WebSocket(proto + "//" + window.location.host + live.dataset.wsUrl);
    socket.onopen = function () { retry = 0; };
    socket.onmessage = function (event) { render(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      if (event.code === 4401) {
        window.location.assign(live.dataset.loginUrl + "?next=" + encodeURIComponent(window.location.pathname + window.location.search));
        return;
      }
      document.getElementById("probe-state").textContent = "Disconnected; reconnecting…";
      retry += 1;
      window.setTimeout(connect, Math.min(5000, 250 * Math.pow(2, retry)));
    };
  }

  // Show only the target fields that the chosen path and balancing use (all are shown without script).
  function syncTargetFields() {
    var form = document.getElementById("probe-start");
    if (!form) return;
    var kind = form.elements.kind.value;
    var balancing = form.elements.balancing.value;
    form.querySelectorAll("[data-for-kind]").forEach(function (node) {
      node.hidden = node.dataset.forKind !== kind;
    });
    form.querySelectorAll("[data-for-balancing]").forEach(function (node) {
      node.hidden = kind !== "grpc" || node.dataset.forBalancing.split(" ").indexOf(balancing) < 0;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("probe-start");
    if (form) {
      form.addEventListener("change", syncTargetFields);
      syncTargetFields();
    }
    live = document.getElementById("traffic-live");
    if (!live || !live.dataset.wsUrl) return;
    connect();
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(function () {
        Object.keys(charts).forEach(function (id) { charts[id].setSize({ width: chartWidth(id), height: 180 }); });
      }, 150);
    });
    // Axis colours follow the theme when it changes under an open page.
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
      Object.keys(charts).forEach(function (id) { charts[id].destroy(); delete charts[id]; });
      shareVersions = "";
    });
  });
})();
