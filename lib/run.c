/*
 * run.c - the shared document loop (run.h).
 *
 * Every line goes through two steps: process() parses it, calls the tool
 * and renders the result (the kept line, or the reject line, and the
 * strings the counts need) into a struct res; commit() then counts it and
 * writes it.  process() may run on any thread, commit() only on this one
 * and strictly in input order, which is what keeps the output order, the
 * per-input bookkeeping and the "docs_in = docs_out + dropped" check exact
 * whatever the number of threads.
 *
 * One thread (threads <= 1): each line is processed and committed at once;
 * an unedited kept line is written straight from the reader's chunk.
 *
 * Several threads: this thread copies lines (with the parser's padding)
 * into batches of up to 512 lines or 4 MiB; a ring of 2 x threads + 2
 * batches goes round: filled here, taken by the workers in order, processed
 * into each batch's own buffers, and committed here in order.  When the
 * ring is full this thread waits for the oldest batch, so memory stays
 * bounded by the ring.  A stop (it->stop) or a fatal error discards the
 * results after it uncounted, exactly as the one-thread loop never reads
 * them.
 *
 * Bad lines never stop the loop unless --on-error fail; each is counted
 * under its reason and, when --rejects is set, written there with its raw
 * bytes (as "raw", or "raw_base64" when the line is not valid UTF-8) so
 * that nothing is lost.  Sources (non-JSONL inputs) feed their documents
 * and bad records through the same two steps.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
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
	wn_countmap reasons, domains, labels;
	wn_count_entry flags[64];
	uint64_t *tally_docs, *tally_units;  /* ntallies each */
};

/* One line (or source record) to process.  In a batch, line and what are
 * offsets into the batch's input buffer until a worker resolves them. */
struct entry {
	const char *line;
	size_t len, off;
	uint64_t lineno;
	uint64_t toolong;       /* a line over --max-line: its size (not kept) */
	const char *bad_reason; /* judged bad before parsing (source, too long) */
	const char *what;       /* its message */
	size_t what_off, what_len;
	int padded;             /* WN_DOC_PADDING readable bytes follow line */
	uint64_t flags;         /* preset by a source */
};

enum { R_KEEP, R_DROP, R_BAD };

/* What processing one entry decided; committed in input order. */
struct res {
	uint8_t kind, parsed, stop, has_domain;
	const char *reason;
	uint64_t lineno;
	uint64_t bytes;           /* input bytes counted: line + newline */
	uint64_t flags;
	const char *label;
	size_t text_in, text_out;
	const char *out_ptr;      /* kept line, unedited, in place */
	size_t out_off, out_len;  /* kept line (edited) or reject line, in out */
	int has_out;
	size_t dom_off, dom_len;  /* in aux */
	size_t msg_off, msg_len;  /* in aux */
	size_t tally_off;         /* in aux: ntally (index, amount) pairs */
	uint32_t ntally;
	size_t data_off, data_len; /* in aux: the tool's data for commit */
};

typedef struct loop loop;

/* A worker's own state: its document, scratch and the tool's ctx. */
typedef struct worker {
	loop *L;
	void *ctx;
	wn_doc doc;
	wn_buf obj;
	pthread_t th;
} worker;

enum { B_FREE, B_FILLED, B_TAKEN, B_DONE };
#define BATCH_LINES 512
#define BATCH_BYTES (1u << 20)

typedef struct batch {
	wn_buf in;             /* lines, each followed by WN_DOC_PADDING zeros */
	struct entry *e;
	struct res *res;
	int n, cap;
	wn_buf out, aux;       /* results' kept and reject lines; strings */
	const char *input;
	int state;
	uint64_t seq;
} batch;

