/** Server-rendered pages of the review UI (behaviour in static.ts; no inline script or style). */

import type { Principal } from "../auth/roles.ts";
import type { MatchedFile, MatchMessage } from "../cases/messages.ts";
import type { CaseDetail, CaseQuery, CaseSummary } from "../cases/store.ts";
import type { UnscannedRecord } from "../cases/unscanned-store.ts";
import { CASE_STATUSES } from "../cases/workflow.ts";
import { html, type Safe } from "./html.ts";
import type { ReviewerSettings } from "./settings.ts";

export function layout(title: string, me: Principal, csrf: string, body: Safe): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="${csrf}">
<title>${title} · hashgate review</title>
<link rel="stylesheet" href="/review/static/review.css">
<script src="/review/static/review.js" defer></script>
</head><body>
<header><a href="/review" class="brand">hashgate review</a><a href="/review/unscanned">Unscanned uploads</a><a href="/review/stats">Stats</a><span class="me">${me.id} (${me.role})
<span class="exposure" title="files revealed in this browser session">revealed this session: <b id="exposure-count">0</b></span>
${me.via === "local" ? html`<form method="post" action="/review/signout" class="signout"><button type="submit">Sign out</button></form>` : ""}</span></header>
<main>${body}</main>
<footer class="keys">Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous · <kbd>Enter</kbd> open · <kbd>n</kbd> take next case ·
<kbd>r</kbd> reveal · <kbd>c</kbd> confirm · <kbd>d</kbd> dismiss · <kbd>e</kbd> escalate · <kbd>?</kbd> all shortcuts</footer>
<div id="shortcuts" class="overlay" hidden role="dialog" aria-label="Keyboard shortcuts"><div class="overlay-box">
<h2>Keyboard shortcuts</h2><table>
<tr><th><kbd>j</kbd> / <kbd>k</kbd></th><td>queue: move to the next / previous case; case page: take the next / previous open case</td></tr>
<tr><th><kbd>Enter</kbd> or <kbd>o</kbd></th><td>queue: open the selected case</td></tr>
<tr><th><kbd>n</kbd></th><td>take the oldest open case nobody else has</td></tr>
<tr><th><kbd>r</kbd></th><td>reveal the next hidden file (asks for the reason first)</td></tr>
<tr><th><kbd>b</kbd></th><td>blur / unblur the revealed files</td></tr>
<tr><th><kbd>c</kbd> / <kbd>d</kbd> / <kbd>e</kbd></th><td>confirm / dismiss / escalate (asks for the reason first)</td></tr>
<tr><th><kbd>u</kbd></th><td>back to the queue</td></tr>
<tr><th><kbd>?</kbd> / <kbd>Esc</kbd></th><td>show / hide this help</td></tr></table>
<p>Shortcuts never fire while you type in a field.</p></div></div>
</body></html>`.html;
}

function option(value: string, label: string, selected: string | undefined): Safe {
  return value === (selected ?? "")
    ? html`<option value="${value}" selected>${label}</option>`
    : html`<option value="${value}">${label}</option>`;
}

/** "3 d", "5 h", "12 min": how long a case has waited. */
export function age(createdAt: string, now = Date.now()): string {
  const min = Math.max(0, Math.floor((now - Date.parse(createdAt)) / 60_000));
  if (min < 60) return `${min} min`;
  if (min < 48 * 60) return `${Math.floor(min / 60)} h`;
  return `${Math.floor(min / (24 * 60))} d`;
}

function accountText(a: Record<string, string>): string {
  return Object.entries(a)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ");
}

/** The query string of `q` with some parameters changed (pagination and tab links). */
function queueHref(q: CaseQuery, view: string, change: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  const base: Record<string, string | number | undefined> = {
    status: view,
    list: q.listId,
    kind: q.kind,
    from: q.from,
    to: q.to,
    digest: q.digest,
    sort: q.sort === "created" ? undefined : q.sort,
    dir: q.dir,
    limit: q.limit === 50 ? undefined : q.limit,
    offset: q.offset || undefined,
    ...change,
  };
  for (const [k, v] of Object.entries(base)) if (v !== undefined && v !== "") p.set(k, String(v));
  return `/review?${p}`;
}

/** The queue's view name for a query: open, escalated, a status, or any. */
export function queueView(q: CaseQuery): string {
  if (q.escalated && q.open) return "escalated";
  if (q.open) return "open";
  return q.status ?? "any";
}

export interface QueueData {
  cases: CaseSummary[];
  total: number;
  counts: Record<string, number>;
  /** Open cases with the filtered digest (the bulk decision's target), when a digest is filtered. */
  bulkCount?: number;
}

export function queuePage(me: Principal, csrf: string, q: CaseQuery, d: QueueData, now = Date.now()): string {
  const view = queueView(q);
  const rows = d.cases.map(
    (c) => html`<tr class="${c.escalated ? "escalated" : ""}" data-case="${c.id}">
