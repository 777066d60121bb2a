// The page as served: the element ids the browser tests rely on, no external URL anywhere
// (page, CSS, bundle: the board works offline), and the client bundle content-hashed and
// rebuilt when its sources change.
import assert from "node:assert/strict";
import { join } from "node:path";
import { clientBundle, sourceHash } from "../../board/bundle.ts";
import { serve } from "./_serve.ts";

const IDS = [
  // top bar
  "model_name_or_path",
  "finetuning_type",
  "adapter_name_or_path",
  "adapter-refresh",
  "quantization_bit",
  "template",
  // tabs
  "tab-train",
  "tab-eval",
  "tab-chat",
  "tab-export",
  // train
  "stage",
  "dataset_dir",
  "dataset",
  "output_dir",
  "preview-cmd",
  "command",
  "save-args",
  "load-args",
  "start",
  "abort",
  "run-status",
  "run-error",
  "run-progress",
  "loss-chart",
  // eval
  "eval-mode",
  "eval-start",
  "eval-abort",
  "eval-status",
  "eval-metrics",
  "eval-error",
  // chat
  "chat-load",
  "chat-unload",
  "chat-status",
  "chat-system",
  "chat-input",
  "chat-send",
  "chat-clear",
  "chat-log",
  // export
  "export_dir",
  "export-start",
  "export-status",
  "export-result",
  "export-error",
];

/** The start tag of the element with `id` (ids are unique: asserted). */
function tag(html: string, id: string): string {
  const all = [...html.matchAll(new RegExp(`<[a-z]+ [^>]*id="${id}"[^>]*>`, "g"))];
  assert.equal(all.length, 1, `one element #${id}, found ${all.length}`);
  return all[0][0];
}

Deno.test("board page holds every id of the browser-test contract once", async () => {
  await using s = serve();
  const html = await (await s.get("/")).text();
  for (const id of IDS) tag(html, id);
  assert.match(tag(html, "adapter_name_or_path"), /^<select [^>]*multiple/);
  assert.match(tag(html, "dataset"), /^<select [^>]*multiple/);
  assert.match(tag(html, "eval-metrics"), /^<table /);
  assert.match(tag(html, "loss-chart"), /data-points="0"/);
  for (const id of ["run-status", "eval-status", "export-status"]) {
    assert.match(tag(html, id), /data-status="idle"/, id);
  }
  assert.match(tag(html, "chat-status"), /data-status="unloaded"/);
  // The Train tab shows; the others are hidden until chosen.
  assert.doesNotMatch(tag(html, "tab-train"), /hidden/);
  for (const tab of ["eval", "chat", "export"]) {
    assert.match(tag(html, `tab-${tab}`), /hidden/);
    assert.match(html, new RegExp(`data-tab="${tab}"`));
  }
  for (const key of ["max_steps", "logging_steps", "learning_rate"]) {
    assert.equal(html.split(`data-key="${key}"`).length, 2, `one [data-key="${key}"]`);
  }
  const eval_ = await (await s.get("/?tab=eval")).text();
  assert.doesNotMatch(tag(eval_, "tab-eval"), /hidden/);
  assert.match(tag(eval_, "tab-train"), /hidden/);
});

Deno.test("board page, styles and bundle name no external URL", async () => {
  await using s = serve();
  const html = await (await s.get("/?lang=zh")).text();
  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(assets.length >= 4, assets.join(" "));
  for (const a of assets) {
    // Every asset is ours: a path on this server (or the empty data: icon).
    assert.match(a, /^(\/[^/]|\?|data:,$)/, a);
  }
  assert.doesNotMatch(html, /(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
  for (const a of assets.filter((a) => a.startsWith("/static/"))) {
    const res = await s.get(a);
    assert.equal(res.status, 200, a);
    const body = await res.text();
    // No fetch of remote code, styles or fonts from the assets themselves.
    assert.doesNotMatch(body, /@import\s+url\(\s*["']?https?:/i, a);
    assert.doesNotMatch(body, /url\(\s*["']?https?:/i, a);
    assert.doesNotMatch(body, /\bimport\s*\(?\s*["']https?:/i, a);
  }
  assert.equal((await s.get("/static/board.0000000000000000.js")).status, 404);
  assert.equal((await s.get("/static/../server.ts")).status, 404);
});

Deno.test("clientBundle() names the bundle by its sources and rebuilds when they change", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "board_bundle_" });
  try {
    const src = join(tmp, "src"), cache = join(tmp, "cache");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "dep.ts"), 'export const word: string = "first";\n');
    await Deno.writeTextFile(
      join(src, "main.ts"),
      'import { word } from "./dep.ts";\nconsole.log(word);\n',
    );
    const a = await clientBundle({ srcDir: src, cacheDir: cache });
    assert.match(a.name, /^board\.[0-9a-f]{16}\.js$/);
    assert.ok(a.code.includes('"first"'));
    assert.ok(!a.code.includes(": string"), "TypeScript is stripped");
    assert.deepEqual([...Deno.readDirSync(cache)].map((e) => e.name), [a.name]);
    // Same sources: the same build (memoised, then read back from the cache folder).
    assert.equal((await clientBundle({ srcDir: src, cacheDir: cache })).name, a.name);
    await Deno.writeTextFile(join(src, "dep.ts"), 'export const word: string = "second";\n');
    assert.notEqual(await sourceHash(src), a.name.split(".")[1]);
    const b = await clientBundle({ srcDir: src, cacheDir: join(tmp, "cache") + "/" });
    assert.notEqual(b.name, a.name);
    assert.ok(b.code.includes('"second"'));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("clientBundle() reports a source that does not compile", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "board_bundle_" });
  try {
    await Deno.writeTextFile(join(tmp, "main.ts"), "export const = ;\n");
    await assert.rejects(
      clientBundle({ srcDir: tmp, cacheDir: join(tmp, "cache") }),
      /Cannot bundle the board's client/,
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("board client type-checks with the DOM typings", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", "board/client/main.ts"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
});
