// `cli.ts api config.yaml [key=value ...]`: serves the model over an OpenAI-compatible API
// (`llamafactory-cli api`). API_HOST, API_PORT, API_KEY and API_MODEL_NAME override the config.
import { commandConfig } from "./_config.ts";
import { createApiApp } from "../board/api/mod.ts";
import { ChatModel } from "../core/infer/chat.ts";
import { initGpu } from "../core/tensor/mod.ts";

/** Where the server listens: env first, then the config; loopback unless asked otherwise. */
export function apiAddress(
  args: { api_host: string; api_port: number },
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): { hostname: string; port: number } {
  // NOTE: the schema's default host is LlamaFactory's 0.0.0.0; we only bind beyond loopback when
  // API_HOST or a non-default api_host asks for it.
  const hostname = env("API_HOST") ?? (args.api_host === "0.0.0.0" ? "127.0.0.1" : args.api_host);
  const raw = env("API_PORT");
  const port = raw === undefined ? args.api_port : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot listen on API_PORT "${raw}": expected an integer in [0, 65535]`);
  }
  return { hostname, port };
}

export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127\./.test(hostname);
}

export async function apiCommand(argv: string[]): Promise<number> {
  const { args, registries } = await commandConfig(argv, { command: "api" });
  const { hostname, port } = apiAddress(args);
  const apiKey = Deno.env.get("API_KEY") ?? args.api_key;
  const modelName = Deno.env.get("API_MODEL_NAME") ?? args.api_model_name;
  if (!isLoopback(hostname)) {
    console.error(
      `warning: listening on ${hostname}, reachable beyond this machine${
        apiKey ? "" : " and without API_KEY: anyone who can reach it can use the model"
      }`,
    );
  }
  await initGpu();
  const chat = await ChatModel.load(args, registries);
  const app = createApiApp(chat, { apiKey, modelName });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const server = Deno.serve({
      hostname,
      port,
      signal: stop.signal,
      onListen: ({ hostname, port }) =>
        console.error(`Serving the OpenAI-style API at http://${hostname}:${port}/v1`),
    }, app.fetch);
    await server.finished;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    chat.release();
  }
  return 0;
}
