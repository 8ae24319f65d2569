/*
 * run.c - the shared document loop (run.h).
 *
 * Per input the loop keeps one wn_doc and one output line buffer and
 * reuses them; the reader thread decodes ahead while this thread parses,
 * calls the tool and hands kept lines to the writer (whose zstd workers
 * compress in the background).  Bad lines never stop the loop unless
 * --on-error fail; each is counted under its reason and, when --rejects is
 * set, written there with its raw bytes (as "raw", or "raw_base64" when
 * the line is not valid UTF-8) so that nothing is lost.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "db.h"
#include "err.h"
#include "hash.h"
#include "log.h"
#include "run.h"
#include "shard.h"

_Static_assert(WN_READER_PADDING >= WN_DOC_PADDING, "lines must carry the parser's padding");

struct input_acc {
	uint64_t bad;
	uint64_t docs_in, docs_out, dropped;
	uint64_t bytes_in, bytes_out, text_in, text_out;
	wn_countmap reasons, domains;
};

typedef struct loop {
	wn_run *r;
	const wn_opts *o;
	wn_writer *out;       /* current output, or NULL */
	wn_writer *rej;       /* --rejects */
	wn_db *db;
	int64_t run_id;
	wn_doc doc;
	wn_buf line, rline;
	struct input_acc acc;
	wn_progress prog;
	uint64_t raw_done;    /* raw bytes of finished inputs */
	int messages;         /* bad-line messages printed */
	int epipe;            /* stdout reader went away */
	int fatal;            /* stop everything */
	int write_failed;
	uint64_t toolong;     /* bytes of the line_too_long line being reported */
} loop;

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(wn_buf *out, const unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		char t[4] = { b64[v >> 18], b64[(v >> 12) & 63], b64[(v >> 6) & 63], b64[v & 63] };
		wn_buf_add(out, t, 4);
	}
	if (i < n) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		char t[4] = { b64[v >> 18], b64[(v >> 12) & 63],
			      i + 1 < n ? b64[(v >> 6) & 63] : '=', '=' };
		wn_buf_add(out, t, 4);
	}
}

const char *wn_run_basename(const char *input, char *buf, size_t n)
{
	const char *s = input;
	const char *q = strstr(s, "://");
	size_t len = strlen(s);
	if (q) {
		/* drop ?query and #fragment of a URL */
		size_t k = strcspn(s, "?#");
		len = k;
	}
	while (len > 1 && s[len - 1] == '/') len--;
	size_t start = len;
	while (start > 0 && s[start - 1] != '/') start--;
	snprintf(buf, n, "%.*s", (int)(len - start), s + start);
	if (!buf[0] || !strcmp(buf, "-")) snprintf(buf, n, "stdin.jsonl");
	return buf;
}

/* Report a write failure once; EPIPE on stdout ends the run quietly. */
static void write_failed(loop *L, wn_writer *w, int rc, const char *what)
{
	L->fatal = 1;
	if (rc == WN_EPIPE && w == L->out && !L->o->output && !L->o->outdir) {
		L->epipe = 1;
		return;
	}
	if (!L->write_failed)
		wn_error("%s: %s", what, wn_writer_error(w));
	L->write_failed = 1;
}

static void reject(loop *L, const char *reason, const char *line, size_t len, int parsed)
{
	if (!L->rej || L->fatal) return;
	wn_buf *b = &L->rline;
	wn_buf_reset(b);
	wn_buf obj = WN_BUF_INIT;
	wn_buf_adds(&obj, "{\"tool\":");
	wn_json_escape(&obj, L->r->tool, strlen(L->r->tool));
	wn_buf_adds(&obj, ",\"reason\":");
	wn_json_escape(&obj, reason, strlen(reason));
	wn_buf_adds(&obj, ",\"file\":");
	wn_json_escape(&obj, L->r->input, strlen(L->r->input));
	wn_buf_addf(&obj, ",\"line\":%llu}", (unsigned long long)L->r->lineno);
	if (parsed) {
		wn_doc_set_raw(&L->doc, "reject", obj.data, obj.len);
		wn_doc_write(&L->doc, b);
	} else {
		wn_buf_adds(b, "{\"reject\":");
		wn_buf_add(b, obj.data, obj.len);
		if (L->toolong) {
			/* a line over --max-line was never held in memory */
			wn_buf_addf(b, ",\"bytes\":%llu", (unsigned long long)L->toolong);
		} else if (wn_utf8_valid(line, len, NULL)) {
			wn_buf_adds(b, ",\"raw\":");
			wn_json_escape(b, line, len);
		} else {
			wn_buf_adds(b, ",\"raw_base64\":\"");
			base64(b, (const unsigned char *)line, len);
			wn_buf_addc(b, '"');
		}
		wn_buf_addc(b, '}');
	}
	wn_buf_addc(b, '\n');
	wn_buf_release(&obj);
	int rc = wn_writer_write(L->rej, b->data, b->len);
	if (rc) write_failed(L, L->rej, rc, L->o->rejects);
}

