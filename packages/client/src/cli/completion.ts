// `tollgate completion bash|zsh`: a completion script generated from the command table, so it can
// never list a command or flag the CLI does not have. Completes command words, then the flags of the
// command typed so far (and the global ones), and the fixed values of --status, --mode, --decision…
import { GLOBAL_OPTIONS, type OptionSpec } from './args.ts';
import type { Command } from './commands.ts';

type Entry = { words: string[]; summary: string; options: Record<string, OptionSpec>; args: string[] };

function entries(commands: readonly Command[]): Entry[] {
  return commands.flatMap((c) =>
    [c.path, ...(c.aliases ?? [])].map((words) => ({
      words,
      summary: c.summary,
      options: c.options,
      args: c.args,
    })),
  );
}

/** `<a|b|c>` placeholders name fixed values worth completing. */
function choices(spec: Pick<OptionSpec, 'choices' | 'value'>): string[] {
  if (spec.choices !== undefined) return [...spec.choices];
  const m = /^<([a-z0-9-]+(?:\|[a-z0-9-]+)+)>$/.exec(spec.value ?? '');
  return m?.[1] ? m[1].split('|').filter((v) => !['none', 'n', 'usd'].includes(v)) : [];
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Shell `case` arms: command words (space-joined) → its flags; flag → its fixed values. */
function tables(commands: readonly Command[]) {
  const all = entries(commands);
  const flagsOf = (e: Entry) =>
    [...Object.keys(e.options), ...Object.keys(GLOBAL_OPTIONS)].map((f) => `--${f}`).join(' ');
  const optionArms = all.map((e) => `    ${q(e.words.join(' '))}) echo ${q(flagsOf(e))} ;;`);
  // "<command words> --flag" → its fixed values.
  const valueArms = all.flatMap((e) =>
    Object.entries(e.options).flatMap(([name, spec]) => {
      const c = choices(spec);
      return c.length === 0 ? [] : [`    ${q(`${e.words.join(' ')} --${name}`)}) echo ${q(c.join(' '))} ;;`];
    }),
  );
  const firsts = [...new Set(all.map((e) => e.words[0] ?? ''))];
  // The word after the first: a group's subcommands, or a one-word command's fixed first argument.
  const subs = firsts.flatMap((w) => {
    const inGroup = all.filter((e) => e.words[0] === w && e.words.length > 1).map((e) => e.words[1]);
    const single = all.find((e) => e.words.length === 1 && e.words[0] === w);
    const next = inGroup.length > 0 ? inGroup : choices({ value: single?.args[0] ?? '' });
    return next.length === 0 ? [] : [`    ${q(w)}) echo ${q(next.join(' '))} ;;`];
  });
  return { all, firsts, optionArms, valueArms, subs };
}

function helpers(prefix: string, commands: readonly Command[]): string {
  const t = tables(commands);
  return [
    `${prefix}_subcommands() {`,
    '  case "$1" in',
    ...t.subs,
    '  esac',
    '}',
    `${prefix}_flags() {`,
    '  case "$1" in',
    ...t.optionArms,
    `    *) echo ${q(
      Object.keys(GLOBAL_OPTIONS)
        .map((f) => `--${f}`)
        .join(' '),
    )} ;;`,
    '  esac',
    '}',
    `${prefix}_values() {`,
    '  case "$1" in',
    ...t.valueArms,
    '  esac',
    '}',
    `${prefix}_firsts=${q([...t.firsts, '--version', '--help'].join(' '))}`,
  ].join('\n');
}

export function bashCompletion(commands: readonly Command[]): string {
  return `# tollgate completion for bash. Load it with:  source <(tollgate completion bash)
# or install it:  tollgate completion bash > ~/.local/share/bash-completion/completions/tollgate
${helpers('_tollgate', commands)}
_tollgate() {
  local cur prev words=() w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  # The command words typed so far (flags and their values skipped).
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    words+=("$w")
  done
  local values
  values="$(_tollgate_values "\${words[0]} \${words[1]} $prev")"
  [[ -z $values ]] && values="$(_tollgate_values "\${words[0]} $prev")"
  if [[ -n $values ]]; then
    COMPREPLY=($(compgen -W "$values" -- "$cur"))
  elif [[ $cur == -* ]]; then
    local cmd="\${words[0]} \${words[1]}"
    local flags="$(_tollgate_flags "$cmd")"
    [[ $flags == "$(_tollgate_flags '')" ]] && flags="$(_tollgate_flags "\${words[0]}")"
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif ((\${#words[@]} == 0)); then
    COMPREPLY=($(compgen -W "$_tollgate_firsts" -- "$cur"))
  elif ((\${#words[@]} == 1)); then
    COMPREPLY=($(compgen -W "$(_tollgate_subcommands "\${words[0]}")" -- "$cur"))
  fi
}
complete -o default -F _tollgate tollgate
`;
}

export function zshCompletion(commands: readonly Command[]): string {
  const t = tables(commands);
  const described = t.firsts.map((w) => {
    const only = t.all.find((e) => e.words.length === 1 && e.words[0] === w);
    return q(`${w}:${only ? only.summary : `${w} commands`}`);
  });
  return `#compdef tollgate
# tollgate completion for zsh. Load it with:  source <(tollgate completion zsh)
# or install it as _tollgate in a directory of your $fpath.
${helpers('_tollgate', commands)}
_tollgate() {
  local -a cmdwords firsts
  local w i
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    [[ $w == -* ]] && continue
    cmdwords+=("$w")
  done
  local values="$(_tollgate_values "\${cmdwords[1]} \${cmdwords[2]} \${words[CURRENT-1]}")"
  [[ -z $values ]] && values="$(_tollgate_values "\${cmdwords[1]} \${words[CURRENT-1]}")"
  if [[ -n $values ]]; then
    compadd -- \${=values}
  elif [[ \${words[CURRENT]} == -* ]]; then
    local flags="$(_tollgate_flags "\${cmdwords[1]} \${cmdwords[2]}")"
    [[ $flags == "$(_tollgate_flags '')" ]] && flags="$(_tollgate_flags "\${cmdwords[1]}")"
    compadd -- \${=flags}
  elif (( \${#cmdwords} == 0 )); then
    firsts=(${described.join(' ')})
    _describe 'command' firsts
  elif (( \${#cmdwords} == 1 )); then
    local subs="$(_tollgate_subcommands "\${cmdwords[1]}")"
    compadd -- \${=subs}
  fi
}
if [[ $zsh_eval_context == *loadautofunc* ]]; then _tollgate "$@"; else compdef _tollgate tollgate; fi
`;
}
