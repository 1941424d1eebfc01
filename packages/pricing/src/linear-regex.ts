// A linear-time matcher for the `pattern` of a string param. Admins write the patterns; tenants
// send the input. JavaScript's backtracking engine can take exponential time on some patterns
// (`^(a+)+$` against 28 a's and a "!" blocked the event loop ~0.5 s, doubling with each character),
// so patterns are NOT run with RegExp.prototype.test: they are compiled to a Thompson NFA and
// simulated over the input's code points, which is O(input length × pattern size) whatever the
// pattern. Semantics are JavaScript's (unicode mode, no flags, `test` = search anywhere unless
// anchored). Single characters (a literal, `.`, an escape such as \d or \p{L}, a class `[...]`)
// are still matched by a one-character RegExp, which cannot backtrack. Constructs that no linear
// engine can match — backreferences and lookarounds — are refused when the rule is stored.

/** What `compileLinearPattern` refuses, with the reason to show the admin. */
export class UnsupportedPatternError extends Error {
  override readonly name = 'UnsupportedPatternError';
}

/**
 * The longest value a string param with a `pattern` accepts (its own maxLength when smaller): the
 * match is linear, and this bounds it (5,000 states × 4,096 characters at worst).
 */
export const PATTERN_MAX_INPUT_LENGTH = 4_096;

/** NFA size limit (counted repetitions are expanded): keeps the per-character step small. */
export const MAX_PATTERN_STATES = 5_000;

type CharTest = (cp: number) => boolean;
type Assertion = '^' | '$' | 'b' | 'B';
type Node =
  | { kind: 'char'; test: CharTest }
  | { kind: 'assert'; what: Assertion }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; item: Node; min: number; max: number };

type State =
  | { kind: 'char'; test: CharTest; out: number }
  | { kind: 'split'; out: number; out2: number }
  | { kind: 'assert'; what: Assertion; out: number }
  | { kind: 'match' };

export interface LinearPattern {
  readonly source: string;
  /** Whether the pattern matches somewhere in `input` (RegExp.prototype.test semantics). */
  test(input: string): boolean;
}

const LINE_TERMINATORS = new Set([0x0a, 0x0d, 0x2028, 0x2029]);

/** A one-character matcher from the source text of one atom, e.g. `[a-z]`, `\d`, `\u{1F600}`. */
function atomTest(source: string): CharTest {
  const re = new RegExp(`^(?:${source})$`, 'u');
  return (cp) => re.test(String.fromCodePoint(cp));
}

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    const node = this.alternation();
    if (this.i < this.src.length) throw new UnsupportedPatternError(`unexpected "${this.src[this.i]}"`);
    return node;
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.i + offset];
  }

  private alternation(): Node {
    const options = [this.sequence()];
    while (this.peek() === '|') {
      this.i += 1;
      options.push(this.sequence());
    }
    return options.length === 1 ? (options[0] as Node) : { kind: 'alt', options };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.i < this.src.length && this.peek() !== '|' && this.peek() !== ')') {
      items.push(this.quantified());
    }
    return { kind: 'seq', items };
  }

  private quantified(): Node {
    const atom = this.atom();
    const c = this.peek();
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Number.POSITIVE_INFINITY];
    else if (c === '+') [min, max] = [1, Number.POSITIVE_INFINITY];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{') {
      // Unicode mode: a `{` is always a quantifier (the pattern already compiled as a RegExp).
      const m = /^\{(\d+)(?:(,)(\d*))?\}/.exec(this.src.slice(this.i));
      if (!m) throw new UnsupportedPatternError('malformed {n,m} quantifier');
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
      this.i += m[0].length - 1;
    } else return atom;
    this.i += 1;
    if (this.peek() === '?') this.i += 1; // lazy: same set of matches
    if (atom.kind === 'assert') throw new UnsupportedPatternError('a quantified assertion');
    return { kind: 'repeat', item: atom, min, max };
  }

  private atom(): Node {
    const c = this.peek();
    if (c === '(') return this.group();
    if (c === '^' || c === '$') {
      this.i += 1;
      return { kind: 'assert', what: c };
    }
    if (c === '.') {
      this.i += 1;
      return { kind: 'char', test: (cp) => !LINE_TERMINATORS.has(cp) };
    }
    if (c === '[') return { kind: 'char', test: atomTest(this.classSource()) };
    if (c === '\\') return this.escape();
    const cp = this.src.codePointAt(this.i) as number;
    this.i += cp > 0xffff ? 2 : 1;
    return { kind: 'char', test: (x) => x === cp };
  }

  private group(): Node {
    const rest = this.src.slice(this.i);
    if (/^\(\?(?:=|!|<=|<!)/.test(rest)) {
      throw new UnsupportedPatternError('lookahead and lookbehind cannot be matched in linear time');
    }
    const named = /^\(\?<[^>]+>/.exec(rest);
    if (named) this.i += named[0].length;
    else if (rest.startsWith('(?:')) this.i += 3;
    else if (rest.startsWith('(?')) throw new UnsupportedPatternError('group modifiers are not supported');
    else this.i += 1;
    const inner = this.alternation();
    if (this.peek() !== ')') throw new UnsupportedPatternError('unclosed group');
    this.i += 1;
    return inner;
  }

  /** The source of a `[...]` class (unicode mode has no nested classes). */
  private classSource(): string {
    const start = this.i;
    this.i += 1;
    if (this.peek() === '^') this.i += 1;
    while (this.i < this.src.length && this.peek() !== ']') this.i += this.peek() === '\\' ? 2 : 1;
    if (this.peek() !== ']') throw new UnsupportedPatternError('unclosed character class');
    this.i += 1;
    return this.src.slice(start, this.i);
  }

  private escape(): Node {
    const rest = this.src.slice(this.i);
    const next = rest[1];
    if (next === undefined) throw new UnsupportedPatternError('a trailing backslash');
    if (/^\\[1-9]/.test(rest) || rest.startsWith('\\k<')) {
      throw new UnsupportedPatternError('backreferences cannot be matched in linear time');
    }
    if (next === 'b' || next === 'B') {
      this.i += 2;
      return { kind: 'assert', what: next };
    }
    const m =
      /^\\[pP]\{[^}]*\}/.exec(rest) ??
      /^\\u\{[0-9a-fA-F]+\}/.exec(rest) ??
      /^\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}/.exec(rest) ?? // a pair: one code point
      /^\\u[0-9a-fA-F]{4}/.exec(rest) ??
      /^\\x[0-9a-fA-F]{2}/.exec(rest) ??
      /^\\c[A-Za-z]/.exec(rest);
    const source = m ? m[0] : rest.slice(0, 1 + String.fromCodePoint(rest.codePointAt(1) as number).length);
    this.i += source.length;
    return { kind: 'char', test: atomTest(source) };
  }
}

