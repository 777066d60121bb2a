// `cli.ts chat config.yaml [key=value ...]`: an interactive terminal chat that streams replies and
// keeps history; `clear` forgets it, `exit` quits (as `llamafactory-cli chat`). Reads piped input too.
import { commandConfig } from "./_config.ts";
import type { Message } from "../core/data/conversation.ts";
import { ChatModel } from "../core/infer/chat.ts";
import { initGpu } from "../core/tensor/mod.ts";

export async function chatCommand(argv: string[]): Promise<number> {
  const { args, registries } = await commandConfig(argv, { command: "chat" });
  await initGpu();
  const chat = await ChatModel.load(args, registries);
  const out = new TextEncoder();
  const write = (s: string) => Deno.stdout.writeSync(out.encode(s));
  const interactive = Deno.stdin.isTerminal();
  console.error(
    "Welcome to the CLI application, use `clear` to remove the history, use `exit` to exit the application.",
  );
  const history: Message[] = [];
  const lines = readLines();
  try {
    while (true) {
      if (interactive) write("\nUser: ");
      const { value: line, done } = await lines.next();
      if (done) break;
      const query = line.trim();
      if (!query) continue;
      if (query === "exit") break;
      if (query === "clear") {
        history.length = 0;
        console.error("History has been removed.");
        continue;
      }
      if (!interactive) write(`User: ${query}\n`);
      history.push({ role: "user", content: query });
      write("Assistant: ");
      let reply = "";
      for await (const delta of chat.stream(history)) {
        reply += delta;
        write(delta);
      }
      write("\n");
      history.push({ role: "assistant", content: reply });
    }
  } finally {
    chat.release();
  }
  return 0;
}

async function* readLines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of Deno.stdin.readable) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  if (buf) yield buf;
}
