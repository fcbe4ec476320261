// pacer's only script, with no build step. The pages work without it.
//
// The new-job form shows only the params of the kind chosen (without the
// script, all of them show, each under its kind's name).
(function () {
  "use strict";
  var form = document.getElementById("new-job");
  if (!form) { return; }
  var kind = form.querySelector("select[name=kind]");
  function show() {
    var sets = form.querySelectorAll("fieldset.kind-params");
    for (var i = 0; i < sets.length; i++) {
      sets[i].hidden = sets[i].getAttribute("data-kind") !== kind.value;
    }
  }
  kind.addEventListener("change", show);
  show();
}());

// Live updates: listens to the page's event stream (body[data-events]) and
// updates the progress, rate, ETA and quota state in place. Without the
// script, a <noscript> refresh reloads the page instead.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-events");
  if (!url || !window.EventSource) { return; }
  function set(el, text) { if (el && el.textContent !== text) { el.textContent = text; } }
  function bar(el, j) { if (el) { el.max = Math.max(j.max, 1); el.value = j.value; el.textContent = j.pct; } }
  function jobPage(j) {
    bar(document.getElementById("progress"), j);
    set(document.getElementById("progress-pct"), j.pct);
    set(document.getElementById("items-done"), j.done);
    set(document.getElementById("items-total"), j.total);
    set(document.getElementById("items-failed"), j.failed);
    set(document.getElementById("requests"), j.requests);
    set(document.getElementById("rate"), j.rate);
    set(document.getElementById("eta"), j.eta);
    var st = document.getElementById("job-state");
    if (st) { set(st, j.state); st.className = "state state-" + j.state; }
    var w = document.getElementById("rate-limited");
    if (w) { set(w, j.waiting); w.hidden = !j.waiting; }
    var q = document.getElementById("quota");
    if (q) { set(q, "Quota " + j.quota); q.hidden = !j.quota; }
  }
  function row(j) {
    var tr = document.querySelector('tr[data-job-id="' + j.id + '"]');
    if (!tr) { return; }
    function f(name) { return tr.querySelector('[data-live="' + name + '"]'); }
    bar(f("progress"), j);
    set(f("pct"), j.pct);
    set(f("state"), j.state);
    set(f("waiting"), j.waiting);
    set(f("quota"), j.quota);
    set(f("items"), j.done + " / " + j.total);
    set(f("failed"), j.failed);
    set(f("requests"), j.requests);
    set(f("rate"), j.rate + "/s");
    set(f("eta"), j.eta);
  }
  var es = new EventSource(url);
  var finished = false;
  es.addEventListener("job", function (e) {
    var j = JSON.parse(e.data);
    if (document.getElementById("progress")) { jobPage(j); } else { row(j); }
    finished = finished || (j.finished && document.getElementById("progress"));
  });
  es.addEventListener("end", function () {
    es.close();
    // The job finished: offer a reload for its results and its buttons
    // (never reload by itself: the reader may be reading).
    var note = document.getElementById("live-end");
    if (finished && note) { note.hidden = false; }
  });
}());
