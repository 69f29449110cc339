/* Stock check scan page: post each scanned number by fetch, show the answer, update the counts and
 * keep the focus in the box so a keyboard-wedge scanner can go on. Progressive enhancement: without
 * JavaScript the form posts and the page comes back as usual. A static file: the CSP forbids inline
 * scripts. */
(function () {
  "use strict";

  var form = document.getElementById("scan-form");
  if (!form) { return; }
  var input = form.querySelector("input[name=code]");
  var message = document.getElementById("scan-message");
  var recent = document.getElementById("recent");
  var busy = false;

  function refocus() {
    if (input) { input.focus(); input.select(); }
  }

  function show(text, kind) {
    if (!message) { return; }
    message.className = "flash flash-" + kind;
    message.textContent = text;
  }

  function setCount(name, value) {
    var cell = document.getElementById("count-" + name);
    if (cell && typeof value === "number") { cell.textContent = String(value); }
  }

  function remember(number, title) {
    if (!recent || !number) { return; }
    var empty = recent.querySelector("li.muted");
    if (empty) { recent.removeChild(empty); }
    var item = document.createElement("li");
    var strong = document.createElement("strong");
    strong.textContent = number;
    item.appendChild(strong);
    item.appendChild(document.createTextNode(" " + (title || "")));
    recent.insertBefore(item, recent.firstChild);
    while (recent.children.length > 10) { recent.removeChild(recent.lastChild); }
  }

  refocus();
  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) { return; }
    event.preventDefault();
    if (busy || !input || !input.value.trim()) { refocus(); return; }
    busy = true;
    window.fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json();
    }).then(function (body) {
      var kind = body.outcome === "found" ? "success" : (body.counted ? "info" : "error");
      show(body.message || "", kind);
      if (body.counts) {
        setCount("expected", body.counts.expected);
        setCount("found", body.counts.found);
        setCount("missing", body.counts.missing);
        setCount("away", body.counts.away);
      }
      if (body.outcome === "found" || body.outcome === "away") { remember(body.accession_number, body.title); }
      input.value = "";
    }).catch(function () {
      form.submit();  // the server answers with the whole page instead
    }).then(function () {
      busy = false;
      refocus();
    });
  });
}());