static void count_drop(loop *L, const char *reason, size_t bytes)
{
	struct input_acc *a = &L->acc;
	a->dropped++;
	wn_count_entry *e = wn_countmap_get(&a->reasons, reason, strlen(reason));
	e->docs++;
	e->bytes += bytes;
}

/* A line that is not a usable document. */
static void bad_line(loop *L, const char *reason, const char *what, const char *line,
		     size_t len, int parsed)
{
	wn_run *r = L->r;
	size_t bytes = L->toolong ? (size_t)L->toolong : len + 1;
	r->bad_lines++;
	L->acc.bad++;
	L->acc.docs_in++;
	L->acc.bytes_in += bytes;
	wn_count_entry *d = wn_countmap_get(&L->acc.domains, "(unparsed)", 10);
	if (parsed) {
		if (L->doc.has_domain)
			d = wn_countmap_get(&L->acc.domains, L->doc.domain.data, L->doc.domain.len);
		else
			d = wn_countmap_get(&L->acc.domains, "(none)", 6);
	}
	d->docs++;
	d->bytes += bytes;
	count_drop(L, reason, bytes);
	if (L->o->on_error_fail) {
		wn_error("%s:%llu: %s", r->input, (unsigned long long)r->lineno, what);
		L->fatal = 1;
		r->exit_code = 1;
	} else if (L->messages < L->o->max_messages) {
		wn_warn("%s:%llu: %s (skipped)", r->input, (unsigned long long)r->lineno, what);
		if (++L->messages == L->o->max_messages)
			wn_warn("further bad lines are counted but not shown");
	}
	reject(L, reason, line, len, parsed);
}

static void one_line(loop *L, const char *line, size_t len)
{
	wn_run *r = L->r;
	wn_doc *d = &L->doc;
	/* the reader leaves WN_READER_PADDING readable bytes after each line */
	int rc = wn_doc_parse_padded(d, line, len, &L->o->fields);
	if (rc) {
		char what[160];
		snprintf(what, sizeof what, "%s at byte %zu", d->err, d->err_off);
		bad_line(L, rc == WN_EUTF8 ? "bad_utf8" : "bad_json", what, line, len, 0);
		return;
	}
	if (!d->has_text) {
		char what[160];
		if (d->text_type < 0)
			snprintf(what, sizeof what, "no \"%s\" field", L->o->fields.text);
		else
			snprintf(what, sizeof what, "\"%s\" is not a string", L->o->fields.text);
		bad_line(L, d->text_type < 0 ? "no_text" : "text_not_string", what, line, len, 1);
		return;
	}
	struct input_acc *a = &L->acc;
	a->docs_in++;
	a->bytes_in += len + 1;
	a->text_in += d->text.len;
	wn_count_entry *dom = d->has_domain
		? wn_countmap_get(&a->domains, d->domain.data, d->domain.len)
		: wn_countmap_get(&a->domains, "(none)", 6);
	dom->docs++;
	dom->bytes += len + 1;
	const char *reason = NULL;
	int v = r->fn ? r->fn(r->ctx, r, d, &reason) : WN_KEEP;
	if (v == WN_DROP) {
		if (!reason) reason = "dropped";
		count_drop(L, reason, len + 1);
		reject(L, reason, line, len, 1);
		return;
	}
	/* an unedited document is its input line: write it without a copy */
	const char *outp = d->line;
	size_t outn = d->len;
	if (d->ne) {
		wn_buf_reset(&L->line);
		wn_doc_write(d, &L->line);
		outp = L->line.data;
		outn = L->line.len;
	}
	a->docs_out++;
	a->bytes_out += outn + 1;
	a->text_out += d->text.len;
	dom->docs_out++;
	dom->bytes_out += outn + 1;
	if (!r->no_output && L->out) {
		int wrc = wn_writer_write(L->out, outp, outn);
		if (!wrc) wrc = wn_writer_write(L->out, "\n", 1);
		if (wrc) write_failed(L, L->out, wrc, L->o->outdir || L->o->output ? "output" : "stdout");
	}
}