struct loop {
	wn_run *r;
	const wn_opts *o;
	wn_writer *out;       /* current output, or NULL */
	wn_writer *rej;       /* --rejects */
	wn_db *db;
	int64_t run_id;
	wn_buf sout, saux;    /* one thread: a result's lines and strings */
	struct input_acc acc;
	wn_progress prog;
	uint64_t raw_done;    /* raw bytes of finished inputs */
	int messages;         /* bad-line messages printed */
	int epipe;            /* stdout reader went away */
	int fatal;            /* stop everything */
	int stopped;          /* the tool asked to stop (it->stop) */
	int write_failed;

	/* workers: w[0] alone in serial mode */
	worker *w;
	int nw;
	/* batches (threads > 1): a ring, filled and committed in order */
	batch *b;
	int nb;
	uint64_t filled, committed, taken; /* sequence counters */
	batch *cur;           /* being filled (NULL: none) */
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	int quit;
};

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

/* ---- processing (any thread) ---- */

/* Append the reject line of an entry to out. */
static void reject_line(worker *W, const char *input, const struct entry *e,
			const char *reason, int parsed, wn_buf *out)
{
	loop *L = W->L;
	wn_buf *obj = &W->obj;
	wn_buf_reset(obj);
	wn_buf_adds(obj, "{\"tool\":");
	wn_json_escape(obj, L->r->tool, strlen(L->r->tool));
	wn_buf_adds(obj, ",\"reason\":");
	wn_json_escape(obj, reason, strlen(reason));
	wn_buf_adds(obj, ",\"file\":");
	wn_json_escape(obj, input, strlen(input));
	wn_buf_addf(obj, ",\"line\":%llu}", (unsigned long long)e->lineno);
	if (parsed) {
		wn_doc_set_raw(&W->doc, "reject", obj->data, obj->len);
		wn_doc_write(&W->doc, out);
	} else {
		wn_buf_adds(out, "{\"reject\":");
		wn_buf_add(out, obj->data, obj->len);
		if (e->toolong) {
			/* a line over --max-line was never held in memory */
			wn_buf_addf(out, ",\"bytes\":%llu", (unsigned long long)e->toolong);
		} else if (wn_utf8_valid(e->line, e->len, NULL)) {
			wn_buf_adds(out, ",\"raw\":");
			wn_json_escape(out, e->line, e->len);
		} else {
			wn_buf_adds(out, ",\"raw_base64\":\"");
			base64(out, (const unsigned char *)e->line, e->len);
			wn_buf_addc(out, '"');
		}
		wn_buf_addc(out, '}');
	}
}

static void set_msg(struct res *R, wn_buf *aux, const char *msg, size_t n)
{
	R->msg_off = aux->len;
	R->msg_len = n;
	wn_buf_add(aux, msg, n);
}

/* A bad entry: its reason, message and reject line. */
static void process_bad(worker *W, const char *input, const struct entry *e, struct res *R,
			const char *reason, const char *msg, size_t msglen, int parsed,
			wn_buf *out, wn_buf *aux)
{
	R->kind = R_BAD;
	R->reason = reason;
	R->parsed = (uint8_t)parsed;
	set_msg(R, aux, msg, msglen);
	if (parsed && W->doc.has_domain) {
		R->has_domain = 1;
		R->dom_off = aux->len;
		R->dom_len = W->doc.domain.len;
		wn_buf_add(aux, W->doc.domain.data, W->doc.domain.len);
	}
	if (W->L->rej) {
		R->has_out = 1;
		R->out_off = out->len;
		reject_line(W, input, e, reason, parsed, out);
		R->out_len = out->len - R->out_off;
	}
}

