// Reads trainer_log.jsonl as the trainer appends to it, for the board's live progress and loss.

/** One line of trainer_log.jsonl (LlamaFactory's fields; absent ones left out). */
export interface LogEntry {
  readonly current_steps: number;
  readonly total_steps: number;
  readonly loss?: number;
  readonly lr?: number;
  readonly epoch?: number;
  readonly percentage?: number;
  readonly elapsed_time?: string;
  readonly remaining_time?: string;
  readonly [key: string]: unknown;
}

/** Reads the lines added to a JSONL file since the last read, ignoring a file from before. */
export class LogTail {
  #path: string;
  #since: number;
  #offset = 0;
  #rest = "";

  constructor(path: string, since: number) {
    this.#path = path;
    this.#since = since;
  }

  async read(): Promise<LogEntry[]> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.#path);
    } catch {
      return [];
    }
    // An earlier run's log stays until the trainer rewrites it.
    if ((info.mtime?.getTime() ?? 0) < this.#since - 1000) return [];
    if (info.size < this.#offset) {
      this.#offset = 0;
      this.#rest = "";
    }
    if (info.size === this.#offset) return [];
    const f = await Deno.open(this.#path);
    try {
      await f.seek(this.#offset, Deno.SeekMode.Start);
      const buf = new Uint8Array(info.size - this.#offset);
      let n = 0;
      while (n < buf.length) {
        const got = await f.read(buf.subarray(n));
        if (got === null) break;
        n += got;
      }
      this.#offset += n;
      const lines = (this.#rest + new TextDecoder().decode(buf.subarray(0, n))).split("\n");
      this.#rest = lines.pop() ?? "";
      const out: LogEntry[] = [];
      for (const l of lines) {
        try {
          if (l.trim()) out.push(JSON.parse(l));
        } catch { /* a torn line: skip it */ }
      }
      return out;
    } finally {
      f.close();
    }
  }
}
