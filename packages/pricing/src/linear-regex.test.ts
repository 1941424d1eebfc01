import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileLinearPattern, UnsupportedPatternError } from './linear-regex';

/** Patterns and inputs where the linear matcher must answer exactly what RegExp.prototype.test answers. */
const PATTERNS = [
  '^[1-9][0-9]?:[1-9][0-9]?$',
  'abc',
  '^abc$',
  'a|b|cd',
  '^(?:ab|a)c$',
  '^(a+)+$',
  '^(a|a)*$',
  '^(a*)*b$',
  'x{2,3}',
  '^x{2}$',
  '^x{2,}$',
  '^(?:ab){1,3}$',
  '^a?b*c+$',
  '\\bcat\\b',
  '\\Bat',
  '^\\d{3}-\\d{4}$',
  '^[\\w.-]+@[\\w-]+\\.[a-z]{2,}$',
  '^\\p{Lu}\\p{Ll}+$',
  '^[^\\s,]+$',
  '.',
  '^.$',
  '😀+',
  '^\\u{1F600}$',
  '^\\uD83D\\uDE00$',
  '^\\x41\\u0042$',
  '^[\\]\\\\]+$',
  '^(?<word>[a-z]+)$',
  '^$',
  '',
  'a+?b',
];
const INPUTS = [
  '',
  'a',
  'b',
  'abc',
  'xabcx',
  'ac',
  'abc\n',
  'aaaa',
  'aaaab',
  'aaaa!',
  'xx',
  'xxx',
  'xxxx',
  'abab',
  'ababab',
  'abababab',
  'a cat here',
  'concatenate',
  'cat',
  'bat',
  '555-1234',
  '55-1234',
  'me@example.com',
  'me@example',
  'Hello',
  'hello',
  'no,comma',
  'x',
  '\n',
  '😀',
  '😀😀x',
  'AB',
  '\\]]',
  '12:34',
  '1:0',
  'aab',
  'ab',
  'cd',
];

describe('compileLinearPattern: the same answers as RegExp, in linear time', () => {
  it.each(PATTERNS)('%s', (pattern) => {
    const linear = compileLinearPattern(pattern);
    const reference = new RegExp(pattern, 'u');
    for (const input of INPUTS) expect(linear.test(input), JSON.stringify(input)).toBe(reference.test(input));
  });

  it('agrees with RegExp on random inputs over a small alphabet', () => {
    const safe = ['^(a|ab)(c|bcd)(d*)$', '(a+b)*c', '^(?:a|b)*abb$', 'a{2,4}b?', '^\\b\\w+\\b$', '(?:ab?)+$'];
    fc.assert(
      fc.property(
        fc.constantFrom(...safe),
        fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', ' '), maxLength: 12 }),
        (pattern, input) => {
          expect(compileLinearPattern(pattern).test(input)).toBe(new RegExp(pattern, 'u').test(input));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a catastrophic pattern stays linear: ^(a+)+$ against 20,000 a’s and a "!" (RegExp would not finish)', () => {
    const linear = compileLinearPattern('^(a+)+$');
    // Deterministic (no timing assertion): the NFA visits each state at most once per character,
    // so this completes in milliseconds; with backtracking it would take longer than the universe.
    expect(linear.test(`${'a'.repeat(20_000)}!`)).toBe(false);
    expect(linear.test('a'.repeat(20_000))).toBe(true);
  });

  it('refuses what no linear-time engine can match, and patterns too large once expanded', () => {
    for (const [pattern, reason] of [
      ['^(a)\\1$', /backreferences/],
      ['^(?<x>a)\\k<x>$', /backreferences/],
      ['^(?=a)a$', /lookahead and lookbehind/],
      ['(?<!a)b', /lookahead and lookbehind/],
      ['(?:a{100}){100}', /too large/],
    ] as const) {
      expect(() => compileLinearPattern(pattern), pattern).toThrow(UnsupportedPatternError);
      expect(() => compileLinearPattern(pattern), pattern).toThrow(reason);
    }
    expect(() => compileLinearPattern('(')).toThrow(SyntaxError);
  });
});
