#!/usr/bin/env node
// ref_tiktoken.js -- reference encoder for `winnow tok`: tiktoken's own BPE
// (the npm package tiktoken, a WASM build of tiktoken's Rust core), used to
// check winnow's encoder token for token.
//
//   node ref_tiktoken.js encode ENCODING [--special none|all] <in.jsonl >out.txt
//   node ref_tiktoken.js encode --ranks FILE.tiktoken --pattern REGEX
//        [--special-token NAME=ID]... [--special none|all] <in.jsonl >out.txt
//   node ref_tiktoken.js bench ENCODING|--ranks ... FILE.jsonl [--repeat N]
//
// ENCODING is r50k_base, p50k_base, p50k_edit, cl100k_base or o200k_base
// (tiktoken's built-in tables).  With --ranks the encoder is built from a
// .tiktoken file ("<base64 token> <rank>" lines), the pre-tokenizer REGEX
// (tiktoken's regex syntax, e.g. cl100k's pattern) and the special tokens
// given; that is how winnow's own trained vocabularies are checked.
//
// encode: reads JSON Lines on stdin; each non-blank line must be a JSON
// object with a string "text".  Writes one line per input line: the token
// ids separated by single spaces (an empty line for an empty text).  Blank
// input lines are skipped and give no output line.  --special none (the
// default) is tiktoken's encode_ordinary: special-token text such as
// "<|endoftext|>" is encoded as ordinary text; --special all is
// encode(text, "all"): every special token of the encoding is recognised.
//
// The input must be valid UTF-8 and every text a well-formed Unicode string:
// a line that is not UTF-8, or whose JSON holds a lone surrogate escape
// ("\ud800"), is a fatal error (exit 1) rather than something silently
// replaced by U+FFFD, so the reference never tokenizes text the C side
// cannot see.  Input is read as a stream; files of any size work.
//
// bench: loads FILE.jsonl, encodes every text once (warm-up), then times N
// passes (default 3) in this one thread (encode_ordinary) and prints
//   MB/s <value> bytes <n> tokens <n> seconds <s>
// where bytes and tokens are summed over the N timed passes, seconds is
// their wall time and MB = 10^6 bytes of UTF-8 text.
//
// The tiktoken package is found in $TIKTOKEN_DIR (the package folder, the
// one holding package.json), else in the cache that scripts/fetch-data.sh
// fills (`fetch-data.sh tokenizers`):
//   ${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}/tokenizers/node_modules/tiktoken
// Needs node >= 18 and nothing from the network.
'use strict';

const fs = require('fs');
const path = require('path');
const { setProg, die, cacheNodeModules, encodeStdin, readTexts } = require('./ref_common.js');

setProg('ref_tiktoken');
const NAMED = ['r50k_base', 'p50k_base', 'p50k_edit', 'cl100k_base', 'o200k_base'];

function usage(code) {
	const w = code ? process.stderr : process.stdout;
	w.write(`usage: node ref_tiktoken.js encode ENCODING [--special none|all] <in.jsonl >out.txt
       node ref_tiktoken.js encode --ranks FILE.tiktoken --pattern REGEX
            [--special-token NAME=ID]... [--special none|all] <in.jsonl >out.txt
       node ref_tiktoken.js bench (ENCODING | --ranks ... --pattern ...) FILE.jsonl [--repeat N]
ENCODING: ${NAMED.join(' ')}
`);
	process.exit(code);
}

function tiktokenDir() {
	const d = process.env.TIKTOKEN_DIR || path.join(cacheNodeModules(), 'tiktoken');
	if (!fs.existsSync(path.join(d, 'package.json'))) {
		die(`the tiktoken package is not in ${d}; run scripts/fetch-data.sh tokenizers ` +
			'(or set TIKTOKEN_DIR to the tiktoken package folder)');
	}
	return d;
}

// ---- arguments -------------------------------------------------------------------

