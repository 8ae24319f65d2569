/*
 * ft.cpp - fastText (Debian's libfasttext 0.9.2) behind the C interface of
 * ft.h.  The only file of winnow that sees fastText's C++.
 *
 * Loading.  fastText trusts its model file: it reads counts and sizes and
 * allocates what they say, and reads NUL-terminated words with a loop that
 * never ends at end of file (a 100-byte prefix of lid.176.ftz makes the
 * command line spin, eating memory).  So check_model() first walks the
 * whole file format (header, arguments, dictionary, input and output
 * matrices, dense or product-quantized), checking every count against the
 * bytes that remain and every size against the others (matrix widths equal
 * the dimension, row counts cover every id that prediction can produce,
 * quantizer shapes agree, hash buckets are not zero where they divide).
 * Only a file that passes is handed to FastText::loadModel(), through the
 * same stream with exceptions switched on, so that a file changed under us
 * still ends as an error.  Every exception is caught at the C boundary.
 *
 * Prediction.  FastText::predictLine() reads from an std::istream and
 * FastText::predict() allocates the model's scratch vectors on every call.
 * Instead, a subclass of FastText reaches the protected model and
 * dictionary, and line_ids() does what Dictionary::getLine() does for one
 * line, on the caller's bytes: the same tokens, the same word lookups
 * (Dictionary::getId(), getSubwords()), and the same subword and word
 * n-gram ids, in the same order, computed by struct Hashing below, which
 * follows computeSubwords(), addWordNgrams() and pushHash() but hashes
 * n-grams incrementally and maps the buckets a pruned (.ftz) model kept
 * through a bitmap and an open-addressing table instead of an
 * std::unordered_map: 2.4 times faster than fastText on lid.176, where
 * that map took half the time.  Then Model::predict() runs with a
 * Model::State kept in the wn_ft_state, and the probability is std::exp()
 * of the float log-probability, as predictLine() computes it: the results
 * are the command line's, bit for bit (tests/unit/test_ft.c checks them
 * against `fasttext predict-prob`).
 *
 * Threads.  Model::predict(), the losses' predict(), the matrices' dotRow()
 * and addRowToVector() and the Dictionary lookups used here are const and
 * write only to the state passed in (read in fastText 0.9.2's src/model.cc,
 * loss.cc, quantmatrix.cc, productquantizer.cc, densematrix.cc,
 * dictionary.cc), and Hashing is read-only after loading, so threads may
 * share one model, each with its own wn_ft_state.
 */
#include <fasttext/fasttext.h>

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <vector>

extern "C" {
#include "err.h"
}
#include "ft.h"

namespace {

const int32_t FT_MAGIC = 793712314; /* fastText's file format magic number */
const int32_t FT_VERSION = 12;      /* the newest format 0.9.2 reads */
const int32_t PQ_KSUB = 256;        /* centroids per sub-quantizer (8 bits) */
const char EOS[] = "</s>";          /* fastText's end-of-line token */

enum { MODEL_SUP = 3 };                 /* fasttext::model_name::sup */
enum { LOSS_FIRST = 1, LOSS_LAST = 4 }; /* hs, ns, softmax, ova */

/* FastText with its protected members in reach. */
class Loaded : public fasttext::FastText {
public:
	void load(std::istream &in)
	{
		if (!checkModel(in)) throw std::runtime_error("bad header");
		loadModel(in);
	}
	const fasttext::Model &model() const { return *model_; }
	const fasttext::Dictionary &dict() const { return *dict_; }
	const fasttext::Args &args() const { return *args_; }
};

/* ---- the format walk ---------------------------------------------------- */

struct Bad {
	int code;
	std::string msg;
};

struct Walk {
	std::istream &in;
	uint64_t size; /* bytes in the file */
	uint64_t pos = 0;