<td><a href="/review/cases/${c.id}">${c.id}</a></td><td title="${c.createdAt}">${age(c.createdAt, now)}</td>
<td><span class="status s-${c.status}">${c.status}</span>${c.escalated ? html` <span class="flag">escalated</span>` : ""}</td>
<td>${c.claimedBy ? html`<span class="claimed">${c.claimedBy}</span>` : ""}</td>
<td>${accountText(c.account)}</td><td>${c.uploaderIp ?? ""}</td>
<td>${c.listIds.join(", ")}</td><td>${c.kinds.join(", ")}</td><td>${c.fileCount}</td></tr>`,
  );
  const tabs = ["open", "escalated", ...CASE_STATUSES, "any"].map((v) => {
    const n = v === "any" ? d.counts.all : d.counts[v];
    const label = v === "any" ? "all" : v.replace("_", " ");
    return v === view
      ? html`<a class="tab current" aria-current="page" href="${queueHref(q, v, { offset: undefined, dir: undefined })}">${label} <b>${n ?? 0}</b></a>`
      : html`<a class="tab" href="${queueHref(q, v, { offset: undefined, dir: undefined })}">${label} <b>${n ?? 0}</b></a>`;
  });
  const first = d.total === 0 ? 0 : q.offset + 1;
  const last = Math.min(q.offset + q.limit, d.total);
  const pager = html`<nav class="pager"><span>${first}–${last} of ${d.total}</span>
${q.offset > 0 ? html`<a rel="prev" href="${queueHref(q, view, { offset: Math.max(0, q.offset - q.limit) || undefined })}">← previous page</a>` : ""}
${last < d.total ? html`<a rel="next" href="${queueHref(q, view, { offset: q.offset + q.limit })}">next page →</a>` : ""}</nav>`;
  const exportQs = queueHref(q, view, { offset: undefined, limit: undefined }).slice("/review?".length);
  const bulk =
    q.digest && me.role !== "viewer"
      ? html`<section class="bulk" data-digest="${q.digest}" data-count="${d.bulkCount ?? 0}"><h2>Decide all open cases with this digest</h2>
<p><b class="bulk-count">${d.bulkCount ?? 0}</b> open case(s) have a file with digest <span class="mono">${q.digest}</span>.</p>
<label>Reason (required) <textarea class="bulk-reason" maxlength="2000" rows="2"></textarea></label>
<div class="buttons"><button type="button" data-bulk="confirm" class="danger"${d.bulkCount ? "" : html` disabled`}>Confirm all ${d.bulkCount ?? 0}</button>
<button type="button" data-bulk="dismiss"${d.bulkCount ? "" : html` disabled`}>Dismiss all ${d.bulkCount ?? 0}</button></div>
<p class="bulk-result" role="status"></p></section>`
      : "";
  const body = html`<h1>Queue</h1>
<nav class="tabs">${tabs}</nav>
<form class="filters" method="get" action="/review">
<input type="hidden" name="status" value="${view}">
<label>List <input name="list" value="${q.listId ?? ""}" size="12"></label>
<label>Digest <input name="digest" value="${q.digest ?? ""}" size="20" placeholder="md5 / sha-1 / sha-256"></label>
<label>Match <select name="kind">${option("", "any", q.kind)}${option("exact", "exact", q.kind)}${option("pdq", "PDQ", q.kind)}</select></label>
<label>From <input type="date" name="from" value="${q.from ?? ""}"></label>
<label>To <input type="date" name="to" value="${q.to ?? ""}"></label>
<label>Sort <select name="sort">${option("created", "created", q.sort)}${option("updated", "updated", q.sort)}</select></label>
<label>Order <select name="dir">${option("asc", "oldest first", q.dir)}${option("desc", "newest first", q.dir)}</select></label>
<button type="submit">Filter</button></form>
<p class="toolbar">${me.role !== "viewer" ? html`<button type="button" class="take-next">Take next open case (n)</button>` : ""}
Export: <a href="/review/export/cases.csv?${exportQs}">cases CSV</a> · <a href="/review/export/cases.json?${exportQs}">JSON</a>
${me.role === "admin" ? html` · <a href="/review/export/audit.csv?${exportQs}">audit CSV</a> · <a href="/review/export/audit.json?${exportQs}">JSON</a>` : ""}
<span class="next-result" role="status"></span></p>
${bulk}${pager}
<table class="queue"><thead><tr><th>Case</th><th>Age</th><th>Status</th><th>Claimed by</th><th>Account</th><th>Uploader IP</th><th>Lists</th><th>Match</th><th>Files</th></tr></thead>
<tbody>${rows.length ? rows : html`<tr><td colspan="9">No cases.</td></tr>`}</tbody></table>${pager}`;
  return layout("Queue", me, csrf, body);
}

function fileSection(caseId: string, f: MatchedFile, s: ReviewerSettings, canReveal: boolean): Safe {
  const digests = Object.entries(f.digests).map(
    ([a, d]) => html`<tr><th>${a}</th><td class="mono">${d}</td></tr>`,
  );
  const matches = f.matches.map(
    (m) => html`<tr><td>${m.listId}</td><td>${m.kind}</td><td class="mono">${m.entryId ?? ""}</td>
