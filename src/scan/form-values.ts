/**
 * Streaming reader of `application/x-www-form-urlencoded` bodies (WHATWG URL §5.1): pairs split
 * at `&`, name and value at the first `=`, then `+` is a space and `%XX` a byte. Emits each value
 * percent-decoded with its field name and byte span. Names are not decoded as files.
 */
import type { JsonEvent } from "./json-strings.ts";
import { PercentDecoder } from "./text-value.ts";

const AMP = 38;
const EQ = 61;
/** Longest field name kept to say where a value sat. */
const MAX_NAME = 200;

const dec = new TextDecoder();

export class FormValueReader {
  private inValue = false;
  private name: number[] = [];
  private value = new PercentDecoder(true);
  private offset: number;

  constructor(startOffset = 0) {
    this.offset = startOffset;
  }

  push(chunk: Uint8Array): JsonEvent[] {
    const events: JsonEvent[] = [];
    const base = this.offset;
    let i = 0;
    while (i < chunk.length) {
      if (this.inValue) {
        const amp = chunk.indexOf(AMP, i);
        const end = amp < 0 ? chunk.length : amp;
        const bytes = this.value.push(chunk.subarray(i, end));
        if (bytes.length > 0) events.push({ type: "value-data", bytes });
        if (amp < 0) break;
        this.endValue(events, base + amp);
        i = amp + 1;
        continue;
      }
      const c = chunk[i]!;
      i++;
      if (c === EQ) {
        this.inValue = true;
        const name = new PercentDecoder(true);
        const raw = name.push(Uint8Array.from(this.name));
        events.push({
          type: "value-start",
          pointer: dec.decode(new Uint8Array([...raw, ...name.finish()])),
          offset: base + i,
        });
      } else if (c === AMP) this.name = [];
      else if (this.name.length < MAX_NAME) this.name.push(c);
    }
    this.offset = base + chunk.length;
    return events;
  }

  /** Declares the end of the body. */
  finish(): JsonEvent[] {
    const events: JsonEvent[] = [];
    if (this.inValue) this.endValue(events, this.offset);
    return events;
  }

  private endValue(events: JsonEvent[], at: number): void {
    const tail = this.value.finish();
    if (tail.length > 0) events.push({ type: "value-data", bytes: tail });
    events.push({ type: "value-end", offset: at });
    this.value = new PercentDecoder(true);
    this.inValue = false;
    this.name = [];
  }
}
