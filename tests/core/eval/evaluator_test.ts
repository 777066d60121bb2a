import assert from "node:assert/strict";
import { loadConfig } from "../../../core/config/mod.ts";
import {
  CHOICES,
  EVAL_TEMPLATES,
  evaluate,
  evaluateSubjects,
  formatExample,
  loadTask,
  parseCsv,
  parseTaskName,
  pickChoices,
} from "../../../core/eval/mod.ts";
import { ChatModel } from "../../../core/infer/chat.ts";
import { initGpu } from "../../../core/tensor/mod.ts";
import { builtinRegistries } from "../../../plugins/mod.ts";

const root = new URL("../../../", import.meta.url).pathname;

async function tinyArgs(extra: string[]) {
  const registries = builtinRegistries();
  const { args } = await loadConfig(undefined, [
    `model_name_or_path=${root}models/tiny-llama`,
    "template=llama3",
    `task_dir=${root}evaluation`,
    ...extra,
  ], { plugins: { template: registries.templates.names() } });
  return { args, registries };
}

Deno.test("pickChoices() picks the letter with the largest logit among the choice tokens", () => {
  const vocab = 7, choiceIds = [2, 3, 5, 6];
  // Fresh random rows; a non-choice token always holds the largest logit, so it must be ignored.
  for (let trial = 0; trial < 20; trial++) {
    const rows = 3, logits = new Float32Array(rows * vocab).map(() => Math.random() * 4 - 2);
    const want = [];
    for (let r = 0; r < rows; r++) {
      logits[r * vocab] = 10;
      const vals = choiceIds.map((id) => logits[r * vocab + id]);
      want.push(CHOICES[vals.indexOf(Math.max(...vals))]);
    }
    assert.deepEqual(pickChoices(logits, { vocab, choiceIds }), want);
  }
  assert.throws(() => pickChoices(new Float32Array(5), { vocab, choiceIds }), TypeError);
});

Deno.test("parseCsv() reads quoted fields with commas, quotes and CRLF", () => {
  assert.deepEqual(parseCsv('a,"b, c","say ""hi"""\r\n\r\nd,e,f\n'), [
    ["a", "b, c", 'say "hi"'],
    ["d", "e", "f"],
  ]);
});

Deno.test("parseTaskName() maps LlamaFactory split names to the task folders", () => {
  assert.deepEqual(parseTaskName("tinyqa_test"), { name: "tinyqa", split: "test" });
  assert.deepEqual(parseTaskName("my_task_validation"), { name: "my_task", split: "val" });
  assert.throws(() => parseTaskName("tinyqa"), TypeError);
});

Deno.test("formatExample() lays out the few-shot prompt as LlamaFactory's eval template", async () => {
  const [s] = await loadTask(`${root}evaluation`, "tinyqa_test");
  const m = formatExample(EVAL_TEMPLATES.en, s.questions[0], {
    support: s.dev.slice(0, 1),
    subject: s.name,
  });
  assert.equal(m.length, 4);
  const d = s.dev[0], q = s.questions[0];
  assert.equal(
    m[0].content,
    `The following are multiple choice questions (with answers) about ${s.name}.\n\n` +
      `${d.question}\nA. ${d.A}\nB. ${d.B}\nC. ${d.C}\nD. ${d.D}\nAnswer:`,
  );
  assert.equal(m[1].content, d.answer);
  assert.equal(m[2].content, `${q.question}\nA. ${q.A}\nB. ${q.B}\nC. ${q.C}\nD. ${q.D}\nAnswer:`);
  assert.equal(m[3].content, q.answer);
});

Deno.test("evaluate() runs tinyqa on tiny-llama and saves accuracies that match its choices", async () => {
  await initGpu();
  const saveDir = `${await Deno.makeTempDir()}/results`;
  const { args, registries } = await tinyArgs([
    "task=tinyqa_test",
    "n_shot=2",
    "batch_size=3",
    `save_dir=${saveDir}`,
  ]);
  const chat = await ChatModel.load(args, registries);
  try {
    const result = await evaluate(chat, args);
    const subjects = await loadTask(args.task_dir, "tinyqa_test");
    const saved = JSON.parse(await Deno.readTextFile(`${saveDir}/results.json`));
    assert.deepEqual(Object.keys(saved), subjects.map((s) => s.id));
    // Recompute every accuracy from the saved choices and the answer key.
    const cats = new Map<string, boolean[]>([["Average", []]]);
    for (const s of subjects) {
      const choices = saved[s.id] as Record<string, string>;
      assert.deepEqual(Object.keys(choices), s.questions.map((_, i) => String(i)));
      const ok = s.questions.map((q, i) => {
        assert.ok(CHOICES.includes(choices[i] as typeof CHOICES[number]), choices[i]);
        return choices[i] === q.answer;
      });
      assert.equal(result.subjects[s.id], (100 * ok.filter(Boolean).length) / ok.length);
      cats.get("Average")!.push(...ok);
      cats.set(s.category, [...(cats.get(s.category) ?? []), ...ok]);
    }
    const log = await Deno.readTextFile(`${saveDir}/results.log`);
    const lines = log.split("\n");
    const order = ["Average", "STEM", "Social Sciences", "Humanities", "Other"].filter((c) =>
      cats.has(c)
    );
    assert.equal(lines.length, order.length);
    lines.forEach((line, i) => {
      const ok = cats.get(order[i])!;
      const acc = (100 * ok.filter(Boolean).length) / ok.length;
      assert.equal(line, `${order[i].padStart(15)}: ${acc.toFixed(2)}`);
    });
    // LlamaFactory refuses to overwrite an existing save_dir.
    await assert.rejects(() => evaluate(chat, args), Deno.errors.AlreadyExists);

    // Left-padded batches choose as one question at a time does.
    const one = await evaluateSubjects(chat, subjects, { batchSize: 1, nShot: 2, seed: args.seed });
    assert.deepEqual(one.choices, result.choices);
  } finally {
    chat.release();
  }
});

Deno.test("evaluate() reports the questions scored so far, from 0 to the total across subjects", async () => {
  await initGpu();
  const { args, registries } = await tinyArgs(["task=tinyqa_test", "n_shot=0", "batch_size=4"]);
  const subjects = await loadTask(args.task_dir, "tinyqa_test");
  const total = subjects.reduce((n, s) => n + s.questions.length, 0);
  const calls: [number, number][] = [];
  const chat = await ChatModel.load(args, registries);
  try {
    await evaluate(chat, args, { onProgress: (done, all) => calls.push([done, all]) });
  } finally {
    chat.release();
  }
  assert.deepEqual(calls[0], [0, total]);
  assert.ok(calls.every(([, all]) => all === total), JSON.stringify(calls));
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i][0] > calls[i - 1][0], "increasing");
  assert.equal(calls.at(-1)![0], total);
  // One report per batch of each subject, besides the first.
  const batches = subjects.reduce((n, s) => n + Math.ceil(s.questions.length / 4), 0);
  assert.equal(calls.length, 1 + batches);
});
