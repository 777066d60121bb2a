// Shared by the board's fetch-level tests: the app served on 127.0.0.1 and an SSE reader.
import { type BoardOptions, createBoardApp } from "../../board/server.ts";

export function serve(opts: BoardOptions = {}) {
  const board = createBoardApp({ root: Deno.cwd(), ...opts });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, board.app.fetch);
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    base,
    board,
    get: (path: string) => fetch(base + path),
    post: (path: string, body: unknown) =>
      fetch(base + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
    async [Symbol.asyncDispose]() {
      await board.close();
      await server.shutdown();
    },
  };
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Parses server-sent events from `text` or a stream until `done` says so (or the stream ends). */
export async function readEvents(
  res: Response,
  done: (e: SseEvent) => boolean = () => false,
): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  let buf = "";
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buf += value;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))
          .join("\n");
        const e = { event, data: JSON.parse(data) };
        out.push(e);
        if (done(e)) return out;
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return out;
}

/** A fresh folder name under saves/, removed by the caller. */
export const tmpSaves = (tag = "board_test") => `saves/_${tag}_${crypto.randomUUID().slice(0, 8)}`;

/** The same tiny-model settings every run of these tests uses. */
export const MODEL = {
  model_name_or_path: "models/tiny-llama",
  finetuning_type: "lora",
  template: "llama3",
};