static void record_input(loop *L, const char *input, const char *output, const char *status,
			 const char *error, uint64_t raw, double secs)
{
	wn_run *r = L->r;
	struct input_acc *a = &L->acc;
	r->docs_in += a->docs_in;
	r->docs_out += a->docs_out;
	r->docs_dropped += a->dropped;
	r->bytes_in += a->bytes_in;
	r->bytes_out += a->bytes_out;
	r->raw_bytes_in += raw;
	if (a->docs_in != a->docs_out + a->dropped) {
		/* the contract of the whole toolkit: never true, always checked */
		wn_error("%s: internal error: %llu in != %llu out + %llu dropped", input,
			 (unsigned long long)a->docs_in, (unsigned long long)a->docs_out,
			 (unsigned long long)a->dropped);
		abort();
	}
	if (!L->db) return;
	wn_db_input in = { input, output, status, error, a->docs_in, a->docs_out, a->dropped,
			   a->bytes_in, a->bytes_out, raw, a->text_in, a->text_out, secs };
	wn_count_entry *rs = wn_countmap_sorted(&a->reasons);
	wn_count_entry *ds = wn_countmap_sorted(&a->domains);
	wn_db_count *rc = wn_calloc(a->reasons.n + 1, sizeof *rc);
	wn_db_count *dc = wn_calloc(a->domains.n + 1, sizeof *dc);
	for (size_t i = 0; i < a->reasons.n; i++)
		rc[i] = (wn_db_count){ rs[i].key, rs[i].docs, rs[i].bytes, 0, 0 };
	for (size_t i = 0; i < a->domains.n; i++)
		dc[i] = (wn_db_count){ ds[i].key, ds[i].docs, ds[i].bytes, ds[i].docs_out,
				       ds[i].bytes_out };
	if (wn_db_add_input(L->db, L->run_id, &in, rc, a->reasons.n, "domain", dc, a->domains.n)) {
		wn_error("%s: %s", L->o->stats, wn_db_error(L->db));
		r->exit_code = 1;
	}
	free(rs);
	free(ds);
	free(rc);
	free(dc);
}

static void acc_reset(struct input_acc *a)
{
	wn_countmap rs = a->reasons, ds = a->domains;
	wn_countmap_clear(&rs);
	wn_countmap_clear(&ds);
	memset(a, 0, sizeof *a);
	a->reasons = rs;
	a->domains = ds;
}