	[[noreturn]] void truncated(const char *what)
	{
		throw Bad{ WN_ETRUNC, "truncated fastText model (" + std::to_string(size) +
				      " bytes; it ends inside the " + what + ")" };
	}
	[[noreturn]] static void corrupt(const std::string &why)
	{
		throw Bad{ WN_ECORRUPT, "corrupt fastText model (" + why + ")" };
	}
	void get(void *p, uint64_t n, const char *what)
	{
		if (n > size - pos) truncated(what);
		if (!in.read(static_cast<char *>(p), (std::streamsize)n))
			throw Bad{ WN_EIO, "read error" };
		pos += n;
	}
	template <typename T> T val(const char *what)
	{
		T v;
		get(&v, sizeof v, what);
		return v;
	}
	bool flag(const char *what)
	{
		uint8_t b = val<uint8_t>(what);
		if (b > 1) corrupt(std::string(what) + " is not 0 or 1");
		return b;
	}
	/* skip n items of `item` bytes; n and item >= 0 */
	void skip(uint64_t n, uint64_t item, const char *what)
	{
		if (item && n > (size - pos) / item) truncated(what);
		pos += n * item;
		if (!in.seekg((std::streamoff)pos)) throw Bad{ WN_EIO, "seek error" };
	}
	/* a NUL-terminated dictionary word */
	void word(const char *what)
	{
		std::streambuf *sb = in.rdbuf();
		for (;;) {
			if (pos >= size) truncated(what);
			int c = sb->sbumpc();
			if (c == std::char_traits<char>::eof()) throw Bad{ WN_EIO, "read error" };
			pos++;
			if (c == 0) return;
		}
	}
};

/* A product quantizer of vectors of `dim` floats (productquantizer.cc);
 * returns its number of sub-quantizers, the codes per vector. */
static int32_t walk_pq(Walk &w, int64_t dim, const std::string &what)
{
	int32_t h[4]; /* dim, nsubq, dsub, lastdsub */
	w.get(h, sizeof h, what.c_str());
	bool ok = h[0] == dim && h[2] > 0 && h[2] <= h[0];
	if (ok) {
		int32_t last = h[0] % h[2] ? h[0] % h[2] : h[2];
		ok = h[1] == (h[0] + h[2] - 1) / h[2] && h[3] == last;
	}
	if (!ok) Walk::corrupt(what + " has a bad shape");
	w.skip((uint64_t)h[0] * PQ_KSUB, sizeof(float), what.c_str());
	return h[1];
}

/* A matrix of dim columns and `rows` rows (at least `rows` when !exact),
 * dense or product-quantized (densematrix.cc, quantmatrix.cc). */
static void walk_matrix(Walk &w, bool quant, int64_t rows, bool exact, int64_t dim,
			const char *what)
{
	bool qnorm = quant ? w.flag(what) : false;
	int64_t m = w.val<int64_t>(what), n = w.val<int64_t>(what);
	if (n != dim || m < rows || (exact && m != rows))
		Walk::corrupt(std::string(what) + " is " + std::to_string(m) + " x " +
			      std::to_string(n) + ", needs " + (exact ? "" : "at least ") +
			      std::to_string(rows) + " x " + std::to_string(dim));
	if (!quant) {
		w.skip((uint64_t)m, (uint64_t)n * sizeof(float), what);
		return;
	}
	int32_t codesize = w.val<int32_t>(what);
	if (codesize < 0) Walk::corrupt(std::string(what) + " has a negative code size");
	w.skip((uint64_t)codesize, 1, what);
	int32_t nsubq = walk_pq(w, dim, std::string(what) + " quantizer");
	if (m > INT32_MAX / nsubq || (int64_t)codesize != m * nsubq)
		Walk::corrupt(std::string(what) + " has " + std::to_string(codesize) +
			      " codes for " + std::to_string(m) + " rows");
	if (qnorm) {
		w.skip((uint64_t)m, 1, what);
		walk_pq(w, 1, std::string(what) + " norm quantizer");
	}
}

/* Walk the file behind `in` (size bytes); throw Bad if fastText must not
 * read it.  Returns the pruned dictionary's bucket map (kept bucket, row
 * after the words), in file order, and its size (-1: not pruned). */
static int64_t check_model(std::istream &in, uint64_t size,
			   std::vector<std::pair<int32_t, int32_t>> &pruned)
{
	Walk w{ in, size };
	if (size == 0) throw Bad{ WN_ECORRUPT, "not a fastText model (empty file)" };
	if (size < 8) throw Bad{ WN_ECORRUPT, "not a fastText model (too short)" };
	int32_t magic = w.val<int32_t>("header"), version = w.val<int32_t>("header");
	if (magic != FT_MAGIC) throw Bad{ WN_ECORRUPT, "not a fastText model (bad magic number)" };
	if (version > FT_VERSION)
		throw Bad{ WN_ECORRUPT, "fastText model format " + std::to_string(version) +
						" is newer than this library reads (" +
						std::to_string(FT_VERSION) + ")" };

	/* arguments (args.cc: Args::save) */
	int32_t a[12];
	w.get(a, sizeof a, "arguments");
	(void)w.val<double>("arguments");
	int32_t dim = a[0], word_ngrams = a[5], loss = a[6], model = a[7];
	int32_t bucket = a[8], minn = a[9], maxn = a[10];
	if (version == 11 && model == MODEL_SUP) maxn = 0; /* as loadModel() does */
	if (dim <= 0) Walk::corrupt("dimension " + std::to_string(dim));
	if (loss < LOSS_FIRST || loss > LOSS_LAST) Walk::corrupt("unknown loss");
	if (word_ngrams < 0 || minn < 0 || maxn < 0 || bucket < 0)
		Walk::corrupt("negative n-gram or bucket argument");
	/* subwords and word n-grams are hashed modulo the bucket count */
	if (bucket == 0 && (maxn > 0 || word_ngrams > 1)) Walk::corrupt("zero buckets");

	/* dictionary (dictionary.cc: Dictionary::save) */
	int32_t nsize = w.val<int32_t>("dictionary"), nwords = w.val<int32_t>("dictionary");
	int32_t nlabels = w.val<int32_t>("dictionary");
	(void)w.val<int64_t>("dictionary");
	int64_t npruned = w.val<int64_t>("dictionary");
	if (nsize <= 0 || nwords < 0 || nlabels < 0 || (int64_t)nwords + nlabels != nsize)
		Walk::corrupt("bad dictionary counts");
	if (model == MODEL_SUP && nlabels == 0) Walk::corrupt("a classifier without labels");
	for (int32_t i = 0; i < nsize; i++) {
		w.word("dictionary");
		(void)w.val<int64_t>("dictionary");
		int8_t type = w.val<int8_t>("dictionary");
		if (type != (i < nwords ? 0 : 1)) Walk::corrupt("dictionary entries out of order");
	}
	if (npruned > 0) {
		if ((uint64_t)npruned > (size - w.pos) / 8) w.truncated("dictionary");
		pruned.reserve((size_t)npruned);
		for (int64_t i = 0; i < npruned; i++) {
			int32_t bucket_id = w.val<int32_t>("dictionary");
			pruned.emplace_back(bucket_id, w.val<int32_t>("dictionary"));
		}
	}

	/* input matrix: a row per word, then per hash bucket (per kept bucket
	 * of a pruned model); at least as many as the ids above can reach */
	bool quant = w.flag("input matrix");
	if (!quant && npruned >= 0) Walk::corrupt("pruned but not quantized");
	int64_t rows = (int64_t)nwords + (npruned >= 0 ? 0 : bucket);
	if (npruned >= 0) {
		int64_t extra = 0;
		for (const auto &kv : pruned) {
			if (kv.second < 0) Walk::corrupt("negative pruned id");
			if (kv.second + (int64_t)1 > extra) extra = kv.second + (int64_t)1;
		}
		rows += extra;
	}
	walk_matrix(w, quant, rows, false, dim, "input matrix");

	/* output matrix: a row per label of a classifier, per word otherwise */
	bool qout = w.flag("output matrix");
	walk_matrix(w, quant && qout, model == MODEL_SUP ? nlabels : nwords, true, dim,
		    "output matrix");
	return npruned;
}

void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen) return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Where subwords and word n-grams land: Dictionary::computeSubwords(),
 * addWordNgrams() and pushHash() of fastText 0.9.2, with the pruned-bucket
 * map (an std::unordered_map there, where lid.176 spends half its time)
 * made a bitmap of the kept buckets and an open-addressing table of their
 * rows, and the n-gram hashes computed as the n-gram grows instead of from
 * a new std::string each.  Read-only once built. */