/** Thompson construction into a flat state array; returns the start state. */
class Compiler {
  readonly states: State[] = [{ kind: 'match' }];

  private add(state: State): number {
    if (this.states.length >= MAX_PATTERN_STATES) {
      throw new UnsupportedPatternError(
        `the pattern is too large once its repetitions are expanded (over ${MAX_PATTERN_STATES} states)`,
      );
    }
    this.states.push(state);
    return this.states.length - 1;
  }

  /** Compiles `node` so that it continues to `next`; returns its entry state. */
  compile(node: Node, next: number): number {
    switch (node.kind) {
      case 'char':
        return this.add({ kind: 'char', test: node.test, out: next });
      case 'assert':
        return this.add({ kind: 'assert', what: node.what, out: next });
      case 'seq': {
        let entry = next;
        for (let k = node.items.length - 1; k >= 0; k--) entry = this.compile(node.items[k] as Node, entry);
        return entry;
      }
      case 'alt': {
        let entry = this.compile(node.options[node.options.length - 1] as Node, next);
        for (let k = node.options.length - 2; k >= 0; k--) {
          entry = this.add({ kind: 'split', out: this.compile(node.options[k] as Node, next), out2: entry });
        }
        return entry;
      }
      case 'repeat': {
        let entry = next;
        if (node.max === Number.POSITIVE_INFINITY) {
          // x*: a split that either enters x (which loops back to the split) or leaves.
          const split = this.add({ kind: 'split', out: -1, out2: next });
          const body = this.compile(node.item, split);
          (this.states[split] as { out: number }).out = body;
          entry = split;
        } else {
          // x{n,m}: the optional copies nest, each one may enter x or leave to `next`.
          for (let k = node.max; k > node.min; k--) {
            entry = this.add({ kind: 'split', out: this.compile(node.item, entry), out2: next });
          }
        }
        for (let k = 0; k < node.min; k++) entry = this.compile(node.item, entry);
        return entry;
      }
    }
  }
}

const isWordChar = (cp: number | undefined): boolean =>
  cp !== undefined &&
  ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a) || cp === 0x5f);

/**
 * Compiles a pattern for linear-time matching. Throws UnsupportedPatternError (with the reason) for
 * backreferences, lookarounds, group modifiers and patterns too large once expanded; a SyntaxError
 * for what is not a valid unicode-mode RegExp at all.
 */
export function compileLinearPattern(source: string): LinearPattern {
  new RegExp(source, 'u'); // a SyntaxError for what JavaScript itself refuses
  const compiler = new Compiler();
  const start = compiler.compile(new Parser(source).parse(), 0);
  const states = compiler.states;
  // seen[s] = the generation (one per input position, increasing across calls) that visited s.
  const seen = new Float64Array(states.length).fill(-1);
  let generation = 0;

  return {
    source,
    test(input: string): boolean {
      const cps = Array.from(input, (ch) => ch.codePointAt(0) as number);
      let current: number[] = [];
      generation += 1;
      // Adds `from` and everything reachable without consuming a character at position `pos`.
      // Returns true as soon as the match state is reachable.
      const closure = (from: number, pos: number, into: number[]): boolean => {
        const stack = [from];
        while (stack.length > 0) {
          const s = stack.pop() as number;
          if (seen[s] === generation) continue;
          seen[s] = generation;
          const state = states[s] as State;
          switch (state.kind) {
            case 'match':
              return true;
            case 'char':
              into.push(s);
              break;
            case 'split':
              stack.push(state.out2, state.out);
              break;
            case 'assert': {
              const before = cps[pos - 1];
              const after = cps[pos];
              const holds =
                state.what === '^'
                  ? pos === 0
                  : state.what === '$'
                    ? pos === cps.length
                    : (isWordChar(before) !== isWordChar(after)) === (state.what === 'b');
              if (holds) stack.push(state.out);
              break;
            }
          }
        }
        return false;
      };
      for (let pos = 0; pos <= cps.length; pos++) {
        // `current` already holds the states reached by consuming cps[pos - 1] (closed at pos);
        // a match may also start here (test() searches), so the start state joins them.
        if (closure(start, pos, current)) return true;
        if (pos === cps.length) break;
        generation += 1;
        const next: number[] = [];
        const cp = cps[pos] as number;
        for (const s of current) {
          const state = states[s] as Extract<State, { kind: 'char' }>;
          if (state.test(cp) && closure(state.out, pos + 1, next)) return true;
        }
        current = next;
      }
      return false;
    },
  };
}
