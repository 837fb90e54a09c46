/**
 * Which route a request path means. Origins disagree on how they read a path: they percent-
 * decode it (once, or again), fold case, merge repeated slashes, resolve dot segments, drop a
 * trailing slash, strip `;jsessionid=…` parameters, treat `\` as `/`, stop at a NUL. The gate
 * scans a path if ANY of these readings matches `SCAN_PATHS`: a reading the gate did not
 * think of would be a road around it, while one too many only means a body is scanned that
 * needed not be. Written here rather than taken from a library because no URL library
 * enumerates the readings of other servers; it only has to produce them, never to route.
 */

/** More nested encodings than this (`%25252F…`) are not unwrapped; the path is then ambiguous. */
const MAX_DECODE_ROUNDS = 4;

/** Percent-decodes once, byte-wise, then as UTF-8 (invalid sequences become U+FFFD). */
export function percentDecodeOnce(path: string): string {
  if (!path.includes("%")) return path;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === "%" && /^[0-9a-fA-F]{2}$/.test(path.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(path.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of enc.encode(c)) bytes.push(b);
    }
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Whether `path` still holds a percent-escape that some origin would decode again. */
function hasEscape(path: string): boolean {
  return /%[0-9a-fA-F]{2}/.test(path);
}

/**
 * The canonical segments of a path as a lenient origin reads it: `\` as `/`, empty segments
 * (repeated or trailing slashes) dropped, `.` and `..` resolved (never above the root), and,
 * with `stripParams`, each segment's `;parameters` removed (Tomcat, Jetty, Spring).
 */
function segmentsOf(path: string, stripParams: boolean): string[] {
  const out: string[] = [];
  for (let seg of path.replace(/\\/g, "/").split("/")) {
    if (stripParams) seg = seg.split(";", 1)[0]!;
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return out;
}

function joinSegments(segments: string[]): string {
  return `/${segments.join("/")}`;
}

/**
 * The canonical form of a path: decoded until no escape is left (at most MAX_DECODE_ROUNDS),
 * parameters stripped, slashes merged, dot segments resolved, no trailing slash, lower case
 * unless `caseSensitive`. Idempotent for every path that is not `ambiguous`.
 */
export function normalisePath(raw: string, caseSensitive = false): { path: string; ambiguous: boolean } {
  let p = raw;
  let rounds = 0;
  for (; rounds < MAX_DECODE_ROUNDS && hasEscape(p); rounds++) {
    // Resolve between rounds: a decoded `%2F..%2F` is a dot segment only once decoded.
    p = percentDecodeOnce(joinSegments(segmentsOf(p, true)));
  }
  const path = joinSegments(segmentsOf(p, true));
  return { path: caseSensitive ? path : path.toLowerCase(), ambiguous: hasEscape(path) };
}

/**
 * Every reading of `raw` a matcher should try: each decoding depth, with and without
 * parameter stripping, cut at a NUL, each folded to lower case unless `caseSensitive`.
 * The raw path itself is among them, so a pattern written for the raw form still matches.
 */
export function pathReadings(raw: string, caseSensitive = false): Set<string> {
  const readings = new Set<string>([raw, normalisePath(raw, true).path]);
  let p = raw;
  for (let round = 0; round <= MAX_DECODE_ROUNDS; round++) {
    for (const strip of [true, false]) {
      const r = joinSegments(segmentsOf(p, strip));
      readings.add(r);
      const nul = r.indexOf("\0");
      if (nul >= 0) readings.add(joinSegments(segmentsOf(r.slice(0, nul), strip)));
    }
    if (!hasEscape(p)) break;
    p = percentDecodeOnce(p);
  }
  if (caseSensitive) return readings;
  return new Set([...readings].map((r) => r.toLowerCase()));
}

/**
 * Compiles a `SCAN_PATHS` pattern: `*` matches any run of characters, `/` included. The
 * pattern is brought to canonical form too (merged slashes, no trailing slash, lower case
 * unless `caseSensitive`), and `/x/*` also matches `/x` itself: an origin may route both.
 */
export function compilePathPattern(glob: string, caseSensitive = false): RegExp {
  let g = glob
    .trim()
    .replace(/\\/g, "/")
    .replace(/\/{2,}/g, "/");
  if (!caseSensitive) g = g.toLowerCase();
  if (g.length > 1 && g.endsWith("/")) g = g.slice(0, -1);
  const toRegex = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  if (g.endsWith("/*") && g.length > 2) return new RegExp(`^${toRegex(g.slice(0, -2))}(?:/.*)?$`);
  return new RegExp(`^${toRegex(g)}$`);
}

/** True if any reading of `raw` matches any pattern; an ambiguous path matches always. */
export function pathMatches(raw: string, patterns: RegExp[], caseSensitive = false): boolean {
  if (patterns.length === 0) return false;
  if (normalisePath(raw, caseSensitive).ambiguous) return true;
  for (const reading of pathReadings(raw, caseSensitive)) {
    if (patterns.some((re) => re.test(reading))) return true;
  }
  return false;
}