function parseArgs(argv) {
	const o = { mode: null, encoding: null, ranks: null, pattern: null,
		specialTokens: {}, nSpecial: 0, special: 'none', file: null, repeat: 3 };
	if (argv.length === 0) usage(2);
	if (argv[0] === '-h' || argv[0] === '--help') usage(0);
	o.mode = argv[0];
	if (o.mode !== 'encode' && o.mode !== 'bench') usage(2);
	const pos = [];
	for (let i = 1; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length) die(`${a} needs a value`);
			return argv[++i];
		};
		if (a === '--special') {
			o.special = val();
			if (o.special !== 'none' && o.special !== 'all') die('--special is none or all');
		} else if (a === '--ranks') {
			o.ranks = val();
		} else if (a === '--pattern') {
			o.pattern = val();
		} else if (a === '--special-token') {
			const v = val();
			const eq = v.lastIndexOf('=');
			const id = eq > 0 ? v.slice(eq + 1) : '';
			if (!/^[0-9]+$/.test(id)) die(`--special-token wants NAME=ID, not ${JSON.stringify(v)}`);
			o.specialTokens[v.slice(0, eq)] = Number(id);
			o.nSpecial++;
		} else if (a === '--repeat') {
			const v = val();
			if (!/^[1-9][0-9]*$/.test(v)) die('--repeat wants a positive integer');
			o.repeat = Number(v);
		} else if (a === '-h' || a === '--help') {
			usage(0);
		} else if (a.startsWith('--')) {
			die(`unknown option ${a}`);
		} else {
			pos.push(a);
		}
	}
	if (o.ranks !== null || o.pattern !== null) {
		if (o.ranks === null || o.pattern === null) die('--ranks and --pattern go together');
	} else {
		if (o.nSpecial) die('--special-token goes with --ranks');
		o.encoding = pos.shift();
		if (!o.encoding) usage(2);
		if (!NAMED.includes(o.encoding)) die(`unknown encoding ${o.encoding} (one of ${NAMED.join(' ')})`);
	}
	if (o.mode === 'bench') {
		o.file = pos.shift();
		if (!o.file) usage(2);
	}
	if (pos.length) die(`unexpected argument ${pos[0]}`);
	return o;
}

function makeEncoder(o) {
	const dir = tiktokenDir();
	if (o.encoding) {
		return require(dir).get_encoding(o.encoding);
	}
	let ranks;
	try {
		ranks = fs.readFileSync(o.ranks, 'utf8');
	} catch (e) {
		die(`cannot read ${o.ranks}: ${e.message}`);
	}
	if (ranks.startsWith('!')) die(`${o.ranks}: not a .tiktoken file`);
	const { Tiktoken } = require(path.join(dir, 'lite', 'tiktoken.cjs'));
	try {
		return new Tiktoken(ranks, o.specialTokens, o.pattern);
	} catch (e) {
		die(`cannot build the encoder from ${o.ranks}: ${e && e.message ? e.message : e}`);
	}
}

// ---- modes -------------------------------------------------------------------------

async function encodeMode(o) {
	const enc = makeEncoder(o);
	if (o.special === 'all') await encodeStdin((t) => enc.encode(t, 'all'));
	else await encodeStdin((t) => enc.encode_ordinary(t));
	enc.free();
}

async function benchMode(o) {
	const enc = makeEncoder(o);
	const { texts, bytes } = await readTexts(o.file);
	let tokens = 0;
	for (const t of texts) tokens += enc.encode_ordinary(t).length; // warm-up
	const t0 = process.hrtime.bigint();
	let n = 0;
	for (let r = 0; r < o.repeat; r++) {
		for (const t of texts) n += enc.encode_ordinary(t).length;
	}
	const secs = Number(process.hrtime.bigint() - t0) / 1e9;
	if (n !== tokens * o.repeat) die('token counts differ between passes');
	const totalBytes = bytes * o.repeat;
	const mbs = secs > 0 ? totalBytes / secs / 1e6 : 0;
	process.stdout.write(`MB/s ${mbs.toFixed(3)} bytes ${totalBytes} tokens ${n} seconds ${secs.toFixed(3)}\n`);
	enc.free();
}

const opts = parseArgs(process.argv.slice(2));
(opts.mode === 'encode' ? encodeMode(opts) : benchMode(opts))
	.catch((e) => die(e && e.stack ? e.stack : String(e)));
