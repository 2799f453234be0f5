/**
 * Finds an object key that appears twice in a JSON text. `JSON.parse` keeps the last one, but
 * another parser may keep the first: a body the gateway validated could then mean something
 * else to DingTalk, so such bodies are refused. The text must already be valid JSON; one pass,
 * no allocation beyond the keys of the objects being scanned.
 */
export function duplicateKey(text: string): string | undefined {
  const open: Array<Set<string> | undefined> = []; // a key set per open object, undefined for arrays
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      const keys = open.at(-1);
      if (expectKey && keys) {
        const raw = text.slice(start, i + 1);
        const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (ch === 0x7b /* { */) {
      open.push(new Set());
      expectKey = true;
    } else if (ch === 0x5b /* [ */) {
      open.push(undefined);
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      open.pop();
    } else if (ch === 0x2c /* , */) {
      expectKey = open.at(-1) !== undefined;
    }
  }
  return undefined;
}