<td class="mono">${m.kind === "pdq" ? (f.pdq?.hash ?? "") : m.algo ? (f.digests[m.algo as keyof typeof f.digests] ?? "") : ""}</td>
<td>${m.algo ?? ""}</td><td>${m.distance ?? ""}</td><td>${m.quality ?? f.pdq?.quality ?? ""}</td><td>${m.category ?? ""}</td><td>${m.action}</td></tr>`,
  );
  const reveal = canReveal
    ? html`<div class="media" data-case="${caseId}" data-file="${f.index}" data-blur="${s.blur ? "1" : "0"}" data-blur-px="${s.blurPx}" data-grey="${s.greyscale ? "1" : "0"}">
<div class="hidden-media">Media hidden.</div>
<label>Reason for opening <input class="reveal-reason" maxlength="500" placeholder="e.g. confirm match"></label>
<button type="button" class="reveal">Reveal file ${f.index}</button>
<button type="button" class="toggle-blur" hidden>Toggle blur (b)</button>
<button type="button" class="toggle-grey" hidden>Toggle greyscale</button>
<p class="media-error" role="alert"></p></div>`
    : html`<p>Media: reviewer role needed.</p>`;
  return html`<section class="file"><h3>File ${f.index}: ${f.filename ?? "(no name)"}</h3>