struct Hashing {
	int32_t nwords = 0;
	int64_t npruned = -1; /* 0: no bucket kept; > 0: only those in the table */
	uint32_t bucket = 0, minn = 0, maxn = 0, word_ngrams = 1;
	struct Slot {
		int32_t key, row; /* bucket id (-1: empty slot), its input row */
	};
	std::vector<Slot> table;   /* open addressing, linear probing */
	std::vector<uint64_t> kept; /* a bit per bucket id: in the table */
	uint32_t shift = 32;

	static uint32_t slot_hash(uint32_t key) { return key * 0x9E3779B1u; }

	void build(const std::vector<std::pair<int32_t, int32_t>> &pruned)
	{
		size_t size = 8;
		while (size < 4 * pruned.size()) size *= 2; /* at most a quarter full */
		table.assign(size, Slot{ -1, 0 });
		kept.assign(((size_t)bucket + 63) / 64, 0);
		shift = 32;
		for (size_t k = size; k > 1; k >>= 1) shift--;
		for (const auto &kv : pruned) {
			if (kv.first < 0 || (uint32_t)kv.first >= bucket) continue; /* unreachable */
			size_t i = slot_hash((uint32_t)kv.first) >> shift;
			while (table[i].key != -1 && table[i].key != kv.first) i = (i + 1) & (size - 1);
			table[i] = Slot{ kv.first, kv.second }; /* a repeated key: the last wins, as in fastText */
			kept[(uint32_t)kv.first / 64] |= (uint64_t)1 << (kv.first % 64);
		}
	}