static void process(worker *W, const char *input, const struct entry *e, struct res *R,
		    wn_buf *out, wn_buf *aux)
{
	loop *L = W->L;
	wn_doc *d = &W->doc;
	memset(R, 0, sizeof *R);
	R->lineno = e->lineno;
	R->bytes = e->toolong ? e->toolong : e->len + 1;
	if (e->bad_reason) {
		process_bad(W, input, e, R, e->bad_reason, e->what, e->what_len, 0, out, aux);
		return;
	}
	int rc = e->padded ? wn_doc_parse_padded(d, e->line, e->len, &L->o->fields)
			   : wn_doc_parse(d, e->line, e->len, &L->o->fields);
	char what[160];
	if (rc) {
		int n = snprintf(what, sizeof what, "%s at byte %zu", d->err, d->err_off);
		process_bad(W, input, e, R, rc == WN_EUTF8 ? "bad_utf8" : "bad_json", what,
			    (size_t)n, 0, out, aux);
		return;
	}
	if (!d->has_text) {
		int n;
		if (d->text_type < 0)
			n = snprintf(what, sizeof what, "no \"%s\" field", L->o->fields.text);
		else
			n = snprintf(what, sizeof what, "\"%s\" is not a string", L->o->fields.text);
		process_bad(W, input, e, R, d->text_type < 0 ? "no_text" : "text_not_string", what,
			    (size_t)n, 1, out, aux);
		return;
	}
	R->text_in = d->text.len;
	if (d->has_domain) {
		R->has_domain = 1;
		R->dom_off = aux->len;
		R->dom_len = d->domain.len;
		wn_buf_add(aux, d->domain.data, d->domain.len);
	}
	wn_item it = { .input = input, .lineno = e->lineno, .flags = e->flags };
	int v = L->r->fn ? L->r->fn(W->ctx, &it, d) : WN_KEEP;
	R->flags = it.flags;
	R->label = it.label;
	if (it.tally) {
		for (int i = 0; i < L->r->ntallies; i++) {
			if (!it.tally[i]) continue;
			if (!R->ntally) R->tally_off = aux->len;
			uint32_t pair[2] = { (uint32_t)i, it.tally[i] };
			wn_buf_add(aux, pair, sizeof pair);
			R->ntally++;
		}
	}
	R->stop = (uint8_t)(it.stop != 0);
	if (v != WN_DROP && it.data_len) {
		/* 8-byte aligned (the buffer is malloc'ed): the tool reads
		 * its data back as integers */
		static const char zero[8];
		if (aux->len & 7) wn_buf_add(aux, zero, 8 - (aux->len & 7));
		R->data_off = aux->len;
		R->data_len = it.data_len;
		wn_buf_add(aux, it.data, it.data_len);
	}
	if (v == WN_DROP) {
		R->kind = R_DROP;
		R->reason = it.reason ? it.reason : "dropped";
		if (L->rej) {
			R->has_out = 1;
			R->out_off = out->len;
			reject_line(W, input, e, R->reason, 1, out);
			R->out_len = out->len - R->out_off;
		}
		return;
	}
	R->kind = R_KEEP;
	R->text_out = d->text.len;
	if (d->ne) {
		/* edited: serialise; an unedited document is its input line */
		R->has_out = 1;
		R->out_off = out->len;
		wn_doc_write(d, out);
		R->out_len = out->len - R->out_off;
	} else {
		R->out_ptr = d->line;
		R->out_len = d->len;
	}
}

/* ---- committing (the main thread, in input order) ---- */

static void count_drop(loop *L, const char *reason, uint64_t bytes)
{
	struct input_acc *a = &L->acc;
	a->dropped++;
	wn_count_entry *e = wn_countmap_get(&a->reasons, reason, strlen(reason));
	e->docs++;
	e->bytes += bytes;
}

static void write_out(loop *L, wn_writer *w, const char *p, size_t n, const char *what)
{
	if (L->fatal) return;
	int rc = wn_writer_write(w, p, n);
	if (!rc) rc = wn_writer_write(w, "\n", 1);
	if (rc) write_failed(L, w, rc, what);
}

