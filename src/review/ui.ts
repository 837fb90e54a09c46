/** Server-rendered pages of the review UI (behaviour in static.ts; no inline script or style). */

import type { Principal } from "../auth/roles.ts";
import type { MatchedFile, MatchMessage } from "../cases/messages.ts";
import type { CaseDetail, CaseQuery, CaseSummary } from "../cases/store.ts";
import { CASE_STATUSES } from "../cases/workflow.ts";
import { html, type Safe } from "./html.ts";
import type { ReviewerSettings } from "./settings.ts";
import type { UnscannedRecord } from "./unscanned.ts";

export function layout(title: string, me: Principal, csrf: string, body: Safe): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${csrf}">
<title>${title} · hashgate review</title>
<link rel="stylesheet" href="/review/static/review.css">
<script src="/review/static/review.js" defer></script>
</head><body>
<header><a href="/review" class="brand">hashgate review</a><a href="/review/unscanned">Unscanned uploads</a><a href="/review/stats">Stats</a><span class="me">${me.id} (${me.role})</span></header>
<main>${body}</main>
</body></html>`.html;
}

function option(value: string, label: string, selected: string | undefined): Safe {
  return value === (selected ?? "")
    ? html`<option value="${value}" selected>${label}</option>`
    : html`<option value="${value}">${label}</option>`;
}

export function queuePage(
  me: Principal,
  csrf: string,
  q: CaseQuery,
  cases: CaseSummary[],
  total: number,
): string {
  const rows = cases.map(
    (c) => html`<tr class="${c.escalated ? "escalated" : ""}">
<td><a href="/review/cases/${c.id}">${c.id}</a></td><td>${c.createdAt}</td>
<td><span class="status s-${c.status}">${c.status}</span>${c.escalated ? html` <span class="flag">escalated</span>` : ""}</td>
<td>${c.listIds.join(", ")}</td><td>${c.kinds.join(", ")}</td><td>${c.fileCount}</td></tr>`,
  );
  const body = html`<h1>Queue</h1>
<form class="filters" method="get" action="/review">
<label>Status <select name="status">${option("", "any", q.status)}${CASE_STATUSES.map((s) => option(s, s, q.status))}</select></label>
<label>List <input name="list" value="${q.listId ?? ""}" size="12"></label>
<label>Match <select name="kind">${option("", "any", q.kind)}${option("exact", "exact", q.kind)}${option("pdq", "PDQ", q.kind)}</select></label>
<label>From <input type="date" name="from" value="${q.from ?? ""}"></label>
<label>To <input type="date" name="to" value="${q.to ?? ""}"></label>
<label>Sort <select name="sort">${option("created", "created", q.sort)}${option("updated", "updated", q.sort)}</select></label>
<label>Order <select name="dir">${option("desc", "newest first", q.dir)}${option("asc", "oldest first", q.dir)}</select></label>
<button type="submit">Filter</button></form>
<p class="count">${total} case(s)</p>
<table class="queue"><thead><tr><th>Case</th><th>Created</th><th>Status</th><th>Lists</th><th>Match</th><th>Files</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="6">No cases.</td></tr>`}</tbody></table>`;
  return layout("Queue", me, csrf, body);
}

