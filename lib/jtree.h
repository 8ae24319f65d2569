/*
 * jtree.h - a whole JSON document as a tree of plain C nodes, for files
 * read once at start-up (a tokenizer.json, an encoder.json): simdjson's
 * DOM parser behind a C interface, its result copied into one array of
 * nodes and one block of strings so that no C++ object outlives the call.
 *
 * The nodes of a container's children are contiguous: node c of array or
 * object x is t->n[x->first + c].  Object members carry their (unescaped)
 * key.  Strings are unescaped UTF-8 and may contain NUL bytes (use the
 * lengths).  Numbers keep the double and, when the number is an integer
 * that fits, the int64 (is_int).
 *
 * Errors: wn_jtree_parse() returns 0, or -1 with a message in err that
 * names the problem and, where simdjson tells it, nothing more precise
 * than its error name (the caller names the file).
 */
#ifndef WN_JTREE_H
#define WN_JTREE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { WN_JT_NULL, WN_JT_BOOL, WN_JT_NUM, WN_JT_STR, WN_JT_ARR, WN_JT_OBJ };

typedef struct wn_jnode {
	int type;            /* WN_JT_* */
	int is_int;          /* WN_JT_NUM: i holds the value exactly */
	int b;               /* WN_JT_BOOL */
	double d;            /* WN_JT_NUM */
	int64_t i;
	const char *key;     /* member of an object: its key, else NULL */
	size_t klen;
	const char *s;       /* WN_JT_STR */
	size_t slen;
	size_t first, count; /* WN_JT_ARR, WN_JT_OBJ: children */
} wn_jnode;

typedef struct wn_jtree {
	wn_jnode *n;         /* n[0] is the root */
	size_t nn;
	char *strings;
} wn_jtree;

int wn_jtree_parse(wn_jtree *t, const char *buf, size_t len, char *err, size_t errlen);
void wn_jtree_free(wn_jtree *t);

/* The member of object o named key, or NULL (also when o is not an
 * object).  Linear in the object's size. */
const wn_jnode *wn_jtree_get(const wn_jtree *t, const wn_jnode *o, const char *key);
/* Child c of an array or object. */
static inline const wn_jnode *wn_jtree_child(const wn_jtree *t, const wn_jnode *x, size_t c)
{
	return &t->n[x->first + c];
}
/* 1 when x is a string equal to s. */
int wn_jtree_str_is(const wn_jnode *x, const char *s);

#ifdef __cplusplus
}
#endif
#endif