static void commit(loop *L, const struct res *R, const char *out, const char *aux)
{
	wn_run *r = L->r;
	struct input_acc *a = &L->acc;
	r->lineno = R->lineno;
	a->docs_in++;
	a->bytes_in += R->bytes;
	wn_count_entry *dom = R->has_domain ? wn_countmap_get(&a->domains, aux + R->dom_off, R->dom_len)
			    : wn_countmap_get(&a->domains, R->kind == R_BAD && !R->parsed
						      ? "(unparsed)" : "(none)",
					      R->kind == R_BAD && !R->parsed ? 10 : 6);
	dom->docs++;
	dom->bytes += R->bytes;
	const char *rp = R->has_out ? out + R->out_off : R->out_ptr;
	if (R->kind == R_BAD) {
		r->bad_lines++;
		a->bad++;
		count_drop(L, R->reason, R->bytes);
		if (L->o->on_error_fail) {
			wn_error("%s:%llu: %.*s", r->input, (unsigned long long)R->lineno,
				 (int)R->msg_len, aux + R->msg_off);
			L->fatal = 1;
			r->exit_code = 1;
		} else if (L->messages < L->o->max_messages) {
			wn_warn("%s:%llu: %.*s (skipped)", r->input, (unsigned long long)R->lineno,
				(int)R->msg_len, aux + R->msg_off);
			if (++L->messages == L->o->max_messages)
				wn_warn("further bad lines are counted but not shown");
		}
		if (R->has_out) write_out(L, L->rej, rp, R->out_len, L->o->rejects);
		return;
	}
	a->text_in += R->text_in;
	int kept = R->kind == R_KEEP;
	size_t outn = kept ? R->out_len + 1 : 0;
	for (uint64_t f = R->flags; f; f &= f - 1) {
		wn_count_entry *c = &a->flags[__builtin_ctzll(f)];
		c->docs++;
		c->bytes += R->bytes;
		c->docs_out += (uint64_t)kept;
		c->bytes_out += outn;
	}
	for (uint32_t i = 0; i < R->ntally; i++) {
		uint32_t pair[2];
		memcpy(pair, aux + R->tally_off + i * sizeof pair, sizeof pair);
		a->tally_docs[pair[0]]++;
		a->tally_units[pair[0]] += pair[1];
	}
	if (R->label) {
		wn_count_entry *c = wn_countmap_get(&a->labels, R->label, strlen(R->label));
		c->docs++;
		c->bytes += R->bytes;
		c->docs_out += (uint64_t)kept;
		c->bytes_out += outn;
	}
	if (R->stop) L->stopped = 1;
	if (!kept) {
		count_drop(L, R->reason, R->bytes);
		if (R->has_out) write_out(L, L->rej, rp, R->out_len, L->o->rejects);
		return;
	}
	a->docs_out++;
	a->bytes_out += R->out_len + 1;
	a->text_out += R->text_out;
	dom->docs_out++;
	dom->bytes_out += R->out_len + 1;
	if (!r->no_output && L->out)
		write_out(L, L->out, rp, R->out_len,
			  L->o->outdir || L->o->output ? "output" : "stdout");
	if (r->commit && !L->fatal) {
		wn_commit c = { r->input, R->lineno, R->data_len ? aux + R->data_off : NULL, R->data_len,
				R->has_domain ? (R->dom_len ? aux + R->dom_off : "") : NULL,
				R->has_domain ? R->dom_len : 0 };
		if (r->commit(r->ctx, r, &c)) {
			L->fatal = 1;
			r->exit_code = 1;
		}
	}
}

/* ---- batches and workers (threads > 1) ---- */

static void batch_process(worker *W, batch *B)
{
	wn_buf_reset(&B->out);
	wn_buf_reset(&B->aux);
	for (int i = 0; i < B->n; i++) {
		struct entry *e = &B->e[i];
		e->line = B->in.data + e->off;
		if (e->bad_reason) e->what = B->in.data + e->what_off;
		process(W, B->input, e, &B->res[i], &B->out, &B->aux);
	}
}

