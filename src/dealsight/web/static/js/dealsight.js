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

  function drawCharts(root) {
    if (typeof window.Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (charts.has(canvas)) return;
      var data = JSON.parse(canvas.getAttribute("data-chart"));
      var chart = new window.Chart(canvas, {
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
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
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
      });
      charts.set(canvas, chart);
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