	/* pushHash(): the input row of hash bucket id, if it has one */
	void push(std::vector<int32_t> &out, uint32_t id) const
	{
		if (npruned == 0) return;
		if (npruned > 0) {
			/* most n-grams of a pruned model were pruned: the bitmap
			 * (lid.176: 250 KB) answers those without the table */
			if (!(kept[id / 64] >> (id % 64) & 1)) return;
			size_t mask = table.size() - 1, i = slot_hash(id) >> shift;
			while (table[i].key != (int32_t)id) i = (i + 1) & mask;
			id = (uint32_t)table[i].row;
		}
		out.push_back(nwords + (int32_t)id);
	}

	static uint32_t fnv(uint32_t h, char c) { return (h ^ (uint32_t)(int8_t)c) * 16777619u; }

	/* computeSubwords() of w = "<token>": the character n-grams of minn to
	 * maxn UTF-8 characters, but not "<" or ">" alone */
	void subwords(std::vector<int32_t> &out, const char *w, size_t len) const
	{
		for (size_t i = 0; i < len; i++) {
			if ((w[i] & 0xC0) == 0x80) continue;
			uint32_t h = 2166136261u;
			size_t j = i;
			for (uint32_t n = 1; j < len && n <= maxn; n++) {
				h = fnv(h, w[j++]);
				while (j < len && (w[j] & 0xC0) == 0x80) h = fnv(h, w[j++]);
				if (n >= minn && !(n == 1 && (i == 0 || j == len))) push(out, h % bucket);
			}
		}
	}

	/* addWordNgrams(): runs of 2 to word_ngrams tokens */
	void word_ngram_ids(std::vector<int32_t> &out, const std::vector<int32_t> &hashes) const
	{
		for (size_t i = 0; i < hashes.size(); i++) {
			uint64_t h = (uint64_t)(int64_t)hashes[i];
			for (size_t j = i + 1; j < hashes.size() && j < i + word_ngrams; j++) {
				h = h * 116049371 + (uint64_t)(int64_t)hashes[j];
				push(out, (uint32_t)(h % bucket));
			}
		}
	}
};

} /* namespace */

struct wn_ft {
	Loaded ft;
	bool supervised = false, quantized = false;
	int nlabels = 0, dim = 0;
	std::vector<std::string> labels; /* without the label prefix */
	std::string prefix;              /* "__label__" */
	Hashing hashing;
};