static void *worker_main(void *arg)
{
	worker *W = arg;
	loop *L = W->L;
	pthread_mutex_lock(&L->mu);
	for (;;) {
		while (!L->quit && L->taken == L->filled)
			pthread_cond_wait(&L->work, &L->mu);
		if (L->taken == L->filled) break; /* quit and nothing left */
		batch *B = &L->b[L->taken % (uint64_t)L->nb];
		L->taken++;
		B->state = B_TAKEN;
		pthread_mutex_unlock(&L->mu);
		batch_process(W, B);
		pthread_mutex_lock(&L->mu);
		B->state = B_DONE;
		pthread_cond_broadcast(&L->done);
	}
	pthread_mutex_unlock(&L->mu);
	return NULL;
}

/* Commit the oldest batch, waiting for the workers to finish it or, with
 * wait 0, only if they have; 0 if nothing was committed. */
static int commit_oldest(loop *L, int wait)
{
	if (L->committed == L->filled) return 0;
	batch *B = &L->b[L->committed % (uint64_t)L->nb];
	pthread_mutex_lock(&L->mu);
	while (wait && B->state != B_DONE) pthread_cond_wait(&L->done, &L->mu);
	int ready = B->state == B_DONE;
	pthread_mutex_unlock(&L->mu);
	if (!ready) return 0;
	for (int i = 0; i < B->n && !L->fatal && !L->stopped; i++)
		commit(L, &B->res[i], B->out.data, B->aux.data);
	B->n = 0;
	wn_buf_reset(&B->in);
	B->state = B_FREE;
	L->committed++;
	return 1;
}

/* Hand the batch being filled to the workers. */
static void submit(loop *L)
{
	batch *B = L->cur;
	if (!B) return;
	L->cur = NULL;
	if (!B->n) return;
	pthread_mutex_lock(&L->mu);
	B->state = B_FILLED;
	L->filled++;
	pthread_cond_signal(&L->work);
	pthread_mutex_unlock(&L->mu);
}

/* Wait for and commit everything submitted. */
static void drain(loop *L)
{
	submit(L);
	while (commit_oldest(L, 1)) {}
}

static batch *batch_open(loop *L, const char *input)
{
	if (L->cur) return L->cur;
	/* the ring is full: the oldest must be committed before reuse */
	while (L->filled - L->committed >= (uint64_t)L->nb) commit_oldest(L, 1);
	batch *B = &L->b[L->filled % (uint64_t)L->nb];
	B->n = 0;
	B->input = input;
	wn_buf_reset(&B->in);
	L->cur = B;
	return B;
}

static struct entry *batch_add(loop *L, const char *input, const char *line, size_t len)
{
	static const char zeros[WN_DOC_PADDING];
	batch *B = batch_open(L, input);
	if (B->n == B->cap) {
		B->cap = B->cap ? 2 * B->cap : 64;
		B->e = wn_realloc(B->e, (size_t)B->cap * sizeof *B->e);
		B->res = wn_realloc(B->res, (size_t)B->cap * sizeof *B->res);
	}
	struct entry *e = &B->e[B->n++];
	memset(e, 0, sizeof *e);
	e->off = B->in.len;
	e->len = len;
	e->padded = 1;
	wn_buf_add(&B->in, line, len);
	wn_buf_add(&B->in, zeros, sizeof zeros);
	return e;
}

/* ---- feeding entries (the main thread) ---- */