function fileSection(caseId: string, f: MatchedFile, s: ReviewerSettings, canReveal: boolean): Safe {
  const digests = Object.entries(f.digests).map(
    ([a, d]) => html`<tr><th>${a}</th><td class="mono">${d}</td></tr>`,
  );
  const matches = f.matches.map(
    (m) => html`<tr><td>${m.listId}</td><td>${m.kind}</td><td>${m.algo ?? ""}</td>
<td>${m.distance ?? ""}</td><td>${m.quality ?? ""}</td><td>${m.category ?? ""}</td><td>${m.action}</td></tr>`,
  );
  const reveal = canReveal
    ? html`<div class="media" data-case="${caseId}" data-file="${f.index}" data-blur="${s.blur ? "1" : "0"}" data-grey="${s.greyscale ? "1" : "0"}">
<div class="hidden-media">Media hidden.</div>
<label>Reason for opening <input class="reveal-reason" maxlength="500" placeholder="e.g. confirm match"></label>
<button type="button" class="reveal">Reveal file ${f.index}</button>
<button type="button" class="toggle-blur" hidden>Toggle blur</button>
<button type="button" class="toggle-grey" hidden>Toggle greyscale</button>
<p class="media-error" role="alert"></p></div>`
    : html`<p>Media: reviewer role needed.</p>`;
  return html`<section class="file"><h3>File ${f.index}: ${f.filename ?? "(no name)"}</h3>
<p>Field ${f.field} · declared ${f.declaredType ?? "none"} · detected ${f.sniffedType} · ${f.size} bytes
${f.pdq ? html` · PDQ quality ${f.pdq.quality}` : ""}</p>
${f.imageError ? html`<p class="image-error">Held for review: the image could not be hashed (${f.imageError}); no list matched it.</p>` : ""}
<table class="kv">${digests}${f.pdq ? html`<tr><th>pdq</th><td class="mono">${f.pdq.hash}</td></tr>` : ""}</table>
<table><thead><tr><th>List</th><th>Kind</th><th>Algo</th><th>PDQ distance</th><th>Quality</th><th>Category</th><th>Action</th></tr></thead>
<tbody>${matches}</tbody></table>${reveal}</section>`;
}

/** What the case does not show or hold, said plainly (issue 10's limits). */
function limitNotes(m: MatchMessage): Safe {
  const notes: Safe[] = [];
  if (m.omitted)
    notes.push(
      html`<li>${m.omitted.files} more file(s) are not listed here and ${m.omitted.truncatedStrings} name(s) are cut short; the complete record is ${m.omitted.full ?? "in R2"}.</li>`,
    );
  if (m.notJudged)
    notes.push(
      html`<li>${m.notJudged.count} file(s) were not judged once the upload was certain to be blocked (files ${m.notJudged.indices.join(", ")}).</li>`,
    );
  if (m.evidenceNotKept)
    notes.push(
      html`<li>The bytes of ${m.evidenceNotKept.count} matched file(s) were not kept (evidence cap; files ${m.evidenceNotKept.indices.join(", ")}); their digests are in the complete record.</li>`,
    );
  return notes.length ? html`<ul class="limits">${notes}</ul>` : html``;
}

/**
 * The dismiss flow's allow-list choice (admin only): which files, which lists, and for which lists
 * the entries also cancel exact hits. A file with an exact hit is the listed file itself: it is
 * not ticked by default, and its exact hit stands unless "cancel exact hits" is ticked too.
 */
function allowPicker(files: MatchedFile[]): Safe {
  const lists = [...new Set(files.flatMap((f) => f.matches.map((h) => h.listId)))].sort();
  const fileBoxes = files
    .filter((f) => f.matches.length > 0)
    .map((f) => {
      const exact = f.matches.some((h) => h.kind === "exact");
      const kinds = [...new Set(f.matches.map((h) => h.kind))].join("/");
      return html`<label><input type="checkbox" class="allow-file" data-file="${f.index}"${exact ? "" : html` checked`}> file ${f.index} (${kinds})</label> `;
    });
  const listBoxes = lists.map(
    (l) => html`<label><input type="checkbox" class="allow-list-id" data-list="${l}" checked> ${l}</label> `,
  );
  const exactBoxes = lists.map(
    (l) =>
      html`<label><input type="checkbox" class="allow-exact" data-list="${l}"> cancel exact hits of ${l}</label> `,
  );
  return html`<fieldset class="allow"><legend>Allow-list on dismiss (admin): ticked files, for ticked lists</legend>
<p>Files: ${fileBoxes}</p><p>Lists: ${listBoxes}</p><p>Override: ${exactBoxes}</p></fieldset>`;
}

