/* Scan box of a rotation batch page: a short beep for a copy added, a buzz for a refusal, and the
 * focus kept in the box so a keyboard-wedge scanner can go on. Progressive enhancement: without
 * JavaScript the form posts and redirects as usual. Loaded as a static file (the CSP forbids inline
 * scripts). */
(function () {
  "use strict";

  var form = document.getElementById("scan-form");
  if (!form) { return; }
  var input = form.querySelector("input[name=code]");
  var status = document.getElementById("scan-status");
  var audio = null;
  var FLAG = "rotation-scan-sounded";

  function context() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return null; }
    if (!audio) {
      try { audio = new Ctx(); } catch (e) { return null; }
    }
    if (audio.state === "suspended" && audio.resume) { audio.resume(); }
    return audio;
  }

  function tone(ok) {
    var ctx = context();
    if (!ctx) { return; }
    try {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      var now = ctx.currentTime;
      var length = ok ? 0.09 : 0.35;
      osc.type = ok ? "sine" : "square";
      osc.frequency.setValueAtTime(ok ? 1320 : 150, now);
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(ok ? 0.25 : 0.18, now + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + length);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(now);
      osc.stop(now + length + 0.02);
    } catch (e) { /* no sound: the page still shows the result */ }
  }

  function refocus() {
    if (input) { input.focus(); input.select(); }
  }

  function show(messages, ok) {
    if (!status) { return; }
    status.className = "flash " + (ok ? "flash-success" : "flash-error");
    status.textContent = (messages || []).join(" ");
  }

  // A result shown after a normal (non-JavaScript) post and redirect: sound it once if allowed.
  var shown = form.getAttribute("data-scan-result");
  var already = false;
  try { already = window.sessionStorage.getItem(FLAG) === "1"; window.sessionStorage.removeItem(FLAG); } catch (e) { /* private mode */ }
  if (shown && !already) { tone(shown === "ok"); }
  refocus();

  form.addEventListener("submit", function (event) {
    if (!window.fetch || !window.FormData) { return; }
    event.preventDefault();
    context(); // created inside the key press or click, so the browser lets it play
    var data = new FormData(form);
    window.fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      var body = result.body || {};
      var ok = result.ok && body.ok !== false && body.outcome !== "error";
      tone(ok);
      if (ok && body.url) {
        try { window.sessionStorage.setItem(FLAG, "1"); } catch (e) { /* private mode */ }
        window.setTimeout(function () { window.location.assign(body.url); }, 120);
        return;
      }
      show(body.messages || (body.message ? [body.message] : []), ok);
      refocus();
    }).catch(function () {
      form.submit(); // no JSON (a session that expired, a proxy page): fall back to the plain post
    });
  });

  // Keys typed while nothing else has the focus go to the scan box (a scanner does not click first).
  document.addEventListener("keydown", function (event) {
    var active = document.activeElement;
    if (!input || event.ctrlKey || event.metaKey || event.altKey || event.key.length !== 1) { return; }
    if (active && active !== document.body && active.tagName !== "A" && active.tagName !== "BUTTON") { return; }
    input.focus();
  });
})();
