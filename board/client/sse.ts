// Server-sent events read from a fetch response (EventSource cannot POST a conversation).

export interface SseMessage {
  readonly event: string;
  readonly data: unknown;
}

/** Yields each event of `res`'s body, its data parsed as JSON. */
export async function* readSse(res: Response): AsyncGenerator<SseMessage> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))
        .join("\n");
      yield { event, data: data ? JSON.parse(data) : null };
    }
  }
}
