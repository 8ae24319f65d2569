#!/usr/bin/env node
// xcheck_reference.mjs TOKENIZER.json RANKS.tiktoken TEXT [MAX_DOCS] -- load
// a trained pair with the reference libraries and compare their encodings.
//
// Not run by `make test` (it needs `npm install tiktoken tokenizers` in a
// folder on NODE_PATH or beside it): a developer's check that the files
// winnow writes load in Hugging Face tokenizers (the Rust library's Node
// bindings) and in tiktoken (its Rust core as WASM), and how often the
// two disagree on real text.  TEXT is JSONL (the "text" field) or plain
// text (one document a line).  The specials are read from tokenizer.json's
// added_tokens.  tiktoken gets the pre-tokenisation pattern in PCRE2 form
// from $PATTERN (the one given to winnow; tokenizer.json holds its
// Oniguruma form, whose (?>..) and \Z tiktoken's regex engine may not
// take), else tokenizer.json's.
//
// Prints documents, tokens, documents and tokens where HF (merges applied
// by merge rank) and tiktoken (pairs merged by the rank of the merged
// bytes) differ, and that decoding gives the text back in both.
import { createRequire } from "node:module";
import fs from "node:fs";
const require = createRequire(import.meta.url);
const { Tokenizer } = require("tokenizers");
const { Tiktoken } = require("tiktoken");

const [tjPath, tkPath, textPath, maxDocsArg] = process.argv.slice(2);
if (!textPath) {
  console.error("usage: xcheck_reference.mjs TOKENIZER.json RANKS.tiktoken TEXT [MAX_DOCS]");
  process.exit(2);
}
const maxDocs = maxDocsArg ? Number(maxDocsArg) : Infinity;
const tj = JSON.parse(fs.readFileSync(tjPath, "utf8"));
const pattern = process.env.PATTERN || tj.pre_tokenizer.pretokenizers[0].pattern.Regex;
const specials = Object.fromEntries(tj.added_tokens.map((a) => [a.content, a.id]));
const hf = Tokenizer.fromFile(tjPath);
const tk = new Tiktoken(fs.readFileSync(tkPath, "utf8"), specials, pattern);

const lines = fs.readFileSync(textPath, "utf8").split("\n");
const jsonl = /\.jsonl$/.test(textPath);
let docs = 0, tokens = 0, diffDocs = 0, diffTokens = 0, badDecode = 0;
const dec = new TextDecoder();
for (const line of lines) {
  if (docs >= maxDocs) break;
  if (!line) continue;
  const text = jsonl ? JSON.parse(line).text : line;
  if (!text) continue;
  docs++;
  const a = (await hf.encode(text, null, { addSpecialTokens: false })).getIds();
  const b = Array.from(tk.encode_ordinary(text));
  tokens += b.length;
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; i++) same = a[i] === b[i];
  if (!same) {
    diffDocs++;
    diffTokens += Math.abs(a.length - b.length) || 1;
    if (diffDocs <= 3) console.log(`differs: doc ${docs}: hf ${a.length} tokens, tiktoken ${b.length}`);
  }
  if (dec.decode(tk.decode(new Uint32Array(b))) !== text) badDecode++;
  if ((await hf.decode(a, false)) !== text) badDecode++;
}
tk.free();
console.log(`${docs} documents, ${tokens} tokens (tiktoken); HF and tiktoken differ on ${diffDocs} documents` +
  ` (${diffTokens} tokens or more); ${badDecode} decodes that did not give the text back`);
process.exit(diffDocs || badDecode ? 1 : 0);
