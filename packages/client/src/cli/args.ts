import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './exit-codes.ts';
import { didYouMean } from './suggest.ts';

export type OptionSpec = {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in help, e.g. "--reference <text>  (required) invoice or payment reference". */
  help: string;
  /** Placeholder in help (default "<value>"). */
  value?: string;
  /** Fixed values, for shell completion (`<a|b>` placeholders are read as such too). */
  choices?: readonly string[];
};

export type GlobalFlags = {
  url: string | undefined;
  token: string | undefined;
  json: boolean;
  help: boolean;
};

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: {
    type: 'string',
    value: '<url>',
    help: 'gateway base URL (default $TOLLGATE_URL or http://localhost:8787)',
  },
  token: {
    type: 'string',
    value: '<key|jwt>',
    help: 'API key, operator key or JWT (default $TOLLGATE_TOKEN)',
  },
  json: { type: 'boolean', help: 'machine-readable JSON on stdout' },
  help: { type: 'boolean', short: 'h', help: 'show help for the command' },
};

// A negative amount ("-5.00") would read as a flag; it is shielded during parsing.
const NEG = '\u0000neg:';
const shield = (a: string) => (/^-\$?\d/.test(a) ? `${NEG}${a.slice(1)}` : a);
const unshield = (a: string) => (a.startsWith(NEG) ? `-${a.slice(NEG.length)}` : a);

type ParseOptions = NonNullable<ParseArgsConfig['options']>;

function toParseArgsOptions(specs: Record<string, OptionSpec>): ParseOptions {
  const out: ParseOptions = {};
  for (const [name, s] of Object.entries(specs)) {
    out[name] = {
      type: s.type,
      ...(s.short === undefined ? {} : { short: s.short }),
      ...(s.multiple === undefined ? {} : { multiple: s.multiple }),
    };
  }
  return out;
}

export type Parsed = {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
};

/** Strict parse against the given options: unknown flags and missing values are usage errors. */
export function parseStrict(
  argv: readonly string[],
  specs: Record<string, OptionSpec>,
  helpFor: string[],
): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args: argv.map(shield),
      options: toParseArgsOptions(specs),
      allowPositionals: true,
      strict: true,
    });
    const clean: Parsed['values'] = {};
    for (const [k, v] of Object.entries(values)) {
      clean[k] =
        typeof v === 'string' ? unshield(v) : Array.isArray(v) ? v.map((x) => unshield(String(x))) : v;
    }
    return { positionals: positionals.map(unshield), values: clean };
  } catch (err) {
    const message = (err instanceof Error ? err.message : String(err)).replace(
      /\. To specify a positional argument.*$/s,
      '.',
    );
    // "Unknown option '--refernce'" → "… did you mean `--reference`?"
    const unknown = /^Unknown option '--([^']+)'/.exec(message)?.[1];
    const hint = unknown === undefined ? '' : didYouMean(unknown, Object.keys(specs), (o) => `--${o}`);
    throw new UsageError(hint === '' ? message : `${message} — ${hint}`, helpFor);
  }
}

/** Loose parse, only to find which command the positionals name (flags may come before it). */
export function commandWords(argv: readonly string[], allSpecs: Record<string, OptionSpec>): string[] {
  const { positionals } = parseArgs({
    args: argv.map(shield),
    options: toParseArgsOptions(allSpecs),
    allowPositionals: true,
    strict: false,
  });
  return positionals.map(unshield);
}

export function globalFlags(values: Parsed['values']): GlobalFlags {
  return {
    url: typeof values.url === 'string' ? values.url : undefined,
    token: typeof values.token === 'string' ? values.token : undefined,
    json: values.json === true,
    help: values.help === true,
  };
}

export function str(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: Parsed['values'], name: string): string[] {
  const v = values[name];
  if (Array.isArray(v)) return v;
  return typeof v === 'string' ? [v] : [];
}

export function int(values: Parsed['values'], name: string, helpFor: string[]): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(v)}`, helpFor);
  }
  return Number(v);
}