struct wn_ft_state {
	const wn_ft *m;
	fasttext::Model::State st;
	std::vector<int32_t> words;  /* input row ids of the line */
	std::vector<int32_t> hashes; /* token hashes, for word n-grams */
	fasttext::Predictions heap;
	std::string tok, wrapped; /* a token; "<token>" for its subwords */

	explicit wn_ft_state(const wn_ft *model)
		: m(model), st(model->dim, model->supervised ? model->nlabels : 0, 0)
	{
	}
};

namespace {

inline bool is_space(unsigned char c)
{
	/* Dictionary::readWord()'s separators; a newline ends the line there */
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f' ||
	       c == '\0';
}

/* One token of the line, as Dictionary::getLine() treats it. */
inline void add_token(wn_ft_state *s, const fasttext::Dictionary &d, const fasttext::Args &a)
{
	const Hashing &hs = s->m->hashing;
	uint32_t h = 2166136261u; /* Dictionary::hash() */
	for (char c : s->tok) h = Hashing::fnv(h, c);
	int32_t wid = d.getId(s->tok, h);
	bool word = wid < 0 ? s->tok.compare(0, a.label.size(), a.label) != 0
			    : d.getType(wid) == fasttext::entry_type::word;
	if (!word) return; /* a label: not a feature */
	if (wid < 0) {
		if (s->tok != EOS) {
			s->wrapped.assign(fasttext::Dictionary::BOW);
			s->wrapped.append(s->tok);
			s->wrapped.append(fasttext::Dictionary::EOW);
			hs.subwords(s->words, s->wrapped.data(), s->wrapped.size());
		}
	} else if (a.maxn <= 0) {
		s->words.push_back(wid);
	} else {
		const std::vector<int32_t> &sub = d.getSubwords(wid);
		s->words.insert(s->words.end(), sub.begin(), sub.end());
	}
	s->hashes.push_back((int32_t)h);
}

void line_ids(wn_ft_state *s, const char *p, size_t len)
{
	const fasttext::Dictionary &d = s->m->ft.dict();
	const fasttext::Args &a = s->m->ft.args();
	s->words.clear();
	s->hashes.clear();
	size_t i = 0;
	for (;;) {
		while (i < len && is_space((unsigned char)p[i])) i++;
		if (i == len) break;
		size_t start = i;
		while (i < len && !is_space((unsigned char)p[i])) i++;
		s->tok.assign(p + start, i - start);
		add_token(s, d, a);
	}
	s->tok.assign(EOS);
	add_token(s, d, a);
	if (s->m->hashing.word_ngrams > 1) s->m->hashing.word_ngram_ids(s->words, s->hashes);
}

int open_model(wn_ft *m, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st)) {
		set_err(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return WN_EIO;
	}
	if (S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "cannot open %s: %s", path, strerror(EISDIR));
		return WN_EIO;
	}
	std::ifstream in(path, std::ios::binary);
	if (!in.is_open()) {
		set_err(err, errlen, "cannot open %s: %s", path, strerror(errno ? errno : EIO));
		return WN_EIO;
	}
	in.seekg(0, std::ios::end);
	std::streamoff size = in.tellg();
	in.seekg(0);
	if (size < 0 || !in) {
		set_err(err, errlen, "cannot read %s", path);
		return WN_EIO;
	}
	std::vector<std::pair<int32_t, int32_t>> pruned;
	int64_t npruned;
	try {
		npruned = check_model(in, (uint64_t)size, pruned);
	} catch (const Bad &b) {
		set_err(err, errlen, "%s: %s", path, b.msg.c_str());
		return b.code;
	}
	in.clear();
	in.seekg(0);
	in.exceptions(std::ios::failbit | std::ios::badbit);
	m->ft.load(in);

	const fasttext::Args &a = m->ft.args();
	const fasttext::Dictionary &d = m->ft.dict();
	m->supervised = a.model == fasttext::model_name::sup;
	m->quantized = m->ft.isQuant();
	m->dim = a.dim;
	m->nlabels = d.nlabels();
	m->prefix = a.label;
	Hashing &hs = m->hashing;
	hs.nwords = d.nwords();
	hs.npruned = npruned;
	hs.bucket = (uint32_t)a.bucket; /* the walk saw it >= 0, and > 0 where used */
	hs.minn = (uint32_t)a.minn;
	hs.maxn = (uint32_t)(a.maxn > 0 ? a.maxn : 0); /* after the version 11 rule */
	hs.word_ngrams = (uint32_t)a.wordNgrams;
	if (npruned > 0) hs.build(pruned);
	m->labels.reserve((size_t)m->nlabels);
	for (int i = 0; i < m->nlabels; i++) {
		std::string l = d.getLabel(i);
		if (l.compare(0, m->prefix.size(), m->prefix) == 0) l.erase(0, m->prefix.size());
		m->labels.push_back(std::move(l));
	}
	return 0;
}

} /* namespace */

