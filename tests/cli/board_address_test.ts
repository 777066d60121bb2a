// `cli.ts webui` listens where LlamaFactory's GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say, on
// loopback by default, and warns when the address reaches beyond this machine.
import assert from "node:assert/strict";
import { boardAddress } from "../../cli/board.ts";

const env = (vars: Record<string, string>) => (k: string) => vars[k];

Deno.test("the board listens on 127.0.0.1:7860 by default, without a warning", () => {
  assert.deepEqual(boardAddress(env({})), {
    hostname: "127.0.0.1",
    port: 7860,
    warning: undefined,
  });
});

Deno.test("GRADIO_SERVER_NAME and GRADIO_SERVER_PORT are honoured; 0.0.0.0 warns", () => {
  const a = boardAddress(env({ GRADIO_SERVER_NAME: "0.0.0.0", GRADIO_SERVER_PORT: "8080" }));
  assert.equal(a.hostname, "0.0.0.0");
  assert.equal(a.port, 8080);
  assert.match(a.warning ?? "", /0\.0\.0\.0, reachable beyond this machine/);
  assert.equal(boardAddress(env({ GRADIO_SERVER_NAME: "localhost" })).warning, undefined);
});

Deno.test("a bad GRADIO_SERVER_PORT is refused naming the variable", () => {
  for (const bad of ["http", "70000", "-1", "80.5"]) {
    assert.throws(
      () => boardAddress(env({ GRADIO_SERVER_PORT: bad })),
      new RegExp(`GRADIO_SERVER_PORT "${bad.replace(".", "\\.")}"`),
      bad,
    );
  }
});