<p>Field ${f.field} · declared ${f.declaredType ?? "none"} · detected ${f.sniffedType} · ${f.size} bytes
${f.pdq ? html` · PDQ quality ${f.pdq.quality}` : ""}</p>
${f.imageError ? html`<p class="image-error">Held for review: the image could not be hashed (${f.imageError}); no list matched it.</p>` : ""}
<table class="kv">${digests}${f.pdq ? html`<tr><th>pdq</th><td class="mono">${f.pdq.hash}</td></tr>` : ""}</table>
<table class="matches"><thead><tr><th>List</th><th>Kind</th><th>Entry id</th><th>Entry hash</th><th>Algo</th><th>PDQ distance</th><th>Quality</th><th>Category</th><th>Action</th></tr></thead>
<tbody>${matches}</tbody></table>${reveal}</section>`;
}

/** One history line; reveals ("file-0") read differently from transitions. */
export function historyLine(e: CaseDetail["events"][number]): string {
  if (e.action === "reveal") return `${e.at} ${e.actor}: revealed ${e.from.replace("-", " ")} — ${e.reason}`;
  return `${e.at} ${e.actor}: ${e.action} (${e.from} → ${e.to}) ${e.reason}`;
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
  const open = c.status === "new" || c.status === "in_review" || c.status === "appealed";
  // Buttons the case's state forbids are disabled (the server refuses them anyway).
  const allowed = {
    start: c.status === "new" && !c.purged,
    decide: open && !c.purged,
    report: c.status === "confirmed" && !c.purged && c.report?.state !== "finished",
  };
  const off = (b: boolean) => (b ? html` disabled` : "");
  const claim =
    canDecide && open
      ? html`<p class="claim" data-case="${c.id}" data-claimed-by="${c.claimedBy ?? ""}" role="status">${c.claimedBy ? `Claimed by ${c.claimedBy} at ${c.claimedAt}` : "Not claimed"}</p>`
      : c.claimedBy
        ? html`<p class="claim">Claimed by ${c.claimedBy}</p>`
        : "";
  const related = (title: string, rows: typeof c.related) =>
    html`<h3>${title}</h3><ul>${rows.length ? rows.map((r) => html`<li><a href="/review/cases/${r.id}">${r.id}</a> ${r.status} (${r.createdAt})</li>`) : html`<li>none</li>`}</ul>`;
  const sameFile = html`<h3>Same file, other uploads</h3><ul>${
    c.sameFile.length
      ? c.sameFile.map(
          (r) =>
            html`<li><a href="/review/cases/${r.id}">${r.id}</a> ${r.status} (${r.createdAt}) · account ${accountText(r.account) || "unknown"} · IP ${r.uploaderIp ?? "unknown"}</li>`,
        )
      : html`<li>none</li>`
  }</ul>`;
  const m = c.message;
  const identity = Object.entries(c.identity).map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`);
  const decisions = canDecide
    ? html`<section class="decide" data-case="${c.id}"><h2>Decision</h2>
<label>Reason <textarea class="decision-reason" maxlength="2000" rows="2"></textarea></label>
${me.role === "admin" && m ? allowPicker(m.files) : ""}
<div class="buttons">
<button type="button" data-action="start"${off(!allowed.start)}>Start review</button>
<button type="button" data-action="confirm" class="danger"${off(!allowed.decide)}>Confirm (c)</button>
<button type="button" data-action="dismiss"${off(!allowed.decide)}>Dismiss (false positive) (d)</button>
<button type="button" data-action="escalate"${off(!allowed.decide)}>Escalate (e)</button>
<button type="button" class="report-preview"${off(!allowed.report)}>Report…</button></div>
<section class="report-box" hidden><h3>Report preview: nothing is sent until you confirm</h3>
<div class="report-fields"></div><details open><summary>The XML that would be sent</summary><pre class="report-xml mono"></pre></details>
<label><input type="checkbox" class="report-ack"> I checked the fields above and want to submit this report</label>
<div class="buttons"><button type="button" class="report danger" disabled>Submit report</button>
<button type="button" class="report-cancel">Cancel</button></div></section>
<p class="decision-result" role="status"></p></section>
<section class="settings"><h2>My media settings</h2>
<label><input type="checkbox" class="set-blur"${s.blur ? html` checked` : ""}> blur</label>
<label><input type="checkbox" class="set-grey"${s.greyscale ? html` checked` : ""}> greyscale</label>
<label>blur strength <input type="range" class="set-blur-px" min="4" max="40" step="2" value="${s.blurPx}"> <output class="blur-px-out">${s.blurPx}</output> px</label>
<label>suggest a break after <input type="number" class="set-break-after" min="1" max="500" value="${s.breakAfter}" size="4"> reveals</label>
<button type="button" class="save-settings">Save</button></section>`
    : "";
  const body = html`<p><a href="/review">← queue</a></p>
<h1>Case <span class="mono">${c.id}</span></h1>
<p>Status <span class="status s-${c.status}" id="case-status">${c.status}</span>${c.escalated ? html` <span class="flag">escalated</span>` : ""}
· ${c.verdict} · created ${c.createdAt} · lists ${c.listIds.join(", ")}${c.purged ? html` · <strong>purged</strong>` : ""}</p>
${claim}
<p class="report-state"${c.report ? "" : html` hidden`}>Report: <span id="report-state">${c.report ? `${c.report.kind} ${c.report.state} ${c.report.reportId ?? ""}` : ""}</span></p>
<section><h2>Uploader</h2><table class="kv">
<tr><th>IP</th><td>${c.uploaderIp ?? "unknown"}</td></tr>${identity}
<tr><th>User agent</th><td>${m?.request.userAgent ?? ""}</td></tr>
<tr><th>Request</th><td>${m ? `${m.request.method} ${m.request.host}${m.request.path}` : ""}</td></tr></table>
${related(
  "This account's other cases",
  c.related.filter((r) => r.sameAccount),
)}
${related(
  "Other cases from this IP",
  c.related.filter((r) => r.sameIp),
)}
${sameFile}</section>
<section><h2>Files</h2>${m ? limitNotes(m) : ""}${m ? m.files.map((f) => fileSection(c.id, f, s, canDecide)) : html`<p>Data purged.</p>`}</section>
${decisions}
<div id="break-prompt" class="overlay" hidden data-break-after="${s.breakAfter}" role="alertdialog" aria-label="Take a break"><div class="overlay-box">
<h2>Time for a break</h2><p>You have revealed <b class="break-count"></b> files in this session. Step away for a few minutes:
look at something far away, stretch, talk to someone. The queue will wait.</p>
<button type="button" class="break-ok">I took a break</button></div></div>
<section><h2>History</h2><ol id="case-history">${c.events.map((e) => html`<li class="ev-${e.action}">${historyLine(e)}</li>`)}</ol>
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