static void feed(loop *L, const char *input, const char *line, size_t len, uint64_t lineno,
		 int padded, uint64_t toolong, const char *bad_reason, const char *what,
		 uint64_t flags)
{
	if (L->nw <= 1 || !L->b) {
		struct entry e = { line, len, 0, lineno, toolong, bad_reason, what, 0,
				   what ? strlen(what) : 0, padded, flags };
		struct res R;
		worker *W = &L->w[0];
		wn_buf_reset(&L->sout);
		wn_buf_reset(&L->saux);
		process(W, input, &e, &R, &L->sout, &L->saux);
		commit(L, &R, L->sout.data, L->saux.data);
		return;
	}
	struct entry *e = batch_add(L, input, line, len);
	batch *B = L->cur;
	e->lineno = lineno;
	e->toolong = toolong;
	e->flags = flags;
	if (bad_reason) {
		e->bad_reason = bad_reason;
		e->what_off = B->in.len;
		e->what_len = strlen(what);
		wn_buf_add(&B->in, what, e->what_len);
	}
	if (B->n >= BATCH_LINES || B->in.len >= BATCH_BYTES) submit(L);
	/* commit what is finished, without waiting */
	while (commit_oldest(L, 0)) {}
}

/* ---- sources ---- */

struct wn_source {
	loop *L;
	const char *input;
	char msg[512];
};

void wn_source_emit(wn_source *s, const char *json, size_t n, uint64_t pos, uint64_t flags)
{
	loop *L = s->L;
	if (L->fatal || L->stopped) return;
	feed(L, s->input, json, n, pos, 0, 0, NULL, NULL, flags);
}

void wn_source_bad(wn_source *s, const char *reason, const char *what, const char *raw,
		   size_t n, uint64_t pos)
{
	loop *L = s->L;
	if (L->fatal || L->stopped) return;
	feed(L, s->input, raw, n, pos, 0, 0, reason, what, 0);
}

int wn_source_fail(wn_source *s, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof s->msg, fmt, ap);
	va_end(ap);
	return code;
}

int wn_source_stopped(const wn_source *s)
{
	return s->L->fatal || s->L->stopped;
}

static int record_tallies(loop *L, wn_run *r, const char *input);

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
	wn_count_entry *ls = wn_countmap_sorted(&a->labels);
	wn_db_count *rc = wn_calloc(a->reasons.n + 1, sizeof *rc);
	size_t nk = 0, cap = a->domains.n + a->labels.n + 65;
	wn_db_count *kc = wn_calloc(cap, sizeof *kc);
	for (size_t i = 0; i < a->reasons.n; i++)
		rc[i] = (wn_db_count){ rs[i].key, rs[i].docs, rs[i].bytes, 0, 0, NULL };
	for (size_t i = 0; i < a->domains.n; i++)
		kc[nk++] = (wn_db_count){ ds[i].key, ds[i].docs, ds[i].bytes, ds[i].docs_out,
					  ds[i].bytes_out, "domain" };
	for (size_t i = 0; i < a->labels.n; i++)
		kc[nk++] = (wn_db_count){ ls[i].key, ls[i].docs, ls[i].bytes, ls[i].docs_out,
					  ls[i].bytes_out, r->label_kind ? r->label_kind : "label" };
	/* every flag is recorded, a zero count too: "this rule changed nothing" */
	for (int i = 0; i < r->nflags && i < 64; i++)
		kc[nk++] = (wn_db_count){ r->flag_names[i], a->flags[i].docs, a->flags[i].bytes,
					  a->flags[i].docs_out, a->flags[i].bytes_out,
					  r->flag_kind ? r->flag_kind : "flag" };
	if (wn_db_add_input(L->db, L->run_id, &in, rc, a->reasons.n, "domain", kc, nk)) {
		wn_error("%s: %s", L->o->stats, wn_db_error(L->db));
		r->exit_code = 1;
	} else if (r->ntallies && record_tallies(L, r, input)) {
		wn_error("%s: %s", L->o->stats, wn_db_error(L->db));
		r->exit_code = 1;
	}
	free(rs);
	free(ds);
	free(ls);
	free(rc);
	free(kc);
}

/* The tallies of one input into the edits table: the dense ones all, the
 * others where a document counted. */