static void one_input(loop *L, const char *input)
{
	wn_run *r = L->r;
	const wn_opts *o = L->o;
	char base[4096], outpath[8192];
	const char *outname = o->outdir ? outpath : o->output;
	double t0 = wn_now();
	acc_reset(&L->acc);
	r->input = input;
	r->lineno = 0;

	if (o->outdir) {
		snprintf(outpath, sizeof outpath, "%s/%s", o->outdir,
			 wn_run_basename(input, base, sizeof base));
		if (o->skip_existing && wn_path_exists(outpath)) {
			wn_info("%s: exists, skipped", outpath);
			record_input(L, input, outpath, "skipped", NULL, 0, 0);
			return;
		}
		if (!r->no_output) {
			wn_writer_opts wo = { o->level, 0 };
			if (wn_writer_open(&L->out, outpath, &wo)) {
				wn_error("%s: %s", outpath, wn_writer_error(L->out));
				wn_writer_abort(L->out);
				L->out = NULL;
				L->fatal = 1;
				r->exit_code = 1;
				return;
			}
		}
	}

	wn_reader_opts ro = { o->max_line, -1 };
	wn_reader *rd;
	int rc = wn_reader_open(&rd, input, &ro);
	const char *line;
	size_t len;
	uint64_t n = 0;
	if (!rc) {
		uint64_t data_before = 0;
		int size_counted = 0;
		while (!L->fatal && !r->stop &&
		       (data_before = wn_reader_data_bytes(rd),
			rc = wn_reader_next(rd, &line, &len)) != 0) {
			r->lineno = wn_reader_lineno(rd);
			if (rc == WN_ETOOBIG) {
				/* counted at its real size; its bytes were not kept */
				L->toolong = wn_reader_data_bytes(rd) - data_before;
				bad_line(L, "line_too_long", wn_reader_error(rd), "", 0, 0);
				L->toolong = 0;
				rc = 0;
				continue;
			}
			if (rc < 0) break;
			rc = 0;
			one_line(L, line, len);
			if ((++n & 1023) == 0) {
				if (!size_counted && wn_reader_size(rd) > 0 && strstr(input, "://")) {
					/* an http input: its size is known once headers came */
					L->prog.total += (uint64_t)wn_reader_size(rd);
					size_counted = 1;
				}
				wn_progress_update(&L->prog, r->docs_in + L->acc.docs_in,
						   L->raw_done + wn_reader_raw_bytes(rd),
						   r->bytes_in + L->acc.bytes_in);
			}
		}
	}
	const char *status = "ok";
	char err[600] = "";
	if (rc < 0) {
		snprintf(err, sizeof err, "%s", wn_reader_error(rd));
		wn_progress_end(&L->prog);
		wn_error("%s: %s", input, err);
		status = "error";
		r->inputs_failed++;
		r->exit_code = 1;
		if (o->on_error_fail) L->fatal = 1;
	}
	uint64_t raw = wn_reader_raw_bytes(rd);
	L->raw_done += raw;
	wn_reader_close(rd);

	if (o->outdir && L->out) {
		if (rc < 0 || L->fatal) {
			/* never leave a short output under the final name */
			wn_writer_abort(L->out);
		} else {
			char werr[300];
			if (wn_writer_close(L->out, werr, sizeof werr)) {
				wn_error("%s: %s", outpath, werr);
				status = "error";
				snprintf(err, sizeof err, "%s", werr);
				L->fatal = 1;
				r->exit_code = 1;
			}
		}
		L->out = NULL;
	}
	record_input(L, input, outname, status, err[0] ? err : NULL, raw, wn_now() - t0);
	if (r->input_done) {
		wn_input_counts c = { L->acc.docs_in, L->acc.docs_out, L->acc.dropped, L->acc.bad,
				      L->acc.bytes_in, L->acc.bytes_out };
		r->input_done(r->ctx, r, input, rc >= 0, &c);
	}
}

struct named { char base[256]; const char *input; };

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->base, ((const struct named *)b)->base);
}

/* With -O, two inputs of one base name would write one output. */
static int base_collision(const wn_opts *o, char **sel, int n)
{
	struct named *v = wn_calloc((size_t)n + 1, sizeof *v);
	for (int i = 0; i < n; i++) {
		wn_run_basename(sel[i], v[i].base, sizeof v[i].base);
		v[i].input = sel[i];
	}
	qsort(v, (size_t)n, sizeof *v, cmp_named);
	int clash = 0;
	for (int i = 1; i < n && !clash; i++)
		if (!strcmp(v[i - 1].base, v[i].base)) {
			wn_error("-O: %s and %s would both write %s/%s", v[i - 1].input, v[i].input,
				 o->outdir, v[i].base);
			clash = 1;
		}
	free(v);
	return clash;
}