extern "C" {

int wn_ft_open(wn_ft **out, const char *path, char *err, size_t errlen)
{
	*out = nullptr;
	set_err(err, errlen, "%s", "");
	wn_ft *m = nullptr;
	int rc;
	try {
		m = new wn_ft();
		rc = open_model(m, path, err, errlen);
	} catch (const std::bad_alloc &) {
		set_err(err, errlen, "%s: out of memory loading the fastText model", path);
		rc = WN_ENOMEM;
	} catch (const std::ios_base::failure &) {
		set_err(err, errlen, "%s: read error or file changed while loading", path);
		rc = WN_EIO;
	} catch (const std::exception &e) {
		set_err(err, errlen, "%s: cannot load fastText model: %s", path, e.what());
		rc = WN_ECORRUPT;
	} catch (...) {
		set_err(err, errlen, "%s: cannot load fastText model", path);
		rc = WN_ECORRUPT;
	}
	if (rc) {
		delete m;
		return rc;
	}
	*out = m;
	return 0;
}

void wn_ft_free(wn_ft *m)
{
	delete m;
}

int wn_ft_nlabels(const wn_ft *m)
{
	return m->nlabels;
}

const char *wn_ft_label(const wn_ft *m, int i)
{
	if (i < 0 || i >= m->nlabels) return nullptr;
	return m->labels[(size_t)i].c_str();
}

int wn_ft_label_index(const wn_ft *m, const char *name)
{
	size_t pl = m->prefix.size();
	if (!strncmp(name, m->prefix.c_str(), pl)) name += pl;
	for (int i = 0; i < m->nlabels; i++)
		if (m->labels[(size_t)i] == name) return i;
	return -1;
}

int wn_ft_dim(const wn_ft *m)
{
	return m->dim;
}

int wn_ft_is_supervised(const wn_ft *m)
{
	return m->supervised;
}

int wn_ft_is_quantized(const wn_ft *m)
{
	return m->quantized;
}

wn_ft_state *wn_ft_state_new(const wn_ft *m)
{
	try {
		return new wn_ft_state(m);
	} catch (...) {
		return nullptr;
	}
}

void wn_ft_state_free(wn_ft_state *s)
{
	delete s;
}

int wn_ft_predict(wn_ft_state *s, const char *text, size_t len, int k, float threshold,
		  wn_ft_pred *out, size_t *n)
{
	*n = 0;
	if (!s->m->supervised || k == 0 || k < -1) return WN_EUSAGE;
	try {
		line_ids(s, text, len);
		if (s->words.empty()) return 0; /* FastText::predict() gives nothing */
		s->heap.clear();
		s->m->ft.model().predict(s->words, k, threshold, s->heap, s->st);
		for (const auto &p : s->heap) {
			out[*n].label = p.second;
			out[*n].prob = std::exp(p.first);
			++*n;
		}
		/* a huge document should not pin its scratch memory for good */
		if (s->words.capacity() > ((size_t)1 << 22)) {
			std::vector<int32_t>().swap(s->words);
			std::vector<int32_t>().swap(s->hashes);
		}
	} catch (const std::bad_alloc &) {
		*n = 0;
		return WN_ENOMEM;
	} catch (...) {
		*n = 0;
		return WN_EUSAGE;
	}
	return 0;
}

} /* extern "C" */