static int record_tallies(loop *L, wn_run *r, const char *input)
{
	struct input_acc *a = &L->acc;
	size_t n = 0, nt = (size_t)r->ntallies;
	const char **kinds = wn_malloc(sizeof *kinds * nt), **keys = wn_malloc(sizeof *keys * nt);
	uint64_t *docs = wn_malloc(sizeof *docs * nt), *units = wn_malloc(sizeof *units * nt);
	for (size_t i = 0; i < nt; i++) {
		if ((int)i >= r->tally_dense && !a->tally_docs[i]) continue;
		kinds[n] = r->tally_kinds[i];
		keys[n] = r->tally_names[i];
		docs[n] = a->tally_docs[i];
		units[n++] = a->tally_units[i];
	}
	int rc = wn_db_add_edits(L->db, L->run_id, input, kinds, keys, docs, units, n);
	free(kinds);
	free(keys);
	free(docs);
	free(units);
	return rc;
}

static void acc_reset(struct input_acc *a)
{
	wn_countmap rs = a->reasons, ds = a->domains, ls = a->labels;
	uint64_t *td = a->tally_docs, *tu = a->tally_units;
	wn_countmap_clear(&rs);
	wn_countmap_clear(&ds);
	wn_countmap_clear(&ls);
	memset(a, 0, sizeof *a);
	a->reasons = rs;
	a->domains = ds;
	a->labels = ls;
	a->tally_docs = td;
	a->tally_units = tu;
}