int wn_run_main(wn_run *r, int ninputs, char **inputs)
{
	const wn_opts *o = r->o;
	loop L;
	memset(&L, 0, sizeof L);
	L.r = r;
	L.o = o;
	wn_doc_init(&L.doc);
	wn_buf_init(&L.line, 0);
	wn_buf_init(&L.rline, 0);
	wn_countmap_init(&L.acc.reasons);
	wn_countmap_init(&L.acc.domains);
	r->exit_code = 0;

	if (o->shard_n && ninputs == 0 && !o->shard_from_slurm) {
		wn_error("--shard needs input files, not stdin");
		return 2;
	}
	wn_opts sopts;
	if (ninputs == 0 && o->shard_from_slurm) {
		/* inside a Slurm array but reading stdin: the pipe is this task's */
		sopts = *o;
		sopts.shard_n = sopts.shard_i = 0;
		o = &sopts;
		L.o = o;
	}
	int nsel;
	char **sel = wn_opts_select(o, ninputs, inputs, &nsel);
	if (o->outdir && base_collision(o, sel, nsel)) {
		free(sel);
		return 2;
	}
	if (o->outdir) {
		struct stat st;
		if (stat(o->outdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			wn_error("%s: not a directory", o->outdir);
			free(sel);
			return 1;
		}
	}

	char shard[64] = "";
	if (o->shard_n) snprintf(shard, sizeof shard, "%d/%d", o->shard_i, o->shard_n);
	if (o->stats) {
		char err[600];
		if (wn_db_open(&L.db, o->stats, err, sizeof err)) {
			wn_error("%s", err);
			free(sel);
			return 1;
		}
		if (wn_db_run_begin(L.db, r->tool, r->argc, r->argv, shard[0] ? shard : NULL,
				    &L.run_id)) {
			wn_error("%s: %s", o->stats, wn_db_error(L.db));
			wn_db_close(L.db);
			free(sel);
			return 1;
		}
	}

	int skip_all = 0;
	if (o->output && o->skip_existing && wn_path_exists(o->output)) {
		wn_info("%s: exists, skipped", o->output);
		skip_all = 1;
	}
	wn_writer_opts wo = { o->level, 0 };
	if (!skip_all && o->rejects && wn_writer_open(&L.rej, o->rejects, &wo)) {
		wn_error("%s: %s", o->rejects, wn_writer_error(L.rej));
		wn_writer_abort(L.rej);
		L.rej = NULL;
		L.fatal = 1;
		r->exit_code = 1;
	}
	if (!skip_all && !L.fatal && !o->outdir && !r->no_output &&
	    wn_writer_open(&L.out, o->output, &wo)) {
		wn_error("%s: %s", o->output, wn_writer_error(L.out));
		wn_writer_abort(L.out);
		L.out = NULL;
		L.fatal = 1;
		r->exit_code = 1;
	}

	uint64_t total = 0;
	for (int i = 0; i < nsel; i++) {
		struct stat st;
		if (stat(sel[i], &st) == 0 && S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
	}
	wn_progress_start(&L.prog, o->progress, total);
	for (int i = 0; !skip_all && i < nsel && !L.fatal && !r->stop; i++)
		one_input(&L, sel[i]);
	wn_progress_end(&L.prog);

	/* finish outputs: keep them unless the run failed under --on-error fail
	 * or a write failed */
	int keep = !(L.fatal && (o->on_error_fail || L.write_failed)) && !L.epipe;
	char werr[300];
	if (L.out) {
		if (keep) {
			int rc = wn_writer_close(L.out, werr, sizeof werr);
			if (rc == WN_EPIPE && !o->output) L.epipe = 1;
			else if (rc) {
				wn_error("%s: %s", o->output ? o->output : "stdout", werr);
				r->exit_code = 1;
			}
		} else {
			wn_writer_abort(L.out);
		}
	}
	if (L.rej) {
		if (keep || L.epipe) {
			if (wn_writer_close(L.rej, werr, sizeof werr)) {
				wn_error("%s: %s", o->rejects, werr);
				r->exit_code = 1;
			}
		} else {
			wn_writer_abort(L.rej);
		}
	}
	if (L.write_failed) r->exit_code = 1;

	if (L.db) {
		const char *status = L.epipe ? "closed" : r->exit_code ? "failed" : "ok";
		if (wn_db_run_end(L.db, L.run_id, status, L.epipe ? 128 + SIGPIPE : r->exit_code)) {
			wn_error("%s: %s", o->stats, wn_db_error(L.db));
			r->exit_code = 1;
		}
		wn_db_close(L.db);
	}
	wn_doc_release(&L.doc);
	wn_buf_release(&L.line);
	wn_buf_release(&L.rline);
	wn_countmap_release(&L.acc.reasons);
	wn_countmap_release(&L.acc.domains);
	free(sel);
	if (L.epipe) {
		/* as if killed by SIGPIPE, quietly, as Unix filters end in a pipe */
		fflush(stdout);
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	return r->exit_code;
}
