/* The needs page: the weights chart with its intervals (canvas[data-needs-chart]) and the running total of
   the points typed in the answer form. No inline script (the Content-Security-Policy forbids it). */
(function () {
  "use strict";

  // Mean points per need as bars, each 95% interval as a thin dark bar over its bar (data: labels, means,
  // intervals [[low, high] or null], unit).
  function intervals(data) {
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "95% interval", data: data.intervals, backgroundColor: "#0f2942", barPercentage: 0.12, grouped: false, order: 0 },
          { label: "Mean " + data.unit, data: data.means, backgroundColor: "#93b4e6", borderRadius: 3, grouped: false, order: 1 }
        ]
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: true },
          tooltip: {
            callbacks: {
              label: function (item) {
                var raw = item.raw;
                if (Array.isArray(raw)) return "95% interval " + raw[0] + " to " + raw[1];
                return "Mean " + raw + " " + data.unit;
              }
            }
          }
        },
        scales: { x: { ticks: { color: "#374151" } }, y: { beginAtZero: true, ticks: { color: "#374151" } } }
      }
    };
  }

  function drawCharts() {
    if (typeof window.Chart === "undefined") return;
    document.querySelectorAll("canvas[data-needs-chart]").forEach(function (canvas) {
      if (canvas.getAttribute("data-drawn")) return;
      var data = JSON.parse(canvas.getAttribute("data-needs-chart"));
      if (data.kind !== "intervals") return;
      new window.Chart(canvas, intervals(data));
      canvas.setAttribute("data-drawn", "true");
    });
  }

  function updateTotal(form) {
    var output = form.querySelector("[data-points-total]");
    if (!output) return;
    var total = 0;
    form.querySelectorAll("input[data-points]").forEach(function (field) {
      var value = parseFloat(String(field.value).replace(",", "."));
      if (!isNaN(value)) total += value;
    });
    total = Math.round(total * 100) / 100;
    var left = Math.round((100 - total) * 100) / 100;
    var text = "Total: " + total + " of 100";
    if (left > 0) text += " (" + left + " left)";
    else if (left < 0) text += " (" + (-left) + " too many)";
    output.textContent = text;
    output.classList.toggle("points-total--ok", left === 0);
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts();
    document.querySelectorAll("[data-points-form]").forEach(updateTotal);
  });

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.hasAttribute || !field.hasAttribute("data-points")) return;
    var form = field.closest("[data-points-form]");
    if (form) updateTotal(form);
  });
})();
