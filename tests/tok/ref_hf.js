#!/usr/bin/env node
// ref_hf.js -- second reference encoder for `winnow tok`: a Hugging Face
// tokenizer.json run by @lenml/tokenizers (the tokenizers part of
// transformers.js, pure JavaScript), to check winnow's tokenizer.json loader.
//
//   node ref_hf.js encode TOKENIZER.json [--config TOKENIZER_CONFIG.json] <in.jsonl >out.txt
//
// Input and output are those of ref_tiktoken.js: JSON Lines on stdin, each
// non-blank line an object with a string "text" (strict UTF-8, no lone
// surrogates: both are fatal); one output line per text, the ids separated
// by single spaces, an empty line for an empty text.  Blank input lines are
// skipped.  Texts are encoded with add_special_tokens false: no BOS/EOS or
// other template tokens are added.  Note that a Hugging Face tokenizer always
// splits out the "added_tokens" of tokenizer.json (cl100k's <|endoftext|>
// and so on) wherever their text occurs, like ref_tiktoken.js --special all,
// not like its default --special none.
//
// --config gives a tokenizer_config.json; without it the tokenizer is built
// from tokenizer.json alone (as the base class PreTrainedTokenizer), which
// is what winnow reads too.
//
// The package is found in $LENML_TOKENIZERS_DIR (the package folder, the one
// holding package.json), else in the cache that `scripts/fetch-data.sh
// tokenizers` fills:
//   ${WINNOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/winnow}/tokenizers/node_modules/@lenml/tokenizers
// The cl100k_base tokenizer.json of the same set is
//   .../tokenizers/gpt35turbo/tokenizer.json
// Needs node >= 18 and nothing from the network.
'use strict';

const fs = require('fs');
const path = require('path');
const { setProg, die, cacheNodeModules, encodeStdin } = require('./ref_common.js');

setProg('ref_hf');

function usage(code) {
	(code ? process.stderr : process.stdout).write(
		'usage: node ref_hf.js encode TOKENIZER.json [--config TOKENIZER_CONFIG.json] <in.jsonl >out.txt\n');
	process.exit(code);
}

function readJSON(file) {
	try {
		return JSON.parse(fs.readFileSync(file, 'utf8'));
	} catch (e) {
		die(`cannot read ${file}: ${e.message}`);
	}
}

function lenmlDir() {
	const d = process.env.LENML_TOKENIZERS_DIR || path.join(cacheNodeModules(), '@lenml', 'tokenizers');
	if (!fs.existsSync(path.join(d, 'package.json'))) {
		die(`the @lenml/tokenizers package is not in ${d}; run scripts/fetch-data.sh tokenizers ` +
			'(or set LENML_TOKENIZERS_DIR to the package folder)');
	}
	return d;
}

async function main(argv) {
	if (argv[0] === '-h' || argv[0] === '--help') usage(0);
	if (argv[0] !== 'encode') usage(2);
	let json = null;
	let config = null;
	for (let i = 1; i < argv.length; i++) {
		const a = argv[i];
		if (a === '--config') {
			if (i + 1 >= argv.length) die('--config needs a value');
			config = argv[++i];
		} else if (a === '-h' || a === '--help') {
			usage(0);
		} else if (a.startsWith('--')) {
			die(`unknown option ${a}`);
		} else if (json === null) {
			json = a;
		} else {
			die(`unexpected argument ${a}`);
		}
	}
	if (json === null) usage(2);
	const { TokenizerLoader } = require(lenmlDir());
	let tok;
	try {
		tok = TokenizerLoader.fromPreTrained({
			tokenizerJSON: readJSON(json),
			tokenizerConfig: config === null ? {} : readJSON(config),
		});
	} catch (e) {
		die(`cannot build a tokenizer from ${json}: ${e && e.message ? e.message : e}`);
	}
	await encodeStdin((t) => tok.encode(t, { add_special_tokens: false }));
}

main(process.argv.slice(2)).catch((e) => die(e && e.stack ? e.stack : String(e)));
