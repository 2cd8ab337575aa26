/**
 * A small, strict argument parser: every command declares its options, and
 * anything unknown or malformed is refused with a message that says which
 * option and why (a typo must not silently fall back to a default).
 */

export type OptionType = 'string' | 'number' | 'int' | 'boolean' | 'size';

export interface OptionSpec {
  type: OptionType;
  help: string;
  /** Shown in the usage; also the value when the option is absent (unless `required`). */
  default?: string | number | boolean;
  required?: boolean;
  /** Allowed values for a string option. */
  choices?: readonly string[];
  /** Inclusive bounds for a number option, checked where it is parsed. */
  range?: readonly [number, number];
  /** Placeholder in the usage text, e.g. "DIR". */
  meta?: string;
  /** Short alias without the dash, e.g. "o". */
  alias?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export interface Size { width: number; height: number }

export interface ParsedArgs {
  positionals: string[];
  /** Parsed values, defaults filled in. Sizes come back as {width, height}. */
  values: Record<string, string | number | boolean | Size | undefined>;
  /** Options the user actually gave (so a resumed run can tell its own flags from defaults). */
  given: Set<string>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** "320x256" → {width: 320, height: 256}. */
export function parseSize(text: string, what = 'size'): Size {
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(text);
  if (!m) throw new UsageError(`${what} "${text}" must be WIDTHxHEIGHT, e.g. 256x320`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 8 || height < 8 || width > 16384 || height > 16384) {
    throw new UsageError(`${what} "${text}": width and height must be within 8..16384`);
  }
  return { width, height };
}

export function formatSize(s: Size): string {
  return `${s.width}x${s.height}`;
}

function convert(name: string, spec: OptionSpec, raw: string): string | number | boolean | Size {
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')} (got "${raw}")`);
      }
      return raw;
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} needs a number (got "${raw}")`);
      if (spec.range && !(v >= spec.range[0] && v <= spec.range[1])) throw new UsageError(`--${name} ${v} must be in [${spec.range[0]}, ${spec.range[1]}]`);
      return v;
    }
    case 'int': {
      const v = Number(raw);
      if (!Number.isInteger(v) || v < 0) throw new UsageError(`--${name} needs a whole number ≥ 0 (got "${raw}")`);
      return v;
    }
    case 'size':
      return parseSize(raw, `--${name}`);
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new UsageError(`--${name} is a switch (true/false), got "${raw}"`);
  }
}

export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const positionals: string[] = [];
  const values: ParsedArgs['values'] = {};
  const given = new Set<string>();
  const byAlias = new Map(Object.entries(specs).filter(([, s]) => s.alias).map(([n, s]) => [s.alias!, n]));
  let onlyPositionals = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyPositionals || !arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') { onlyPositionals = true; continue; }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const alias = byAlias.get(arg.slice(1));
      if (!alias) throw new UsageError(`unknown option ${arg}`);
      name = alias;
    }
    const spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean' && inline === undefined) {
      values[name.slice(3)] = false;
      given.add(name.slice(3));
      continue;
    }
    if (!spec) {
      const close = Object.keys(specs).find((k) => k.startsWith(name) || name.startsWith(k));
      throw new UsageError(`unknown option --${name}${close ? ` (did you mean --${close}?)` : ''}`);
    }
    if (spec.type === 'boolean' && inline === undefined) {
      values[name] = true;
    } else {
      const raw = inline ?? argv[++i];
      if (raw === undefined) throw new UsageError(`--${name} needs a value${spec.meta ? ` (${spec.meta})` : ''}`);
      values[name] = convert(name, spec, raw);
    }
    given.add(name);
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] !== undefined) continue;
    if (spec.required) throw new UsageError(`--${name} is required${spec.meta ? ` (${spec.meta})` : ''}`);
    if (spec.default !== undefined) {
      values[name] = typeof spec.default === 'string' && spec.type !== 'string' ? convert(name, spec, spec.default) : spec.default;
    }
  }
  return { positionals, values, given };
}

/** The options block of a command's usage text. */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const flag = `${s.alias ? `-${s.alias}, ` : ''}--${name}${s.type === 'boolean' ? '' : ` ${s.meta ?? s.type.toUpperCase()}`}`;
    const extra = [
      s.choices ? `one of: ${s.choices.join(', ')}` : '',
      s.range ? `${s.range[0]} to ${s.range[1]}` : '',
      s.required ? 'required' : s.default !== undefined && s.default !== false ? `default: ${s.default}` : '',
    ].filter(Boolean).join('; ');
    return [flag, `${s.help}${extra ? ` (${extra})` : ''}`];
  });
  const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
  return rows.map(([f, h]) => `  ${f.padEnd(width)}${f.length >= width ? `\n  ${' '.repeat(width)}` : ''}${h}`).join('\n');
}
