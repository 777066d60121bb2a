// What every config-driven command does first: split `[config.yaml] [key=value ...] [--plugin f]`,
// build the registries with the plugins, validate the config and print its notes, then check
// the command's paths, adapters and template (./_preflight.ts) before any GPU work.
import type { Args } from "../core/config/schema.ts";
import { loadConfig } from "../core/config/mod.ts";
import { loadPlugin, type Registries } from "../core/plugins.ts";
import { builtinRegistries } from "../plugins/mod.ts";
import { type CommandName, preflight } from "./_preflight.ts";

export interface CommandConfig {
  args: Args;
  registries: Registries;
}

export interface CommandConfigOptions {
  /** Runs the command's preflight checks; without it only the config itself is validated. */
  command?: CommandName;
}

export async function commandConfig(
  argv: string[],
  opts: CommandConfigOptions = {},
): Promise<CommandConfig> {
  const { path, overrides, plugins } = splitArgs(argv);
  const registries = builtinRegistries();
  for (const p of plugins) await loadPlugin(registries, p);
  const { args, notes } = await loadConfig(path, overrides, {
    plugins: { template: registries.templates.names() },
  });
  for (const n of notes) console.error(`note: ${n}`);
  if (opts.command) {
    for (const w of await preflight(args, registries, opts.command)) console.error(`warning: ${w}`);
  }
  return { args, registries };
}

/** `[config.yaml] [key=value ...] [--plugin file.ts ...]`. */
export function splitArgs(
  argv: string[],
): { path?: string; overrides: string[]; plugins: string[] } {
  const overrides: string[] = [], plugins: string[] = [];
  let path: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--plugin") plugins.push(argv[++i]);
    else if (a.startsWith("--plugin=")) plugins.push(a.slice(9));
    else if (a.includes("=")) overrides.push(a.replace(/^--/, ""));
    else if (!path && /\.(ya?ml|json)$/.test(a)) path = a;
    else {
      throw new TypeError(
        `Cannot read argument "${a}": expected a config file, key=value or --plugin file.ts`,
      );
    }
  }
  return { path, overrides, plugins };
}
