/**
 * The review UI's script and stylesheet, served from /review/static/ (same origin, so the CSP
 * allows them without 'unsafe-inline'). Plain browser JS: no framework, no build step.
 */
export const REVIEW_JS = `"use strict";
(function () {
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.getAttribute("content") : "";
  function api(method, path, body) {
    var init = { method: method, credentials: "same-origin", headers: { "x-csrf-token": csrf } };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch("/review/api" + path, init);
  }
  function errorText(res) {
    return res.json().then(function (j) { return j.message || res.statusText; }, function () { return res.statusText; });
  }

  // Media: hidden until a deliberate click with a stated reason; blurred and greyscale per settings.
  document.querySelectorAll(".media").forEach(function (box) {
    var btn = box.querySelector(".reveal");
    var err = box.querySelector(".media-error");
    btn.addEventListener("click", function () {
      var reason = box.querySelector(".reveal-reason").value.trim();
      if (reason.length < 3) { err.textContent = "State why you open this file (3+ characters)."; return; }
      btn.disabled = true;
      var path = "/cases/" + encodeURIComponent(box.dataset.case) + "/files/" + encodeURIComponent(box.dataset.file) +
        "?reason=" + encodeURIComponent(reason);
      api("GET", path).then(function (res) {
        if (!res.ok) return errorText(res).then(function (t) { throw new Error(t); });
        return res.blob();
      }).then(function (blob) {
        var img = document.createElement("img");
        img.alt = "evidence file " + box.dataset.file;
        img.className = "evidence";
        if (box.dataset.blur === "1") img.classList.add("blurred");
        if (box.dataset.grey === "1") img.classList.add("grey");
        img.src = URL.createObjectURL(blob);
        box.querySelector(".hidden-media").replaceWith(img);
        box.querySelector(".toggle-blur").hidden = false;
        box.querySelector(".toggle-grey").hidden = false;
        btn.hidden = true;
        err.textContent = "";
      }).catch(function (e) { err.textContent = "Could not reveal: " + e.message; btn.disabled = false; });
    });
    box.querySelector(".toggle-blur").addEventListener("click", function () {
      var img = box.querySelector("img.evidence"); if (img) img.classList.toggle("blurred");
    });
    box.querySelector(".toggle-grey").addEventListener("click", function () {
      var img = box.querySelector("img.evidence"); if (img) img.classList.toggle("grey");
    });
  });

  var decide = document.querySelector(".decide");
  if (decide) {
    var out = decide.querySelector(".decision-result");
    var caseId = decide.dataset.case;
    // The history as the server now has it (text nodes only: nothing from the API becomes markup).
    function refreshHistory() {
      var list = document.getElementById("case-history");
      if (!list) return Promise.resolve();
      return api("GET", "/cases/" + encodeURIComponent(caseId)).then(function (res) {
        if (!res.ok) return;
        return res.json().then(function (detail) {
          var items = (detail.events || []).map(function (e) {
            var li = document.createElement("li");
            li.textContent = e.at + " " + e.actor + ": " + e.action + " (" + e.from + " \u2192 " + e.to + ") " + e.reason;
            return li;
          });
          list.replaceChildren.apply(list, items);
        });
      });
    }
    function done(res) {
      if (res.ok) return res.json().then(function (j) {
        var st = j.to || j.state || "";
        out.textContent = "Done" + (st ? ": " + st : "") + ".";
        out.classList.add("ok");
        var badge = document.getElementById("case-status");
        if (j.to && badge) {
          badge.textContent = j.to;
          badge.className = "status s-" + j.to;
        }
        return refreshHistory();
      });
      return errorText(res).then(function (t) {
        out.textContent = "Refused: " + t;
        out.classList.remove("ok");
      });
    }
    decide.querySelectorAll("button[data-action]").forEach(function (b) {
      b.addEventListener("click", function () {
        // Allow-list on dismiss: the files and lists the admin ticked (files × lists that hit them).
        function picked(cls, key) {
          return Array.prototype.map.call(decide.querySelectorAll("." + cls + ":checked"), function (c) { return c.dataset[key]; });
        }
        var files = picked("allow-file", "file").map(Number);
        var body = { action: b.dataset.action, reason: decide.querySelector(".decision-reason").value };
        if (b.dataset.action === "dismiss" && files.length > 0) {
          body.allowList = { files: files, lists: picked("allow-list-id", "list"), cancelsExact: picked("allow-exact", "list") };
        }
        api("POST", "/cases/" + encodeURIComponent(caseId) + "/decision", body).then(done);
      });
    });
    decide.querySelector(".report").addEventListener("click", function () {
      api("POST", "/cases/" + encodeURIComponent(caseId) + "/report").then(done);
    });
  }

  var settings = document.querySelector(".settings");
  if (settings) {
    settings.querySelector(".save-settings").addEventListener("click", function () {
      api("PUT", "/settings", {
        blur: settings.querySelector(".set-blur").checked,
        greyscale: settings.querySelector(".set-grey").checked
      }).then(function (res) { settings.querySelector(".save-settings").textContent = res.ok ? "Saved" : "Failed"; });
    });
  }
})();
`;

export const REVIEW_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f6f4}
header{display:flex;justify-content:space-between;padding:.6em 1em;background:#23313f;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:1em 1.5em;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0;background:#fff}
th,td{border:1px solid #d8d8d4;padding:.3em .5em;text-align:left;vertical-align:top}
.mono{font-family:ui-monospace,monospace;word-break:break-all}
.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;margin-bottom:.5em}
.status{padding:.1em .4em;border-radius:3px;background:#e4e4e0}
.s-new{background:#fde8b0}.s-in_review{background:#cfe3fb}.s-confirmed{background:#f7c6c0}
.s-dismissed{background:#d9ead3}.s-reported{background:#d6c8f0}.s-appealed{background:#fbd3e9}
.flag{color:#a40000;font-weight:600}
section{margin:1em 0;padding:.5em 1em;background:#fff;border:1px solid #e0e0dc}
.hidden-media{width:240px;height:160px;display:flex;align-items:center;justify-content:center;background:#ccc;color:#333}
img.evidence{max-width:320px;max-height:320px;display:block;margin:.5em 0}
img.blurred{filter:blur(18px)}img.grey{filter:grayscale(1)}img.blurred.grey{filter:blur(18px) grayscale(1)}
.media-error,.decision-result{color:#7a0000}
.decision-result.ok{color:#1d5e20}
button{margin:.2em .3em .2em 0}button.danger{background:#a40000;color:#fff;border:1px solid #700}
textarea{width:100%;max-width:600px}
`;
