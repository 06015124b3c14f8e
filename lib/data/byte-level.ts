// Byte-level BPE's two fixed pieces, as in GPT-2 and HuggingFace's ByteLevel pre-tokenizer:
// 1. the pre-tokenization regex that cuts text into words (a leading space stays with its word), and
// 2. the printable stand-in character for each byte, used to write byte tokens as strings in tokenizer.json.

/** GPT-2's split: English contractions, letters, digits, other symbols (each optionally after one space), and
 * whitespace runs, where a run before a word leaves its last space for that word. */
export const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The pieces of `text` in order; their concatenation is `text`. */
export function pretokenize(text: string): string[] {
  return text.match(PRETOKENIZE) ?? [];
}

/** Byte value → stand-in character: printable Latin-1 bytes stand for themselves, the other 68 bytes map to
 * U+0100 onwards in byte order (so a space is 'Ġ' and a newline 'Ċ'). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let next = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + next++);
  return out;
})();

export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** Bytes of a token written in stand-in characters; undefined if a character is not a byte stand-in. */
export function tokenStringToBytes(s: string): Uint8Array | undefined {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const b = CHAR_TO_BYTE.get(s[i]);
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

export function bytesToTokenString(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}
