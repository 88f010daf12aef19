// The job page with JavaScript: poll the job's JSON status instead of reloading the whole page
// (the <noscript> meta refresh does that without JavaScript); reload once the job is finished,
// so that the page shows the download link or the reason of the failure.
(function () {
  "use strict";
  var POLL_MS = 1500;

  function start() {
    var job = document.querySelector("[data-job-status-url]");
    if (!job) return;
    var state = job.getAttribute("data-job-status");
    if (state !== "queued" && state !== "running") return;
    var url = job.getAttribute("data-job-status-url");
    var bar = job.querySelector("progress");
    var text = job.querySelector("[data-job-text]");

    function show(status) {
      if (status.finished) {
        window.location.reload();
        return false;
      }
      if (bar && status.percent !== null) {
        bar.max = 100;
        bar.value = status.percent;
      }
      if (text && status.status === "running" && status.rows_total) {
        var nf = new Intl.NumberFormat(document.documentElement.lang || "fr");
        text.textContent = text.getAttribute("data-running-template")
          ? text.getAttribute("data-running-template")
              .replace("{percent}", status.percent)
              .replace("{done}", nf.format(status.rows_done))
              .replace("{total}", nf.format(status.rows_total))
          : status.percent + " %";
      }
      return true;
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (status === null || show(status)) window.setTimeout(poll, POLL_MS);
        })
        .catch(function () { window.setTimeout(poll, POLL_MS * 2); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
