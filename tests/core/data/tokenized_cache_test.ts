// The tokenized dataset cache (tokenized_path): round trips, reuse, invalidation by its key,
// overwrite_cache, and folders it must not touch.

import assert from "node:assert/strict";
import type { Feature } from "../../../core/data/collate.ts";
import type { Example } from "../../../core/data/dataset_info.ts";
import { BOS, defineTemplate } from "../../../core/data/template.ts";
import {
  loadTokenized,
  saveTokenized,
  withTokenizedCache,
} from "../../../core/data/tokenized_cache.ts";
import { prepareSplits, type StageArgs } from "../../../core/stage/mod.ts";
import { sft } from "../../../plugins/stages/sft.ts";
import { CharTokenizer } from "./_char_tokenizer.ts";

const i32 = (xs: number[]) => Int32Array.from(xs);
const plain = (fs: readonly Feature[]) =>
  fs.map((f) =>
    Object.fromEntries(Object.entries(f).filter(([, v]) => v).map(([k, v]) => [k, [...v]]))
  );

Deno.test("saveTokenized() and loadTokenized() round-trip every field of every split", async () => {
  const dir = await Deno.makeTempDir();
  const train: Feature[] = [
    {
      inputIds: i32([5, 6, 7]),
      labels: i32([-100, 6, 7]),
      attentionMask: i32([1, 2, 0]),
      positionIds: i32([0, 0, 0]),
    },
    { inputIds: i32([]), labels: i32([]), attentionMask: i32([]), positionIds: i32([]) },
    {
      inputIds: i32([2 ** 31 - 1, -5]),
      labels: i32([-100, -5]),
      attentionMask: i32([1, 1]),
      positionIds: i32([0, 1]),
    },
  ];
  const evalSplit: Feature[] = [{ inputIds: i32([9, 8]) }];
  const key = { stage: "sft", cutoff_len: 4 };
  await saveTokenized(`${dir}/cache`, { train, eval: evalSplit }, { key });
  const back = await loadTokenized(`${dir}/cache`, { key });
  assert.deepEqual(plain(back!.train), plain(train));
  assert.deepEqual(plain(back!.eval!), plain(evalSplit));
  await saveTokenized(`${dir}/empty`, { train: [] }, { key });
  assert.deepEqual((await loadTokenized(`${dir}/empty`, { key }))!.train, []);
  assert.equal(await loadTokenized(`${dir}/missing`, { key }), undefined);
});

Deno.test("withTokenizedCache() builds once, then loads until the key changes or overwrite is set", async () => {
  const dir = `${await Deno.makeTempDir()}/tok`;
  let builds = 0;
  const build = () => {
    builds++;
    return { train: [{ inputIds: i32([builds]), labels: i32([builds]) }] };
  };
  const key = { stage: "sft", cutoff_len: 1024, template: "qwen" };
  const first = await withTokenizedCache(dir, build, { key });
  const again = await withTokenizedCache(dir, build, {
    key: { template: "qwen", cutoff_len: 1024, stage: "sft" }, // key order does not matter
  });
  assert.deepEqual([first.loaded, again.loaded, builds], [false, true, 1]);
  assert.deepEqual([...again.splits.train[0].inputIds], [1]);
  await assert.rejects(
    () => withTokenizedCache(dir, build, { key: { ...key, cutoff_len: 2048 } }),
    {
      name: "RangeError",
      message:
        /built differently \(cutoff_len 1024 then, 2048 now\); set overwrite_cache: true to rebuild it/,
    },
  );
  const rebuilt = await withTokenizedCache(dir, build, {
    key: { ...key, cutoff_len: 2048 },
    overwrite: true,
  });
  assert.deepEqual([rebuilt.loaded, builds, rebuilt.splits.train[0].inputIds[0]], [false, 2, 2]);
  const reloaded = await withTokenizedCache(dir, build, { key: { ...key, cutoff_len: 2048 } });
  assert.deepEqual([reloaded.loaded, reloaded.splits.train[0].inputIds[0]], [true, 2]);
  const none = await withTokenizedCache(undefined, build, { key });
  assert.deepEqual([none.loaded, builds], [false, 3]);
});

Deno.test("the tokenized cache refuses folders it did not write and corrupt files", async () => {
  const root = await Deno.makeTempDir();
  const key = { a: 1 };
  await Deno.mkdir(`${root}/hf`);
  await Deno.writeTextFile(`${root}/hf/dataset_dict.json`, '{"splits": ["train"]}');
  await assert.rejects(() => loadTokenized(`${root}/hf`, { key }), /saved by LlamaFactory/);
  await assert.rejects(
    () => withTokenizedCache(`${root}/hf`, () => ({ train: [] }), { key, overwrite: true }),
    /the folder holds other files/,
  );
  assert.ok(await Deno.stat(`${root}/hf/dataset_dict.json`), "the foreign folder is untouched");
  await saveTokenized(`${root}/ok`, { train: [{ inputIds: i32([1, 2, 3]) }] }, { key });
  const bin = await Deno.readFile(`${root}/ok/train.bin`);
  await Deno.writeFile(`${root}/ok/train.bin`, bin.subarray(0, bin.length - 4));
  await assert.rejects(() => loadTokenized(`${root}/ok`, { key }), SyntaxError);
});

Deno.test("prepareSplits() reuses sft features from tokenized_path and notices changed data", async () => {
  const tokenizedPath = `${await Deno.makeTempDir()}/sft`;
  const template = defineTemplate({ name: "char_test", formatPrefix: [BOS] });
  const tokenizer = new CharTokenizer();
  const args: StageArgs = {
    cutoff_len: 32,
    train_on_prompt: false,
    mask_history: false,
    packing: undefined,
    neat_packing: false,
    enable_thinking: true,
  };
  const chat = (q: string, a: string): Example => ({
    messages: [{ role: "user", content: q }, { role: "assistant", content: a }],
  });
  const train = [chat("hi", "yo"), chat("2+2", "4")], evalSet = [chat("x", "y")];
  const ctx = { tokenizer, template, args, tokenizedPath };
  const first = await prepareSplits(sft, { train, eval: evalSet }, ctx);
  const second = await prepareSplits(sft, { train, eval: evalSet }, ctx);
  assert.deepEqual([first.loaded, second.loaded], [false, true]);
  assert.deepEqual(plain(second.train), plain(first.train));
  assert.deepEqual(plain(second.eval!), plain(first.eval!));
  // The workflow passes the whole config: keys that do not shape the data keep the cache usable.
  const whole = { ...args, max_steps: 7, output_dir: "elsewhere", logging_steps: 3 };
  const third = await prepareSplits(sft, { train, eval: evalSet }, { ...ctx, args: whole });
  assert.equal(third.loaded, true);
  await assert.rejects(
    () => prepareSplits(sft, { train: [...train, chat("new", "data")], eval: evalSet }, ctx),
    /built differently \(data /,
  );
  await assert.rejects(
    () =>
      prepareSplits(sft, { train, eval: evalSet }, { ...ctx, args: { ...args, packing: true } }),
    /built differently \(packing unset then, true now\)/,
  );
  const over = await prepareSplits(sft, { train, eval: evalSet }, {
    ...ctx,
    args: { ...args, train_on_prompt: true },
    overwriteCache: true,
  });
  assert.equal(over.loaded, false);
  assert.deepEqual([...over.train[0].labels!], [...over.train[0].inputIds]);
});
