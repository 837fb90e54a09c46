/**
 * The stats page (`GET /review/stats?from=YYYY-MM-DD&to=YYYY-MM-DD`, viewer role; default the
 * last 30 days): blocks per day per list, unscanned uploads by reason and the median time to a
 * decision, drawn as server-rendered SVG (the CSP allows no script or style inline: shapes carry
 * presentation attributes only), and the transparency report's figures. The numbers come from
 * src/cases/stats.ts, the same code `hashgate transparency` runs.
 */
import { Hono } from "hono";
import {
  type Charts,
  chartSeries,
  type DayRange,
  d1Run,
  lastDays,
  parseRange,
  type Transparency,
  transparencyFigures,
} from "../cases/stats.ts";
import { html, type Safe } from "./html.ts";
import { csrfToken } from "./security.ts";
import type { ReviewBindings } from "./types.ts";
import { layout } from "./ui.ts";

/** Longest range the page draws (one bar group per day). */
export const MAX_STATS_DAYS = 366;
const DEFAULT_DAYS = 30;
/** Colour-blind-safe palette (Okabe–Ito), cycled over lists. */
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
const W = 720;
const H = 220;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

export const statsRoutes = new Hono<ReviewBindings>();

statsRoutes.get("/", async (c) => {
  const q = c.req.query();
  let range: DayRange;
  try {
    range = q.from || q.to ? parseRange(q.from ?? "", q.to ?? "") : lastDays(DEFAULT_DAYS);
  } catch (e) {
    return c.text(`${(e as Error).message}`, 400);
  }
  if ((Date.parse(range.to) - Date.parse(range.from)) / 86_400_000 + 1 > MAX_STATS_DAYS)
    return c.text(`at most ${MAX_STATS_DAYS} days at once`, 400);
  const run = d1Run(c.env.DB);
  const [charts, figures] = await Promise.all([chartSeries(run, range), transparencyFigures(run, range)]);
  return c.html(layout("Stats", c.var.principal, csrfToken(c), statsBody(range, charts, figures)));
});

/** The page's content (exported for tests). */
export function statsBody(range: DayRange, charts: Charts, t: Transparency): Safe {
  return html`<h1>Stats</h1>
<form class="filters" method="get" action="/review/stats">
<label>From <input type="date" name="from" value="${range.from}"></label>
<label>To <input type="date" name="to" value="${range.to}"></label>
<button type="submit">Show</button></form>
<h2>Blocked uploads per day, by list</h2>${blocksChart(charts)}
<h2>Unscanned uploads by reason</h2>${unscannedChart(charts)}
<h2>Median time to a decision, per day</h2>${decisionChart(charts)}
<h2>Transparency figures</h2>${figuresTable(t)}
<p>The same figures as JSON, CSV or Markdown: <code>npx hashgate transparency --from ${range.from} --to ${range.to} --remote --env NAME</code></p>`;
}

function svg(label: string, content: Safe | Safe[], height = H): Safe {
  return html`<svg class="chart" role="img" aria-label="${label}" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" xmlns="http://www.w3.org/2000/svg">${content}</svg>`;
}

function yAxis(max: number, unit = ""): Safe[] {
  const plotH = H - PAD.top - PAD.bottom;
  return [0, 0.5, 1].map((f) => {
    const y = PAD.top + plotH * (1 - f);
    return html`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#ddd"/><text x="${PAD.left - 4}" y="${y + 4}" text-anchor="end" font-size="10">${fmt(max * f)}${unit}</text>`;
  });
}

function xLabels(days: string[], step: number, x: (i: number) => number): Safe[] {
  const every = Math.max(1, Math.ceil(days.length / 8));
  return days.flatMap((d, i) =>
    i % every === 0
      ? [
          html`<text x="${x(i) + step / 2}" y="${H - 8}" text-anchor="middle" font-size="10">${d.slice(5)}</text>`,
        ]
      : [],
  );
}

/** Stacked bars: one rect per (day, list) with blocks, one colour per list. */
function blocksChart(c: Charts): Safe {
  const lists = [...new Set(c.blocksPerDayPerList.map((p) => p.list))].sort();
  if (lists.length === 0) return html`<p class="empty">No blocked uploads in this range.</p>`;
  const totals = new Map<string, number>();
  for (const p of c.blocksPerDayPerList) totals.set(p.day, (totals.get(p.day) ?? 0) + p.n);
  const max = Math.max(1, ...totals.values());
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / c.days.length;
  const x = (i: number) => PAD.left + i * step;
  const bars: Safe[] = [];
  c.days.forEach((day, i) => {
    let base = 0;
    for (const list of lists) {
      const n = c.blocksPerDayPerList.find((p) => p.day === day && p.list === list)?.n ?? 0;
      if (n === 0) continue;
      const h = (n / max) * plotH;
      const y = PAD.top + plotH - base - h;
      base += h;
      bars.push(
        html`<rect class="bar" x="${x(i) + step * 0.1}" y="${y}" width="${step * 0.8}" height="${h}" fill="${colour(lists, list)}"><title>${day} · ${list}: ${n}</title></rect>`,
      );
    }
  });
  const legend = lists.map(
    (l) =>
      html`<span class="legend"><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="${colour(lists, l)}"/></svg> ${l}</span> `,
  );
  return html`${svg("Blocked uploads per day by list", [...yAxis(max), ...bars, ...xLabels(c.days, step, x)])}<p>${legend}</p>`;
}

