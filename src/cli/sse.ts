/**
 * A Server-Sent Events parser after the HTML standard's "event stream interpretation"
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
 * lines end in CRLF, LF or CR; `:` starts a comment; `field: value` loses one leading space; `data`
 * lines join with LF; a blank line dispatches. The last event id persists across messages and is
 * set even by a message without data (which is otherwise not dispatched): here such a message is
 * returned with `data === undefined`, so a caller can track its position through it.
 */
export interface SseMessage {
  readonly event: string;
  /** undefined: nothing to dispatch (only `id:` or `retry:` lines, or comments). */
  readonly data: string | undefined;
  /** The last event id as of this message. */
  readonly lastEventId: string;
}

export class SseParser {
  lastEventId = '';
  /** The server's `retry:` hint in ms, when it gave one. */
  retryMs: number | undefined;
  readonly #decoder = new TextDecoder('utf-8');
  #buffer = '';
  #started = false;
  #pendingCr = false;
  #event = '';
  #data: string[] = [];
  #touched = false;

  /** Feeds bytes; returns the messages they complete. */
  push(chunk: Uint8Array): SseMessage[] {
    let text = this.#decoder.decode(chunk, { stream: true });
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A CR at the end of the last chunk already ended its line: drop the LF that may follow it.
    if (this.#pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.#pendingCr = false;
    this.#buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const end = this.#buffer.search(/[\r\n]/);
      if (end < 0) break;
      const line = this.#buffer.slice(0, end);
      let next = end + 1;
      if (this.#buffer[end] === '\r') {
        if (next === this.#buffer.length) this.#pendingCr = true;
        else if (this.#buffer[next] === '\n') next += 1;
      }
      this.#buffer = this.#buffer.slice(next);
      const message = this.#line(line);
      if (message) out.push(message);
    }
    return out;
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') this.#event = value;
    else if (name === 'data') this.#data.push(value);
    else if (name === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (name === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    else return undefined;
    this.#touched = true;
    return undefined;
  }

  #dispatch(): SseMessage | undefined {
    if (!this.#touched) return undefined;
    const message: SseMessage = {
      event: this.#event || 'message',
      data: this.#data.length > 0 ? this.#data.join('\n') : undefined,
      lastEventId: this.lastEventId,
    };
    this.#event = '';
    this.#data = [];
    this.#touched = false;
    return message;
  }
}
