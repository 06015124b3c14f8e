// Temp folders and small fixtures for the data tests.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mla-${prefix}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A WikiText article in the tokenized layout: heading, blank lines, paragraphs with @-@ and <unk>, one section. */
export function wikiArticle(title: string, paragraphs: string[], section = 'History'): string {
  const lines = [' ', ` = ${title} = `, ' ', ` ${paragraphs[0]} `, ' ', ` = = ${section} = = `, ' '];
  for (const p of paragraphs.slice(1)) lines.push(` ${p} `);
  return lines.join('\n') + '\n';
}

/** Writes wiki.{train,valid,test}.<ext> into `dir` with the given articles per split. */
export function writeWikiText(dir: string, ext: 'tokens' | 'raw', articles: { train: string[]; val: string[]; test: string[] }): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `wiki.train.${ext}`), articles.train.join(''));
  fs.writeFileSync(path.join(dir, `wiki.valid.${ext}`), articles.val.join(''));
  fs.writeFileSync(path.join(dir, `wiki.test.${ext}`), articles.test.join(''));
}

/** Repetitive English-like paragraphs, enough text for a few hundred BPE merges. */
export function fixtureParagraphs(n: number, salt: string): string[] {
  const words = ['the', 'season', 'game', 'was', 'released', 'in', 'Japan', 'and', 'received', 'praise', 'for', 'its', 'story', 'music', 'battle', 'system', 'while', 'critics', 'noted', 'that'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const w: string[] = [];
    for (let j = 0; j < 40; j++) w.push(words[(i * 7 + j * 3 + salt.length) % words.length]);
    out.push(`${w.join(' ')} , with 2 @,@ 500 copies sold in the first @-@ week <unk> ${salt} ${i} .`);
  }
  return out;
}