/** Horizontal bars, one per reason. */
function unscannedChart(c: Charts): Safe {
  if (c.unscannedByReason.length === 0) return html`<p class="empty">No unscanned uploads in this range.</p>`;
  const max = Math.max(1, ...c.unscannedByReason.map((r) => r.n));
  const rowH = 24;
  const height = PAD.top + rowH * c.unscannedByReason.length + 8;
  const left = 180;
  const bars = c.unscannedByReason.map((r, i) => {
    const y = PAD.top + i * rowH;
    const w = (r.n / max) * (W - left - 60);
    return html`<text x="${left - 6}" y="${y + 15}" text-anchor="end" font-size="11">${r.reason}</text><rect class="bar" x="${left}" y="${y + 3}" width="${w}" height="${rowH - 6}" fill="#D55E00"><title>${r.reason}: ${r.n}</title></rect><text x="${left + w + 4}" y="${y + 15}" font-size="11">${r.n}</text>`;
  });
  return svg("Unscanned uploads by reason", bars, height);
}

/** A line through one point per day with decisions (days without are left out, not zero). */
function decisionChart(c: Charts): Safe {
  if (c.medianDecisionPerDay.length === 0) return html`<p class="empty">No decisions in this range.</p>`;
  const max = Math.max(1, ...c.medianDecisionPerDay.map((p) => p.seconds));
  const unit = max >= 7200 ? 3600 : max >= 120 ? 60 : 1;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / c.days.length;
  const x = (i: number) => PAD.left + i * step;
  const at = c.medianDecisionPerDay.map((p) => ({
    ...p,
    cx: x(c.days.indexOf(p.day)) + step / 2,
    cy: PAD.top + plotH * (1 - p.seconds / max),
  }));
  const line = html`<polyline fill="none" stroke="#0072B2" stroke-width="1.5" points="${at.map((p) => `${fmt(p.cx)},${fmt(p.cy)}`).join(" ")}"/>`;
  const points = at.map(
    (p) =>
      html`<circle class="point" cx="${fmt(p.cx)}" cy="${fmt(p.cy)}" r="3" fill="#0072B2"><title>${p.day}: ${duration(p.seconds)} (${p.decisions} decision(s))</title></circle>`,
  );
  const suffix = unit === 3600 ? " h" : unit === 60 ? " min" : " s";
  return svg("Median time to a decision per day", [
    ...yAxis(max / unit, suffix),
    line,
    ...points,
    ...xLabels(c.days, step, x),
  ]);
}

function figuresTable(t: Transparency): Safe {
  const rows: [string, string | number][] = [
    ["Uploads blocked", t.uploadsBlocked],
    ["Uploads flagged", t.uploadsFlagged],
    ["Reports made", t.reportsMade],
    ["Appeals received", t.appealsReceived],
    ["Appeals upheld (decision kept)", t.appealsUpheld],
    ["Decisions reversed on appeal", t.decisionsReversed],
    ["Blocks dismissed on review", t.blocksDismissedOnReview],
    [
      "Median time to decision",
      t.medianSecondsToDecision === null ? "–" : duration(t.medianSecondsToDecision),
    ],
  ];
  const byList = t.blockedByListCategory.map(
    (r) => html`<tr><td>${r.list}</td><td>${r.category}</td><td>${r.uploads}</td></tr>`,
  );
  return html`<table class="figures"><tbody>${rows.map(([k, v]) => html`<tr><th>${k}</th><td>${v}</td></tr>`)}</tbody></table>
<table class="figures"><thead><tr><th>List</th><th>Category</th><th>Uploads blocked</th></tr></thead>
<tbody>${byList.length ? byList : html`<tr><td colspan="3">None.</td></tr>`}</tbody></table>`;
}

function colour(lists: string[], list: string): string {
  return PALETTE[lists.indexOf(list) % PALETTE.length]!;
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** Seconds as the largest sensible unit ("42 s", "12 min", "3.5 h", "2.1 d"). */
export function duration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${fmt(seconds / 3600)} h`;
  return `${fmt(seconds / 86_400)} d`;
}
