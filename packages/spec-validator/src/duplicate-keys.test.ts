import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { duplicateKey } from './duplicate-keys.js';

describe('duplicateKey', () => {
  it.each([
    ['{"a":1,"a":2}', 'a'],
    ['{"a":1,"b":{"c":1,"c":2}}', 'c'],
    ['[{"x":1},{"x":2},{"y":[{"z":1,"z":1}]}]', 'z'],
    ['{"\\u0061":1,"a":2}', 'a'],
    ['{"a\\"b":1,"a\\"b":2}', 'a"b'],
  ])('finds the repeated key in %s', (text, key) => {
    expect(duplicateKey(text)).toBe(key);
  });

  it.each(['{"a":1,"b":2}', '[{"a":1},{"a":2}]', '{"a":{"a":{"a":1}}}', '{"a":"\\"a\\":1,\\"a\\""}', '{"a":["a","a"]}', '"a"', '12', '{}'])(
    'finds none in %s',
    (text) => {
      expect(duplicateKey(text)).toBeUndefined();
    },
  );

  it('agrees with a reference on any JSON value (fixed seed)', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (text) => {
        // JSON.stringify output never repeats a key: none must be found…
        expect(duplicateKey(text)).toBeUndefined();
      }),
      { seed: 20261121, numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue(), (object, value) => {
        // …and a key written twice always is.
        const [key] = Object.keys(object);
        const text = `{${JSON.stringify(key)}:${JSON.stringify(value)},${JSON.stringify(object).slice(1)}`;
        expect(duplicateKey(text)).toBe(key);
      }),
      { seed: 20261121, numRuns: 300 },
    );
  });
});
