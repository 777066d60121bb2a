// The board's field labels: one entry per configSchema key (none missing, none stale), real
// human labels in both languages, and the page printing label, key and tooltip in its language.
import assert from "node:assert/strict";
import { configSchema, type FieldInfo } from "../../core/config/mod.ts";
import { FIELD_LABELS, fieldInfo, fieldLabel } from "../../board/field_labels.ts";
import { LANGS } from "../../board/i18n.ts";
import { SchemaField } from "../../board/views/fields.tsx";
import { serve } from "./_serve.ts";

const HAN = /\p{Script=Han}/u;
const keys = configSchema.fields.map((f) => f.key);

Deno.test("field_labels has an entry for every schema key and none for a key it lacks", () => {
  const missing = keys.filter((k) => !Object.hasOwn(FIELD_LABELS, k));
  assert.deepEqual(missing, [], `board/field_labels.ts lacks labels for: ${missing.join(", ")}`);
  const stale = Object.keys(FIELD_LABELS).filter((k) => !configSchema.byKey.has(k));
  assert.deepEqual(stale, [], `board/field_labels.ts labels keys the schema lacks: ${stale}`);
});

Deno.test("field labels are human words, Chinese on the zh side, and unique per language", () => {
  for (const [key, e] of Object.entries(FIELD_LABELS)) {
    assert.ok(e.en.trim(), `${key}: empty English label`);
    assert.notEqual(e.en, key, `${key}: English label is the raw key`);
    // "Learning rate" is fine; "learning_rate" or "Per_device batch" is a key, not a label.
    assert.doesNotMatch(e.en, /_/, `${key}: English label "${e.en}" holds an underscore`);
    assert.match(e.en, /^[A-Z0-9]/, `${key}: English label "${e.en}" starts in lower case`);
    assert.doesNotMatch(e.en, HAN, `${key}: English label "${e.en}" holds Chinese`);
    // Every Chinese label holds at least one Han character, acronyms ("LoRA 秩") included.
    assert.match(e.zh, HAN, `${key}: Chinese label "${e.zh}" holds no Chinese`);
    assert.ok(e.zh_info, `${key}: no Chinese description`);
    assert.match(e.zh_info, HAN, `${key}: Chinese description holds no Chinese`);
  }
  for (const lang of LANGS) {
    const seen = new Map<string, string>();
    for (const [key, e] of Object.entries(FIELD_LABELS)) {
      const other = seen.get(e[lang]);
      assert.equal(other, undefined, `${key} and ${other} share the ${lang} label "${e[lang]}"`);
      seen.set(e[lang], key);
    }
  }
});

Deno.test("fieldLabel and fieldInfo fall back to the key and the English description", () => {
  const lr = configSchema.byKey.get("learning_rate")!;
  assert.equal(fieldLabel("learning_rate", "en"), FIELD_LABELS.learning_rate.en);
  assert.equal(fieldLabel("learning_rate", "zh"), FIELD_LABELS.learning_rate.zh);
  assert.equal(fieldInfo(lr, "en"), lr.description);
  assert.equal(fieldInfo(lr, "zh"), FIELD_LABELS.learning_rate.zh_info);
  // A key the table does not know (nor inherits, as "constructor" would be).
  for (const key of ["no_such_key", "constructor"]) {
    const f: FieldInfo = { ...lr, key, description: `about ${key}` };
    assert.equal(fieldLabel(key, "zh"), key);
    assert.equal(fieldInfo(f, "zh"), `about ${key}`);
  }
});

Deno.test("SchemaField shows the label in the page language, the key and the translated tooltip", () => {
  const f = configSchema.byKey.get("lora_rank")!;
  for (const lang of LANGS) {
    const html = String(SchemaField({ lang, field: f }));
    assert.match(
      html,
      new RegExp(`<span class="label">${FIELD_LABELS.lora_rank[lang]}</span>`),
      html,
    );
    assert.match(html, /<code class="key">lora_rank<\/code>/, html);
    assert.match(html, /id="f_lora_rank"/, html);
    assert.match(html, /data-key="lora_rank"/, html);
    assert.ok(html.includes(`title="${fieldInfo(f, lang)}"`), html);
  }
});

Deno.test("board page labels every schema field it shows in the page's language", async () => {
  await using s = serve();
  for (const lang of LANGS) {
    const html = await (await s.get(`/?lang=${lang}`)).text();
    const pairs = [
      ...html.matchAll(/<span class="label">([^<]*)<\/span><code class="key">([^<]*)<\/code>/g),
    ];
    // Train (basic + every section), eval, chat and export fields: far more than a handful.
    assert.ok(pairs.length > 60, `${lang}: only ${pairs.length} labelled fields`);
    for (const [, label, key] of pairs) {
      assert.ok(configSchema.byKey.has(key), `${lang}: labelled key ${key} is not a schema key`);
      assert.equal(unescape(label), fieldLabel(key, lang), `${lang}: label of ${key}`);
    }
    const shown = new Set(pairs.map((p) => p[2]));
    for (const key of ["learning_rate", "lora_rank", "eval_dataset", "export_dir", "top_p"]) {
      assert.ok(shown.has(key), `${lang}: ${key} not labelled`);
    }
  }
});

function unescape(s: string): string {
  return s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(
    /&gt;/g,
    ">",
  ).replace(/&amp;/g, "&");
}