export function casePage(me: Principal, csrf: string, c: CaseDetail, s: ReviewerSettings): string {
  const canDecide = me.role !== "viewer";
  const m = c.message;
  const identity = Object.entries(c.identity).map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`);
  const decisions = canDecide
    ? html`<section class="decide" data-case="${c.id}"><h2>Decision</h2>
<label>Reason <textarea class="decision-reason" maxlength="2000" rows="2"></textarea></label>
${me.role === "admin" && m ? allowPicker(m.files) : ""}
<div class="buttons">
<button type="button" data-action="start">Start review</button>
<button type="button" data-action="confirm" class="danger">Confirm</button>
<button type="button" data-action="dismiss">Dismiss (false positive)</button>
<button type="button" data-action="escalate">Escalate</button>
<button type="button" class="report">Report</button></div>
<p class="decision-result" role="status"></p></section>
<section class="settings"><h2>My media settings</h2>
<label><input type="checkbox" class="set-blur"${s.blur ? html` checked` : ""}> blur</label>
<label><input type="checkbox" class="set-grey"${s.greyscale ? html` checked` : ""}> greyscale</label>
<button type="button" class="save-settings">Save</button></section>`
    : "";
  const body = html`<p><a href="/review">← queue</a></p>
<h1>Case <span class="mono">${c.id}</span></h1>
<p>Status <span class="status s-${c.status}" id="case-status">${c.status}</span>${c.escalated ? html` <span class="flag">escalated</span>` : ""}
· ${c.verdict} · created ${c.createdAt} · lists ${c.listIds.join(", ")}${c.purged ? html` · <strong>purged</strong>` : ""}</p>
${c.report ? html`<p>Report: ${c.report.kind} ${c.report.state} ${c.report.reportId ?? ""}</p>` : ""}
<section><h2>Uploader</h2><table class="kv">
<tr><th>IP</th><td>${c.uploaderIp ?? "unknown"}</td></tr>${identity}
<tr><th>User agent</th><td>${m?.request.userAgent ?? ""}</td></tr>
<tr><th>Request</th><td>${m ? `${m.request.method} ${m.request.host}${m.request.path}` : ""}</td></tr></table>
<h3>Other cases of this uploader</h3>
<ul>${c.related.length ? c.related.map((r) => html`<li><a href="/review/cases/${r.id}">${r.id}</a> ${r.status} (${r.createdAt}, same ${r.by})</li>`) : html`<li>none</li>`}</ul></section>
<section><h2>Files</h2>${m ? limitNotes(m) : ""}${m ? m.files.map((f) => fileSection(c.id, f, s, canDecide)) : html`<p>Data purged.</p>`}</section>
${decisions}
<section><h2>History</h2><ol id="case-history">${c.events.map((e) => html`<li>${e.at} ${e.actor}: ${e.action} (${e.from} → ${e.to}) ${e.reason}</li>`)}</ol>
${c.appeals.length ? html`<h3>Appeals</h3><ol>${c.appeals.map((a) => html`<li>${a.at}: ${a.complaint} — ${a.outcome ?? "open"}</li>`)}</ol>` : ""}</section>`;
  return layout(`Case ${c.id}`, me, csrf, body);
}

/**
 * Uploads forwarded (or held) without a full scan, newest first, with what the gate knew of each
 * file: reviewers see what the lists could not judge. No media: the bytes were not kept.
 */
export function unscannedPage(me: Principal, csrf: string, rows: UnscannedRecord[]): string {
  const fileRows = (r: UnscannedRecord) =>
    r.files.map(
      (f) => html`<tr><td>${f.index}</td><td>${f.filename ?? "(no name)"}</td><td>${f.sniffedType}</td>
<td>${f.declaredType ?? ""}</td><td>${f.size}</td><td>${f.reason}</td>
<td class="mono">${Object.entries(f.digests)
        .map(([a, d]) => `${a}:${d}`)
        .join(" ")}</td></tr>`,
    );
  const items = rows.map(
    (r) => html`<section class="unscanned"><h3>${r.at} · ${r.code} · ${r.fileCount} file(s)</h3>
<p>${r.request.method} ${r.request.host}${r.request.path} · IP ${r.request.ip ?? "unknown"}</p>
<p>${r.reason}</p>
${r.files.length ? html`<table><thead><tr><th>#</th><th>Name</th><th>Detected</th><th>Declared</th><th>Bytes</th><th>Reason</th><th>Digests</th></tr></thead><tbody>${fileRows(r)}</tbody></table>` : ""}</section>`,
  );
  const body = html`<p><a href="/review">← queue</a></p><h1>Unscanned uploads</h1>
<p class="count">${rows.length} most recent</p>${items.length ? items : html`<p>None.</p>`}`;
  return layout("Unscanned uploads", me, csrf, body);
}
