/**
 * JSON parsing that never loses money precision.
 *
 * `JSON.parse` turns every number into a float, so an integer above 2^53 − 1 (say a large
 * `costMicroCents`) silently changes value. Node 20 has no reviver access to the source text, so this
 * small parser does the same job as `JSON.parse` except that an integer literal outside the safe range
 * becomes a `bigint` holding the exact value. Every other value is what `JSON.parse` would return.
 */

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

/** Parses JSON text; integer literals that are not safe integers come back as `bigint`. Throws `JsonSyntaxError`. */
export function parseJsonExact(text: string): unknown {
  const parser = new Parser(text);
  parser.skipWhitespace();
  const value = parser.value(0);
  parser.skipWhitespace();
  if (parser.pos !== text.length) parser.fail('unexpected trailing characters');
  return value;
}

class Parser {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(why: string): never {
    throw new JsonSyntaxError(`Invalid JSON at position ${this.pos}: ${why}`);
  }

  skipWhitespace(): void {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.text);
    this.pos = WHITESPACE.lastIndex;
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const ch = this.text[this.pos];
    switch (ch) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return value;
  }

  number(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) this.fail('unexpected character');
    const token = match[0];
    this.pos = NUMBER.lastIndex;
    const asFloat = Number(token);
    const isIntegerLiteral = match[1] === undefined && match[2] === undefined;
    if (isIntegerLiteral && !Number.isSafeInteger(asFloat)) return BigInt(token);
    return asFloat;
  }

  string(): string {
    const start = this.pos;
    let i = start + 1;
    for (;;) {
      const ch = this.text[i];
      if (ch === undefined) {
        this.pos = i;
        this.fail('unterminated string');
      }
      if (ch === '\\') i += 2;
      else if (ch === '"') break;
      else i += 1;
    }
    this.pos = i + 1;
    try {
      // The token is a complete JSON string literal: let the engine handle escapes exactly.
      return JSON.parse(this.text.slice(start, i + 1)) as string;
    } catch {
      this.pos = start;
      return this.fail('invalid string literal');
    }
  }

  array(depth: number): unknown[] {
    this.pos += 1;
    const items: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos += 1;
      return items;
    }
    for (;;) {
      this.skipWhitespace();
      items.push(this.value(depth + 1));
      this.skipWhitespace();
      const ch = this.text[this.pos];
      this.pos += 1;
      if (ch === ']') return items;
      if (ch !== ',') {
        this.pos -= 1;
        this.fail("expected ',' or ']'");
      }
    }
  }

  object(depth: number): Record<string, unknown> {
    this.pos += 1;
    const result: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos += 1;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a property name');
      const key = this.string();
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos += 1;
      this.skipWhitespace();
      const value = this.value(depth + 1);
      // defineProperty so that a "__proto__" key is an own property, exactly like JSON.parse.
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const ch = this.text[this.pos];
      this.pos += 1;
      if (ch === '}') return result;
      if (ch !== ',') {
        this.pos -= 1;
        this.fail("expected ',' or '}'");
      }
    }
  }
}
