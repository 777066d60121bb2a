// The Chat tab: load the top bar's model and adapters in the server, then stream replies with the
// system prompt, tools and generation settings of the side panel; tool calls show as blocks.
import { $, call, S, showMessage } from "./dom.ts";
import { fieldValues, topValues } from "./form.ts";
import { readSse } from "./sse.ts";

type Status = "unloaded" | "loading" | "loaded";
interface Turn {
  role: "user" | "assistant";
  content: string;
}
interface ToolCall {
  name: string;
  arguments: string;
}

let history: Turn[] = [];

function setStatus(status: Status): void {
  const el = $("chat-status");
  el.dataset.status = status;
  el.textContent = S[status];
  ($("chat-send") as HTMLButtonElement).disabled = status !== "loaded";
  ($("chat-load") as HTMLButtonElement).disabled = status === "loading";
}

const error = (msg: string | undefined) => showMessage($("chat-error"), msg);

function bubble(role: Turn["role"], text: string): HTMLElement {
  const div = document.createElement("div");
  div.className = `msg ${role}`;
  const span = document.createElement("span");
  span.className = "text";
  span.textContent = text;
  div.append(span);
  $("chat-log").append(div);
  $("chat-log").scrollTop = $("chat-log").scrollHeight;
  return div;
}

function toolCallBlock(call: ToolCall): HTMLElement {
  const div = document.createElement("div");
  div.className = "tool-call";
  const head = document.createElement("b");
  head.textContent = `${S.tool_call}: ${call.name}`;
  const pre = document.createElement("pre");
  let args = call.arguments;
  try {
    args = JSON.stringify(JSON.parse(args), null, 2);
  } catch { /* shown as the model wrote it */ }
  pre.textContent = args;
  div.append(head, pre);
  return div;
}

async function send(): Promise<void> {
  const box = $("chat-input") as HTMLTextAreaElement;
  const text = box.value.trim();
  if (!text) return;
  box.value = "";
  error(undefined);
  history.push({ role: "user", content: text });
  bubble("user", text);
  const reply = bubble("assistant", "");
  const span = reply.querySelector(".text")!;
  reply.classList.add("pending");
  const res = await fetch("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      messages: history,
      system: ($("chat-system") as HTMLTextAreaElement).value,
      tools: ($("chat-tools") as HTMLTextAreaElement).value,
      ...fieldValues($("tab-chat"), "field"),
    }),
  });
  if (!res.ok) {
    const msg = (await res.json().catch(() => ({}))).error || res.statusText;
    reply.remove();
    history.pop();
    error(msg);
    reply.classList.remove("pending");
    return;
  }
  let content = "";
  for await (const m of readSse(res)) {
    if (m.event === "delta") span.textContent = content += m.data as string;
    if (m.event === "tool_calls") {
      span.textContent = "";
      for (const c of m.data as ToolCall[]) reply.append(toolCallBlock(c));
    }
    if (m.event === "error") error(m.data as string);
    $("chat-log").scrollTop = $("chat-log").scrollHeight;
  }
  reply.classList.remove("pending");
  history.push({ role: "assistant", content });
}

export function initChat(): void {
  setStatus(($("chat-status").dataset.status as Status) ?? "unloaded");
  $("chat-load").addEventListener("click", async () => {
    setStatus("loading");
    error(undefined);
    try {
      const got = await call<{ status: Status }>("/api/chat/load", topValues());
      setStatus(got.status);
    } catch (e) {
      // The server released the previous model before trying: nothing is loaded now. The status
      // is set before the error shows, so whoever sees the error sees the final status.
      setStatus("unloaded");
      error((e as Error).message);
    }
  });
  $("chat-unload").addEventListener("click", async () => {
    const got = await call<{ status: Status }>("/api/chat/unload", {}).catch((e) => {
      error((e as Error).message);
      return { status: "unloaded" as Status };
    });
    setStatus(got.status);
  });
  $("chat-clear").addEventListener("click", () => {
    history = [];
    $("chat-log").replaceChildren();
  });
  $("chat-send").addEventListener("click", () => {
    send().catch((e) => error((e as Error).message));
  });
  $("chat-input").addEventListener("keydown", (e) => {
    const k = e as KeyboardEvent;
    if (k.key === "Enter" && (k.ctrlKey || k.metaKey)) $("chat-send").click();
  });
}
