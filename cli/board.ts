// `cli.ts board`: serves LlamaBoard on GRADIO_SERVER_NAME:GRADIO_SERVER_PORT (LlamaFactory's
// `llamafactory-cli webui` variables), loopback unless asked otherwise.
import { createBoardApp } from "../board/server.ts";
import { isLoopback } from "./api.ts";

export interface BoardAddress {
  readonly hostname: string;
  readonly port: number;
  /** Set when the address is reachable beyond this machine. */
  readonly warning?: string;
}

/** Where to listen, from GRADIO_SERVER_NAME and GRADIO_SERVER_PORT as LlamaFactory reads them. */
export function boardAddress(env: (key: string) => string | undefined): BoardAddress {
  const hostname = env("GRADIO_SERVER_NAME") || "127.0.0.1";
  const raw = env("GRADIO_SERVER_PORT") || "7860";
  const port = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(port) || port > 65535) {
    throw new RangeError(
      `Cannot listen on GRADIO_SERVER_PORT "${raw}": expected an integer in [0, 65535]`,
    );
  }
  const warning = isLoopback(hostname)
    ? undefined
    : `warning: listening on ${hostname}, reachable beyond this machine: anyone who can reach it can start training runs`;
  return { hostname, port, warning };
}

export async function boardCommand(_argv: string[]): Promise<number> {
  const { hostname, port, warning } = boardAddress((k) => Deno.env.get(k));
  if (warning) console.error(warning);
  const board = createBoardApp();
  // The page is useless without its script: fail before listening, with the bundler's message.
  await board.ready();
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const server = Deno.serve({
      hostname,
      port,
      signal: stop.signal,
      onListen: ({ hostname, port }) =>
        console.error(`Serving LlamaBoard at http://${hostname}:${port}/`),
    }, board.app.fetch);
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    await board.close();
  }
  return 0;
}
