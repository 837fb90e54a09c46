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
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // Wellness: files revealed in this browser session (sessionStorage: gone when the tab closes).
  var EXPOSURE = "hg_exposure";
  function exposure() { return Number(sessionStorage.getItem(EXPOSURE) || "0"); }
  function showExposure() { var b = document.getElementById("exposure-count"); if (b) b.textContent = String(exposure()); }
  function countReveal() {
    var n = exposure() + 1;
    sessionStorage.setItem(EXPOSURE, String(n));
    showExposure();
    var prompt = document.getElementById("break-prompt");
    var every = prompt ? Number(prompt.dataset.breakAfter || "0") : 0;
    if (prompt && every > 0 && n % every === 0) {
      $(".break-count", prompt).textContent = String(n);
      prompt.hidden = false;
      $(".break-ok", prompt).focus();
    }
  }
  showExposure();
  var breakOk = $("#break-prompt .break-ok");
  if (breakOk) breakOk.addEventListener("click", function () { document.getElementById("break-prompt").hidden = true; });

  // Re-blur: a revealed file goes back under blur when it leaves the screen or the tab is hidden.
  var reblur = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (!e.isIntersecting && e.target.dataset.blurDefault === "1") e.target.classList.add("blurred");
    });
  }) : null;
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) $$("img.evidence").forEach(function (img) { if (img.dataset.blurDefault === "1") img.classList.add("blurred"); });
  });

  function refreshHistory(caseId) {
    var list = document.getElementById("case-history");
    if (!list) return Promise.resolve();
    return api("GET", "/cases/" + encodeURIComponent(caseId)).then(function (res) {
      if (!res.ok) return;
      return res.json().then(function (detail) {
        var items = (detail.events || []).map(function (e) {
          var li = document.createElement("li");
          li.className = "ev-" + e.action;
          li.textContent = e.action === "reveal"
            ? e.at + " " + e.actor + ": revealed " + e.from.replace("-", " ") + " \u2014 " + e.reason
            : e.at + " " + e.actor + ": " + e.action + " (" + e.from + " \u2192 " + e.to + ") " + e.reason;
          return li;
        });
        list.replaceChildren.apply(list, items);
      });
    });
  }

  // Media: hidden until a deliberate click with a stated reason; blurred and greyscale per settings.
  $$(".media").forEach(function (box) {
    var btn = $(".reveal", box);
    var err = $(".media-error", box);
    btn.addEventListener("click", function () {
      var reason = $(".reveal-reason", box).value.trim();
      if (reason.length < 3) { err.textContent = "State why you open this file (3+ characters)."; $(".reveal-reason", box).focus(); return; }
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
        img.dataset.blurDefault = box.dataset.blur;
        // CSSOM, not a style attribute: the CSP forbids inline styles.
        img.style.setProperty("--blur", (box.dataset.blurPx || "18") + "px");
        if (box.dataset.blur === "1") img.classList.add("blurred");
        if (box.dataset.grey === "1") img.classList.add("grey");
        img.src = URL.createObjectURL(blob);
        $(".hidden-media", box).replaceWith(img);
        if (reblur) reblur.observe(img);
        $(".toggle-blur", box).hidden = false;
        $(".toggle-grey", box).hidden = false;
        btn.hidden = true;
        err.textContent = "";
        countReveal();
        return refreshHistory(box.dataset.case);
      }).catch(function (e) { err.textContent = "Could not reveal: " + e.message; btn.disabled = false; });
    });
    $(".toggle-blur", box).addEventListener("click", function () {
      var img = $("img.evidence", box); if (img) img.classList.toggle("blurred");
    });
    $(".toggle-grey", box).addEventListener("click", function () {
      var img = $("img.evidence", box); if (img) img.classList.toggle("grey");
    });
  });

  // Claiming: opening an open case takes it; someone else's claim is shown, not fought over.
  var claim = $(".claim[data-case]");
  if (claim) {
    api("POST", "/cases/" + encodeURIComponent(claim.dataset.case) + "/claim").then(function (res) {
      if (res.ok) return res.json().then(function (c) {
        claim.textContent = "You have this case until " + c.expiresAt + " (others skip it).";
        claim.className = "claim mine";
      });
      return errorText(res).then(function (t) { claim.textContent = t; claim.className = "claim other"; });
    });
  }
  function takeNext(after, dir, out) {
    var body = {};
    if (after) { body.after = after; body.dir = dir || "next"; }
    api("POST", "/next", body).then(function (res) {
      if (res.ok) return res.json().then(function (c) { location.href = "/review/cases/" + encodeURIComponent(c.caseId); });
      return errorText(res).then(function (t) { if (out) out.textContent = t; });
    });
  }
  var nextBtn = $(".take-next");
  if (nextBtn) nextBtn.addEventListener("click", function () { takeNext(null, null, $(".next-result")); });

  var decide = $(".decide");
  var caseId = decide ? decide.dataset.case : null;
  function setButtons(status, reportState) {
    if (!decide) return;
    var open = status === "new" || status === "in_review" || status === "appealed";
    $$("button[data-action]", decide).forEach(function (b) {
      b.disabled = b.dataset.action === "start" ? status !== "new" : !open;
    });
    var rp = $(".report-preview", decide);
    if (rp) rp.disabled = !(status === "confirmed" && reportState !== "finished");
  }
  if (decide) {
    var out = $(".decision-result", decide);
    function showStatus(to) {
      var badge = document.getElementById("case-status");
      if (to && badge) { badge.textContent = to; badge.className = "status s-" + to; }
    }
    function done(res) {
      if (res.ok) return res.json().then(function (j) {
        var st = j.to || j.state || "";
        out.textContent = "Done" + (st ? ": " + st : "") + ".";
        out.classList.add("ok");
        showStatus(j.to);
        if (j.to) setButtons(j.to);
        return refreshHistory(caseId);
      });
      return errorText(res).then(function (t) {
        out.textContent = "Refused: " + t;
        out.classList.remove("ok");
      });
    }
    $$("button[data-action]", decide).forEach(function (b) {
      b.addEventListener("click", function () {
        var reason = $(".decision-reason", decide);
        if (b.dataset.action !== "start" && !reason.value.trim()) {
          out.textContent = "Give a reason first."; out.classList.remove("ok"); reason.focus(); return;
        }
        // Allow-list on dismiss: the files and lists the admin ticked (files × lists that hit them).
        function picked(cls, key) {
          return Array.prototype.map.call(decide.querySelectorAll("." + cls + ":checked"), function (c) { return c.dataset[key]; });
        }
        var files = picked("allow-file", "file").map(Number);
        var body = { action: b.dataset.action, reason: reason.value };
        if (b.dataset.action === "dismiss" && files.length > 0) {
          body.allowList = { files: files, lists: picked("allow-list-id", "list"), cancelsExact: picked("allow-exact", "list") };
        }
        api("POST", "/cases/" + encodeURIComponent(caseId) + "/decision", body).then(done);
      });
    });

    // Reporting: preview (no side effect), explicit acknowledgement, then submit.
    var box = $(".report-box", decide);
    var submit = $(".report", decide);
    var ack = $(".report-ack", decide);
    $(".report-preview", decide).addEventListener("click", function () {
      api("GET", "/cases/" + encodeURIComponent(caseId) + "/report/preview").then(function (res) {
        if (!res.ok) return errorText(res).then(function (t) { out.textContent = "No preview: " + t; out.classList.remove("ok"); });
        return res.json().then(function (p) {
          var dl = document.createElement("dl");
          p.fields.concat([{ label: "Destination", value: p.kind + " " + p.destination }]).forEach(function (f) {
            var dt = document.createElement("dt"); dt.textContent = f.label;
            var dd = document.createElement("dd"); dd.textContent = f.value;
            dl.append(dt, dd);
          });
          p.files.forEach(function (f) {
            var dt = document.createElement("dt"); dt.textContent = "File " + f.index + " (" + (f.filename || "no name") + ")";
            var dd = document.createElement("dd");
            dd.textContent = "sha256 " + (f.sha256 || "?") + " · classification " + (f.industryClassification || "none") +
              " · viewed by us: " + (f.viewedByEsp ? "yes" : "no");
            dl.append(dt, dd);
          });
          $(".report-fields", box).replaceChildren(dl);
          $(".report-xml", box).textContent = p.xml || "(webhook: a JSON payload signed with REPORT_WEBHOOK_SECRET)";
          ack.checked = false; submit.disabled = true;
          box.hidden = false;
        });
      });
    });
    ack.addEventListener("change", function () { submit.disabled = !ack.checked; });
    $(".report-cancel", decide).addEventListener("click", function () { box.hidden = true; ack.checked = false; submit.disabled = true; });
    submit.addEventListener("click", function () {
      if (!ack.checked) return;
      submit.disabled = true;
      api("POST", "/cases/" + encodeURIComponent(caseId) + "/report").then(function (res) {
        if (!res.ok) { submit.disabled = false; return done(res); }
        return res.json().then(function (r) {
          out.textContent = "Reported" + (r.reportId ? ": " + r.reportId : "") + "."; out.classList.add("ok");
          var rs = document.getElementById("report-state");
          if (rs) { rs.textContent = (r.kind || "") + " " + (r.state || "finished") + " " + (r.reportId || ""); rs.parentElement.hidden = false; }
          showStatus("reported"); setButtons("reported", "finished");
          box.hidden = true;
          return refreshHistory(caseId);
        });
      });
    });
  }

  // Bulk: every open case with the filtered digest, with a count and a required reason.
  var bulk = $(".bulk");
  if (bulk) {
    $$("button[data-bulk]", bulk).forEach(function (b) {
      b.addEventListener("click", function () {
        var res = $(".bulk-result", bulk);
        var reason = $(".bulk-reason", bulk).value.trim();
        if (!reason) { res.textContent = "Give a reason first."; $(".bulk-reason", bulk).focus(); return; }
        var n = bulk.dataset.count;
        if (!window.confirm(b.dataset.bulk + " all " + n + " open case(s) with this digest?")) return;
        api("POST", "/bulk", { digest: bulk.dataset.digest, action: b.dataset.bulk, reason: reason }).then(function (r) {
          if (!r.ok) return errorText(r).then(function (t) { res.textContent = "Refused: " + t; });
          return r.json().then(function (j) {
            var ok = j.results.filter(function (x) { return x.ok; }).length;
            res.textContent = ok + " of " + j.results.length + " case(s) " + b.dataset.bulk + "ed" +
              (ok < j.results.length ? "; the others were refused (claimed by someone else, or changed meanwhile)" : "") + ".";
          });
        });
      });
    });
  }

  var settings = $(".settings");
  if (settings) {
    var px = $(".set-blur-px", settings);
    px.addEventListener("input", function () { $(".blur-px-out", settings).textContent = px.value; });
    $(".save-settings", settings).addEventListener("click", function () {
      api("PUT", "/settings", {
        blur: $(".set-blur", settings).checked,
        greyscale: $(".set-grey", settings).checked,
        blurPx: Number(px.value),
        breakAfter: Number($(".set-break-after", settings).value)
      }).then(function (res) { $(".save-settings", settings).textContent = res.ok ? "Saved" : "Failed"; });
    });
  }

  // Keyboard shortcuts (the page footer lists them; ? shows them all). Never while typing.
  var rows = $$("table.queue tbody tr[data-case]");
  var sel = -1;
  function select(i) {
    if (!rows.length) return;
    sel = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r, k) { r.classList.toggle("selected", k === sel); });
    rows[sel].scrollIntoView({ block: "nearest" });
  }
  function decideKey(action) {
    if (!decide) return;
    var b = $('button[data-action="' + action + '"]', decide);
    if (b && !b.disabled) b.click();
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) {
      if (ev.key === "Escape" && t.blur) t.blur();
      return;
    }
    var help = document.getElementById("shortcuts");
    var k = ev.key;
    if (k === "?") { help.hidden = !help.hidden; ev.preventDefault(); return; }
    if (k === "Escape") { help.hidden = true; return; }
    if (rows.length) {
      if (k === "j") return select(sel + 1);
      if (k === "k") return select(sel - 1);
      if ((k === "Enter" || k === "o") && sel >= 0) { location.href = rows[sel].querySelector("a").href; return; }
    }
    if (k === "n" && (nextBtn || decide)) return takeNext(null, null, $(".next-result") || $(".decision-result"));
    if (decide) {
      if (k === "j") return takeNext(caseId, "next", $(".decision-result"));
      if (k === "k") return takeNext(caseId, "prev", $(".decision-result"));
      if (k === "c") return decideKey("confirm");
      if (k === "d") return decideKey("dismiss");
      if (k === "e") return decideKey("escalate");
    }
    if (k === "u") { location.href = "/review"; return; }
    if (k === "b") { $$("img.evidence").forEach(function (img) { img.classList.toggle("blurred"); }); return; }
    if (k === "r") {
      var box = $$(".media").filter(function (m) { var b = $(".reveal", m); return b && !b.hidden; })[0];
      if (box) {
        var reason = $(".reveal-reason", box);
        if (reason.value.trim().length < 3) { reason.focus(); $(".media-error", box).textContent = "State why you open this file, then press r again (Esc leaves the field)."; ev.preventDefault(); }
        else $(".reveal", box).click();
      }
    }
  });
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
img.blurred{filter:blur(var(--blur,18px))}img.grey{filter:grayscale(1)}img.blurred.grey{filter:blur(var(--blur,18px)) grayscale(1)}
.media-error,.decision-result{color:#7a0000}
.decision-result.ok{color:#1d5e20}
button{margin:.2em .3em .2em 0}button.danger{background:#a40000;color:#fff;border:1px solid #700}
textarea{width:100%;max-width:600px}
.tabs{display:flex;flex-wrap:wrap;gap:.3em;margin:.5em 0}.tab{padding:.2em .6em;border:1px solid #ccc;border-radius:3px;text-decoration:none;color:#23313f;background:#fff}
.tab.current{background:#23313f;color:#fff}.pager{display:flex;gap:1em;margin:.4em 0}
tr.selected td{background:#fff6c8}.claimed,.claim.other{color:#8a4b00;font-weight:600}.claim.mine{color:#1d5e20}
footer.keys{padding:.6em 1.5em;color:#555;font-size:12px}kbd{border:1px solid #bbb;border-radius:3px;padding:0 .3em;background:#fff;font-family:inherit}
.overlay{position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;align-items:center;justify-content:center}
.overlay[hidden]{display:none}.overlay-box{background:#fff;padding:1em 1.5em;max-width:640px;border-radius:4px}
.exposure{margin-left:1em;font-size:12px}.signout{display:inline}.signout button{font-size:12px}
.report-xml{white-space:pre-wrap;max-height:320px;overflow:auto;background:#f3f3ef;padding:.5em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
button:disabled{opacity:.45;cursor:not-allowed}.signin{max-width:720px}.signin-error{color:#7a0000;font-weight:600}
`;
