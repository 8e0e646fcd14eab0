/* dealsight pages: charts from data attributes, small keyboard and focus helpers for htmx swaps.
   No inline script anywhere (the Content-Security-Policy forbids it); everything hooks in from here. */
(function () {
  "use strict";

  var charts = new WeakMap();

  function money(value, currency) {
    var symbol = { USD: "$", EUR: "\u20ac", GBP: "\u00a3" }[currency] || currency + " ";
    var abs = Math.abs(value);
    if (abs >= 1e6) return symbol + (value / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
    if (abs >= 1e3) return symbol + Math.round(value / 1e3) + "k";
    return symbol + Math.round(value);
  }

  var PALETTE = ["#2f5fb3", "#c2410c", "#15803d", "#7c3aed", "#64748b"];
  var AXIS = { ticks: { color: "#374151" } };

  // The amount-by-stage bar chart of the pipeline page (data: labels, amounts, counts, currency).
  function amountBars(data) {
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          label: "Amount (" + data.currency + ")",
          data: data.amounts,
          backgroundColor: "#2f5fb3",
          hoverBackgroundColor: "#1d3f7a",
          borderRadius: 3,
          maxBarThickness: 48
        }]
      },
      options: {
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (item) {
                var count = data.counts[item.dataIndex];
                return money(item.raw, data.currency) + " \u00b7 " + count + (count === 1 ? " deal" : " deals");
              }
            }
          }
        },
        scales: {
          x: { ticks: { color: "#374151" }, grid: { display: false } },
          y: { beginAtZero: true, ticks: { color: "#374151", callback: function (v) { return money(v, data.currency); } } }
        }
      }
    };
  }

  // Reliability: mean predicted probability against the observed win rate per bin, one line per method,
  // with the diagonal of perfect calibration (data: series [{label, points: [[x, y], ...]}]).
  function reliability(data) {
    var datasets = data.series.map(function (series, i) {
      return {
        label: series.label,
        data: series.points.map(function (p) { return { x: p[0], y: p[1] }; }),
        borderColor: PALETTE[i % PALETTE.length],
        backgroundColor: PALETTE[i % PALETTE.length],
        showLine: true,
        pointRadius: 3
      };
    });
    datasets.push({
      label: "Perfect calibration",
      data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
      borderColor: "#9ca3af",
      borderDash: [4, 4],
      pointRadius: 0,
      showLine: true
    });
    var percent = function (v) { return Math.round(v * 100) + "%"; };
    return {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        scales: {
          x: { min: 0, max: 1, title: { display: true, text: "Predicted chance to win" }, ticks: { callback: percent } },
          y: { min: 0, max: 1, title: { display: true, text: "Share actually won" }, ticks: { callback: percent } }
        }
      }
    };
  }

  // Bars of plain numbers, one or more series (data: labels, series [{label, values, color?}], horizontal,
  // integer: counts, so the value axis has whole-number ticks).
  var OUTCOME_COLORS = { "Won": "#15803d", "Lost": "#b91c1c", "No decision": "#b45309" };
  function bars(data) {
    var valueAxis = { ticks: { color: "#374151", precision: data.integer ? 0 : undefined }, beginAtZero: true };
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, i) {
          var color = series.color || OUTCOME_COLORS[series.label] || PALETTE[i % PALETTE.length];
          return { label: series.label, data: series.values, backgroundColor: color, borderRadius: 3 };
        })
      },
      options: {
        indexAxis: data.horizontal ? "y" : "x",
        plugins: { legend: { display: data.series.length > 1 } },
        scales: data.horizontal ? { x: valueAxis, y: AXIS } : { x: AXIS, y: valueAxis }
      }
    };
  }

  // A waterfall: floating bars from each step's start to its end (data: labels, steps [[from, to]], currency).
  function waterfall(data) {
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          label: "Amount (" + data.currency + ")",
          data: data.steps,
          backgroundColor: data.steps.map(function (s, i) {
            if (i === 0 || i === data.steps.length - 1) return "#2f5fb3";
            return s[1] >= s[0] ? "#15803d" : "#b91c1c";
          }),
          borderRadius: 2
        }]
      },
      options: {
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (item) { var s = item.raw; return money(s[1] - s[0], data.currency); } } }
        },
        scales: {
          x: AXIS,
          y: { ticks: { color: "#374151", callback: function (v) { return money(v, data.currency); } } }
        }
      }
    };
  }

  // Lines over dates (data: labels, series [{label, values, color?, fill?: "-1" to shade down to the series
  // before, dashed?}], currency: money ticks when given). The forecast's fan chart and backtest chart.
  function lines(data) {
    return {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, i) {
          var color = series.color || PALETTE[i % PALETTE.length];
          return {
            label: series.label, data: series.values, borderColor: color, pointRadius: 2,
            backgroundColor: series.fill ? "rgba(147, 180, 230, 0.35)" : color,
            fill: series.fill || false, borderDash: series.dashed ? [6, 4] : []
          };
        })
      },
      options: {
        plugins: { legend: { display: true } },
        scales: {
          x: AXIS,
          y: { ticks: { color: "#374151", callback: function (v) { return data.currency ? money(v, data.currency) : v; } } }
        }
      }
    };
  }

  var KINDS = { amounts: amountBars, reliability: reliability, bars: bars, waterfall: waterfall, lines: lines };

  function drawCharts(root) {
    if (typeof window.Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (charts.has(canvas)) return;
      var data = JSON.parse(canvas.getAttribute("data-chart"));
      var config = (KINDS[data.kind] || amountBars)(data);
      config.options.responsive = true;
      config.options.maintainAspectRatio = false;
      config.options.animation = false;
      charts.set(canvas, new window.Chart(canvas, config));
    });
  }

  function destroyCharts(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var chart = charts.get(canvas);
      if (chart) { chart.destroy(); charts.delete(canvas); }
    });
  }

  function focusMarked() {
    var target = document.querySelector("[data-autofocus]");
    if (target) {
      target.removeAttribute("data-autofocus");
      target.focus();
    }
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (target) destroyCharts(target);
  });

  document.addEventListener("htmx:afterSettle", function () {
    drawCharts(document);
    focusMarked();
  });

  // Leave empty filters out of the request, so a shared URL holds only what was chosen.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "filters" || event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    var empty = [];
    params.forEach(function (value, key) { if (value === "") empty.push(key); });
    empty.forEach(function (key) { params.delete(key); });
  });

  // Typing a close date means a custom period.
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.hasAttribute || !field.hasAttribute("data-period-custom")) return;
    var period = document.getElementById("close");
    if (period && period.value !== "custom") period.value = "custom";
  });

  // Escape in an answer being edited cancels the edit.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var form = event.target.closest && event.target.closest("[data-escape-cancels]");
    if (!form) return;
    var cancel = form.querySelector("[data-cancel]");
    if (cancel) { event.preventDefault(); cancel.click(); }
  });
})();
