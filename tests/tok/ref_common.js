// ref_common.js -- what the reference encoders ref_tiktoken.js and ref_hf.js
// share: the cache path, strict JSON Lines input and the output loop.
'use strict';

const os = require('os');
const path = require('path');

let prog = 'ref';

function setProg(name) {
	prog = name;
}

function die(msg) {
	process.stderr.write(`${prog}: error: ${msg}\n`);
	process.exit(1);
}

// The cache directory, by the same rule as scripts/fetch-data.sh.
function cacheDir() {
	if (process.env.WINNOW_CACHE) return process.env.WINNOW_CACHE;
	const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
	return path.join(base, 'winnow');
}

// The node_modules folder of the tokenizers data set.
function cacheNodeModules() {
	return path.join(cacheDir(), 'tokenizers', 'node_modules');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

// Lines of a byte stream as Buffers (without the "\n"), read chunk by chunk,
// so that input of any size streams through.
async function* byteLines(stream) {
	let rest = null;
	for await (const chunk of stream) {
		const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
		let start = 0;
		for (;;) {
			const nl = buf.indexOf(10, start);
			if (nl < 0) break;
			yield buf.subarray(start, nl);
			start = nl + 1;
		}
		rest = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
	}
	if (rest && rest.length) yield rest;
}

const wellFormed = typeof String.prototype.isWellFormed === 'function'
	? (s) => s.isWellFormed()
	: (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

// The "text" of one JSON Lines line (bytes), or null for a blank line.
// Fatal: bytes that are not UTF-8 (never replaced by U+FFFD), bad JSON, no
// string "text", and a text with a lone surrogate (a JSON "\ud800" escape),
// which has no UTF-8 form.
function lineText(bytes, lineno, where) {
	let s;
	try {
		s = utf8.decode(bytes);
	} catch (e) {
		die(`${where}:${lineno}: not valid UTF-8`);
	}
	if (/^[ \t\r]*$/.test(s)) return null;
	let doc;
	try {
		doc = JSON.parse(s);
	} catch (e) {
		die(`${where}:${lineno}: bad JSON: ${e.message}`);
	}
	if (doc === null || typeof doc !== 'object' || typeof doc.text !== 'string') {
		die(`${where}:${lineno}: no string "text" field`);
	}
	if (!wellFormed(doc.text)) die(`${where}:${lineno}: "text" holds a lone surrogate`);
	return doc.text;
}

// Write s to stdout, waiting while its buffer is full.
function writeOut(s) {
	return new Promise((resolve) => {
		if (process.stdout.write(s)) resolve();
		else process.stdout.once('drain', resolve);
	});
}

// encodeStdin(fn): for each non-blank JSONL line of stdin, write fn(text)
// (an array or typed array of ids) as one line of space-separated ids.
async function encodeStdin(fn) {
	process.stdout.on('error', (e) => {
		if (e.code === 'EPIPE') process.exit(0); // the reader stopped (| head)
		die(`writing the output: ${e.message}`);
	});
	let out = [];
	let outLen = 0;
	let lineno = 0;
	for await (const bytes of byteLines(process.stdin)) {
		lineno++;
		const text = lineText(bytes, lineno, '<stdin>');
		if (text === null) continue;
		let ids;
		try {
			ids = fn(text);
		} catch (e) {
			die(`<stdin>:${lineno}: encode failed: ${e && e.message ? e.message : e}`);
		}
		const line = ids.join(' ') + '\n';
		out.push(line);
		outLen += line.length;
		if (outLen >= 1 << 20) {
			await writeOut(out.join(''));
			out = [];
			outLen = 0;
		}
	}
	if (out.length) await writeOut(out.join(''));
}

// The texts of a JSON Lines file, and their UTF-8 size in bytes.
async function readTexts(file) {
	const fs = require('fs');
	const texts = [];
	let bytes = 0;
	let lineno = 0;
	const stream = fs.createReadStream(file);
	stream.on('error', (e) => die(`cannot read ${file}: ${e.message}`));
	for await (const line of byteLines(stream)) {
		lineno++;
		const text = lineText(line, lineno, file);
		if (text === null) continue;
		texts.push(text);
		bytes += Buffer.byteLength(text, 'utf8');
	}
	return { texts, bytes };
}

module.exports = { setProg, die, cacheDir, cacheNodeModules, byteLines, lineText, writeOut, encodeStdin, readTexts };
