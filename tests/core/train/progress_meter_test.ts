import assert from "node:assert/strict";
import { formatDuration } from "../../../core/train/log.ts";
import { parseProgressLine, ProgressBar } from "../../../core/train/progress.ts";
import { ProgressMeter } from "../../../core/train/progress_meter.ts";

Deno.test("parseProgressLine() reads back every field of ProgressBar's plain lines", () => {
  const cases = [
    { step: 7, total: 23, elapsedS: 75, remainingS: 3725, loss: 1.2345, lr: 3e-5, epoch: 0.31 },
    { step: 0, total: 1000, elapsedS: 0, remainingS: 0 },
    { step: 19, total: 19, elapsedS: 90061, remainingS: 0, tokensPerS: 54321 },
  ];
  for (const u of cases) {
    const out: string[] = [];
    const bar = new ProgressBar({ total: u.total, tty: false, write: (t) => out.push(t) });
    bar.update(u);
    assert.equal(out.length, 1);
    const p = parseProgressLine(out[0]);
    assert.ok(p, `parsed: ${JSON.stringify(out[0])}`);
    assert.equal(p.step, u.step);
    assert.equal(p.total, u.total);
    assert.ok(Math.abs(p.percentage - (100 * u.step) / u.total) < 0.05, out[0]);
    assert.equal(p.elapsed, formatDuration(u.elapsedS));
    assert.equal(p.remaining, formatDuration(u.remainingS));
    assert.equal(p.loss, u.loss === undefined ? undefined : Number(u.loss.toFixed(4)));
    assert.equal(p.epoch, u.epoch);
    if (u.lr !== undefined) assert.ok(Math.abs(p.lr! - u.lr) < 1e-9);
  }
});

Deno.test("parseProgressLine() refuses lines that are not progress lines", () => {
  for (
    const line of [
      "Saved results.json and results.log to saves/x",
      "[3/10 30.0%] no times here",
      "  Average: 25.00",
      "\r 30%|███ | 3/10 [0:00:01<0:00:02]",
    ]
  ) {
    assert.equal(parseProgressLine(line), null, line);
  }
});

Deno.test("ProgressMeter writes a bounded number of plain lines, the last at total, with an ETA", () => {
  const out: string[] = [];
  let t = 0;
  const meter = new ProgressMeter({
    tty: false,
    maxLines: 10,
    now: () => t,
    write: (s) => out.push(s),
  });
  const total = 997;
  for (let done = 0; done <= total; done++) {
    meter.onProgress(done, total);
    t += 1000; // one second per unit
  }
  meter.finish();
  assert.ok(out.length <= 11 && out.length >= 5, `${out.length} lines`);
  const parsed = out.map((l) => parseProgressLine(l)!);
  assert.ok(parsed.every(Boolean));
  const steps = parsed.map((p) => p.step);
  assert.deepEqual(steps, [...steps].sort((a, b) => a - b), "steps increase");
  assert.equal(steps[0], 0);
  assert.equal(steps.at(-1), total);
  assert.equal(parsed.at(-1)!.remaining, formatDuration(0));
  // At `done` units after `done` seconds, the ETA is total - done seconds.
  const mid = parsed.find((p) => p.step > 0 && p.step < total)!;
  assert.equal(mid.elapsed, formatDuration(mid.step));
  assert.equal(mid.remaining, formatDuration(total - mid.step));
});

Deno.test("ProgressMeter redraws a terminal at most once per interval, and always at the end", () => {
  const out: string[] = [];
  let t = 0;
  const meter = new ProgressMeter({
    tty: true,
    columns: 80,
    minIntervalMs: 100,
    now: () => t,
    write: (s) => out.push(s),
  });
  for (let done = 0; done <= 200; done++) {
    meter.onProgress(done, 200);
    t += 10; // 2 s in all: ~20 redraws allowed
  }
  meter.finish();
  const draws = out.filter((s) => s.startsWith("\r"));
  assert.ok(draws.length >= 15 && draws.length <= 22, `${draws.length} redraws`);
  assert.match(draws.at(-1)!, /100%\|.*\| 200\/200/);
  assert.equal(out.at(-1), "\n");
});
