// The README's main job end to end: LoRA fine-tuning of the embedded tiny-llama on the identity
// set through `cli.ts train`, then `cli.ts chat` with the adapter answering who it is.
import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

async function cli(
  args: string[],
  stdin?: string,
): Promise<{ code: number; out: string; err: string }> {
  const p = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", ...args],
    cwd: root,
    env: { XDG_RUNTIME_DIR: "/tmp", NO_COLOR: "1" },
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const o = await p.output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

Deno.test("cli.ts train fine-tunes the tiny model with LoRA and cli.ts chat answers with its identity", async () => {
  const dir = await Deno.makeTempDir();
  const train = await cli(["train", "examples/train_lora/tiny_lora_sft.yaml", `output_dir=${dir}`]);
  assert.equal(train.code, 0, train.err.slice(-2000));
  const log = (await Deno.readTextFile(`${dir}/trainer_log.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const losses = log.filter((e) => typeof e.loss === "number").map((e) => e.loss);
  // With the embeddings frozen the loss stalls near 3 (half the vocabulary is untrained there).
  assert.ok(losses.at(-1) < 1, `loss went from ${losses[0]} to ${losses.at(-1)}`);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/adapter_config.json`));
  assert.equal(config.peft_type, "LORA");
  assert.equal(config.r, 16);
  assert.deepEqual(config.modules_to_save, ["embed_tokens", "lm_head"]);
  await Deno.stat(`${dir}/adapter_model.safetensors`);
  await Deno.stat(`${dir}/training_loss.png`);

  const chat = await cli(
    [
      "chat",
      "examples/inference/tiny_lora_sft.yaml",
      `adapter_name_or_path=${dir}`,
      "max_new_tokens=48",
    ],
    "Who are you?\n",
  );
  assert.equal(chat.code, 0, chat.err.slice(-2000));
  const reply = (chat.out.split("Assistant: ")[1] ?? "").trim();
  assert.match(reply, /Forge.*llamaforge team/, `reply: ${reply}`);
  // A reply that ends its turn (<|eot_id|>) ends a sentence; one cut at max_new_tokens rarely does.
  assert.match(reply, /[.?!]$/, `reply: ${reply}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli.ts train names an unknown config key and the closest known one", async () => {
  const r = await cli(["train", "examples/train_lora/tiny_lora_sft.yaml", "learning_rat=0.1"]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /Unknown key "learning_rat".*did you mean "learning_rate"\?/);
});
