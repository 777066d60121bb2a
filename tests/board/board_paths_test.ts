// Paths typed into the board: lexical escapes and symbolic links out of the allowed roots are
// refused, by checkPath itself and by the server's endpoints.
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkPath, PathError } from "../../board/paths.ts";
import { serve } from "./_serve.ts";

/** A working folder with data/ and saves/, and a folder outside it; removed after `fn`. */
async function withRoot(fn: (root: string, outside: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "board_paths_" });
  const root = join(tmp, "root"), outside = join(tmp, "outside");
  try {
    await Deno.mkdir(join(root, "data"), { recursive: true });
    await Deno.mkdir(join(root, "saves", "ok"), { recursive: true });
    await Deno.mkdir(outside);
    await Deno.writeTextFile(join(outside, "dataset_info.json"), '{"secret": {}}');
    await fn(root, outside);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

Deno.test("checkPath() refuses lexical escapes and accepts paths still to be created", async () => {
  await withRoot((root) => {
    for (const p of ["../x", "/etc", "saves/../../x", "data/\0x", "notallowed/x"]) {
      assert.throws(() => checkPath(root, p), PathError, p);
    }
    assert.equal(checkPath(root, "saves/ok/new/deeper"), join(root, "saves/ok/new/deeper"));
    assert.equal(checkPath(root, "saves"), join(root, "saves"));
    return Promise.resolve();
  });
});

Deno.test("checkPath() refuses a symlink inside a root that points outside", async () => {
  await withRoot(async (root, outside) => {
    await Deno.symlink(outside, join(root, "data", "escape"));
    await Deno.symlink(join(root, "saves", "ok"), join(root, "data", "inside"));
    // The link itself and anything below it, existing or not.
    for (const p of ["data/escape", "data/escape/dataset_info.json", "data/escape/new/x"]) {
      assert.throws(() => checkPath(root, p, { key: "dataset_dir" }), (e: Error) => {
        assert.ok(e instanceof PathError);
        assert.match(e.message, /symbolic link/);
        assert.ok(e.message.includes(`dataset_dir "${p}"`), e.message);
        return true;
      });
    }
    // A link between two allowed roots is fine.
    assert.equal(checkPath(root, "data/inside"), join(root, "data/inside"));
  });
});

Deno.test("checkPath() refuses a broken symlink (it could be created outside)", async () => {
  await withRoot(async (root, outside) => {
    await Deno.symlink(join(outside, "missing"), join(root, "saves", "dangling"));
    assert.throws(() => checkPath(root, "saves/dangling/run"), /broken symbolic link/);
  });
});

Deno.test("checkPath() follows an allowed root that is itself a link", async () => {
  await withRoot(async (root, outside) => {
    // models/ may live on another disk: its real path becomes the root.
    await Deno.symlink(outside, join(root, "models"));
    assert.equal(
      checkPath(root, "models/dataset_info.json"),
      join(root, "models/dataset_info.json"),
    );
  });
});

Deno.test("board endpoints refuse a dataset folder linked outside the root", async () => {
  await withRoot(async (root, outside) => {
    await Deno.symlink(outside, join(root, "data", "escape"));
    await using s = serve({ root });
    const res = await s.get("/api/datasets?dir=data/escape");
    assert.equal(res.status, 400);
    const { error } = await res.json();
    assert.match(error, /symbolic link/);
    assert.doesNotMatch(error, /secret/);
    const run = await s.post("/api/runs", {
      values: { model_name_or_path: "models/tiny-llama", output_dir: "data/escape/run" },
    });
    assert.equal(run.status, 400);
    assert.equal(s.board.runs.state.status, "idle");
  });
});

Deno.test("model paths may point into the Hugging Face cache (HF_HUB_CACHE), other keys not", async () => {
  await withRoot(async (root, outside) => {
    const snapshot = join(outside, "models--org--m", "snapshots", "abc");
    await Deno.mkdir(snapshot, { recursive: true });
    const old = Deno.env.get("HF_HUB_CACHE");
    Deno.env.set("HF_HUB_CACHE", outside);
    try {
      assert.equal(checkPath(root, snapshot, { key: "model_name_or_path" }), snapshot);
      assert.equal(checkPath(root, snapshot, { key: "adapter_name_or_path" }), snapshot);
      assert.throws(() => checkPath(root, snapshot, { key: "output_dir" }), PathError);
      assert.throws(() => checkPath(root, snapshot), PathError);
      // Outside both the roots and the cache: the message names the cache as an allowed place.
      assert.throws(
        () => checkPath(root, "/etc", { key: "model_name_or_path" }),
        (e: Error) => e instanceof PathError && e.message.includes(`the model cache "${outside}"`),
      );
    } finally {
      if (old === undefined) Deno.env.delete("HF_HUB_CACHE");
      else Deno.env.set("HF_HUB_CACHE", old);
    }
  });
});