static void one_input(loop *L, const char *input)
{
	wn_run *r = L->r;
	const wn_opts *o = L->o;
	char base[4096], outpath[8192];
	const char *outname = o->outdir ? outpath : o->output;
	double t0 = wn_now();
	acc_reset(&L->acc);
	if (r->ntallies) {
		memset(L->acc.tally_docs, 0, sizeof *L->acc.tally_docs * (size_t)r->ntallies);
		memset(L->acc.tally_units, 0, sizeof *L->acc.tally_units * (size_t)r->ntallies);
	}
	r->input = input;
	r->lineno = 0;

	if (o->outdir) {
		snprintf(outpath, sizeof outpath, "%s/%s%s", o->outdir,
			 wn_run_basename(input, base, sizeof base), r->out_suffix ? r->out_suffix : "");
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
	char srcmsg[512] = "";
	if (!rc && r->source) {
		wn_source src = { L, input, "" };
		rc = r->source(r->ctx, &src, rd, input);
		if (rc < 0) snprintf(srcmsg, sizeof srcmsg, "%s", src.msg);
	} else if (!rc) {
		uint64_t data_before = 0;
		int size_counted = 0;
		while (!L->fatal && !L->stopped &&
		       (data_before = wn_reader_data_bytes(rd),
			rc = wn_reader_next(rd, &line, &len)) != 0) {
			r->lineno = wn_reader_lineno(rd);
			if (rc == WN_ETOOBIG) {
				/* counted at its real size; its bytes were not kept */
				feed(L, input, "", 0, r->lineno, 0,
				     wn_reader_data_bytes(rd) - data_before, "line_too_long",
				     wn_reader_error(rd), 0);
				rc = 0;
				continue;
			}
			if (rc < 0) break;
			rc = 0;
			feed(L, input, line, len, r->lineno, 1, 0, NULL, NULL, 0);
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
	/* every line fed is counted and written before the input is closed */
	if (L->b) drain(L);
	const char *status = "ok";
	char err[600] = "";
	if (rc < 0) {
		snprintf(err, sizeof err, "%s", srcmsg[0] ? srcmsg : wn_reader_error(rd));
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
static int base_collision(const wn_opts *o, char **sel, int n, const char *suffix)
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
			wn_error("-O: %s and %s would both write %s/%s%s", v[i - 1].input, v[i].input,
				 o->outdir, v[i].base, suffix);
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
	wn_buf_init(&L.sout, 0);
	wn_buf_init(&L.saux, 0);
	wn_countmap_init(&L.acc.reasons);
	wn_countmap_init(&L.acc.domains);
	wn_countmap_init(&L.acc.labels);
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
	if (o->outdir && base_collision(o, sel, nsel, r->out_suffix ? r->out_suffix : "")) {
		free(sel);
		return 2;
	}
	if (o->outdir) {
		struct stat st;
		if (wn_mkdirs(o->outdir) != 0) {
			wn_error("%s: cannot create: %s", o->outdir, strerror(errno));
			free(sel);
			return 1;
		}
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
		r->db = L.db;
		r->run_id = L.run_id;
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

	L.acc.tally_docs = wn_calloc((size_t)r->ntallies + 1, sizeof *L.acc.tally_docs);
	L.acc.tally_units = wn_calloc((size_t)r->ntallies + 1, sizeof *L.acc.tally_units);
	int nw = r->threads > 1 ? r->threads : 1;
	L.w = wn_calloc((size_t)nw, sizeof *L.w);
	L.nw = nw;
	for (int i = 0; i < nw; i++) {
		L.w[i].L = &L;
		L.w[i].ctx = r->thread_ctx ? r->thread_ctx(r->ctx, i) : r->ctx;
		wn_doc_init(&L.w[i].doc);
		wn_buf_init(&L.w[i].obj, 0);
	}
	pthread_mutex_init(&L.mu, NULL);
	pthread_cond_init(&L.work, NULL);
	pthread_cond_init(&L.done, NULL);
	int started = 0;
	if (nw > 1) {
		L.nb = 2 * nw + 2;
		L.b = wn_calloc((size_t)L.nb, sizeof *L.b);
		for (int i = 0; i < L.nb; i++) {
			wn_buf_init(&L.b[i].in, 0);
			wn_buf_init(&L.b[i].out, 0);
			wn_buf_init(&L.b[i].aux, 0);
		}
		for (; started < nw; started++)
			if (pthread_create(&L.w[started].th, NULL, worker_main, &L.w[started])) break;
		if (!started) {
			/* no thread at all: work in this one */
			L.nw = 1;
		}
	}
	uint64_t total = 0;
	for (int i = 0; i < nsel; i++) {
		struct stat st;
		if (stat(sel[i], &st) == 0 && S_ISREG(st.st_mode)) total += (uint64_t)st.st_size;
	}
	wn_progress_start(&L.prog, o->progress, total);
	for (int i = 0; !skip_all && i < nsel && !L.fatal && !L.stopped && !r->stop; i++)
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
		r->db = NULL;
	}
	if (started) {
		pthread_mutex_lock(&L.mu);
		L.quit = 1;
		pthread_cond_broadcast(&L.work);
		pthread_mutex_unlock(&L.mu);
		for (int i = 0; i < started; i++) pthread_join(L.w[i].th, NULL);
	}
	for (int i = 0; i < L.nb; i++) {
		wn_buf_release(&L.b[i].in);
		wn_buf_release(&L.b[i].out);
		wn_buf_release(&L.b[i].aux);
		free(L.b[i].e);
		free(L.b[i].res);
	}
	free(L.b);
	for (int i = 0; i < nw; i++) {
		if (r->thread_ctx && r->thread_ctx_free) r->thread_ctx_free(r->ctx, L.w[i].ctx);
		wn_doc_release(&L.w[i].doc);
		wn_buf_release(&L.w[i].obj);
	}
	free(L.w);
	pthread_mutex_destroy(&L.mu);
	pthread_cond_destroy(&L.work);
	pthread_cond_destroy(&L.done);
	wn_buf_release(&L.sout);
	wn_buf_release(&L.saux);
	wn_countmap_release(&L.acc.reasons);
	wn_countmap_release(&L.acc.domains);
	wn_countmap_release(&L.acc.labels);
	free(L.acc.tally_docs);
	free(L.acc.tally_units);
	free(sel);
	if (L.epipe) {
		/* as if killed by SIGPIPE, quietly, as Unix filters end in a pipe */
		fflush(stdout);
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	return r->exit_code;
}
