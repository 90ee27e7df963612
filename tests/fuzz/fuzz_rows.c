/*
 * fuzz_rows.c - libFuzzer target: a damaged file. The fuzz bytes are a
 * little program that mixes public calls on an in-memory dict with raw SQL
 * that writes what no permadict writer would (FORMAT.md 2-5): rows of any
 * storage class, type and rowid, namespace rows moved or renamed.
 *
 * Whatever the damage, no call may crash, leak, overflow or loop, and:
 *   - every failure is a PD_E... code with a message;
 *   - what a read hands out is well formed: keys int, UTF-8 text or bytes,
 *     values a scalar or a packed document pd_dec accepts; an iterator
 *     gives keys in strictly increasing key order; a change list has
 *     consecutive versions, a known op, and a key exactly unless a clear;
 *   - when pd_check passes, the file reads whole: every entry iterates
 *     without a decode error, the count is the number of entries, pd_get
 *     agrees with the iterator, and the change log reads without a decode
 *     error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"
#include "permadict.h"
#include "fuzz_program.h"

/* Integers near the edges the format cares about: 0, versions, slots,
 * the 64-bit limits. */
static int64_t take_int(program *pg) {
  static const int64_t edges[] = {
      0, 1, -1, 2, 3, 4, 5, 7, -2, -3, -4, 6,
      INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
      (INT64_C(1) << 44) - 1, INT64_C(1) << 44, (INT64_C(1) << 44) + 1,
      (INT64_C(1) << 43) - 1, (INT64_C(1) << 43), (INT64_C(1) << 45) + 3,
      4294967297, -4294967297, 255, 256, 10000, 10001};
  uint8_t b = take_byte(pg);
  if (b < 0xc0)
    return edges[b % (sizeof edges / sizeof edges[0])];
  size_t got;
  const uint8_t *s = take_span(pg, 8, &got);
  uint64_t v = 0;
  for (size_t i = 0; i < got; i++)
    v = v << 8 | s[i];
  return (int64_t)v;
}

/* Small packed documents, valid and not, to store as values. */
static const struct {
  const char *bytes;
  size_t len;
} docs[] = {
    {"\x92\x01\xa1\x61", 4},         /* [1, "a"] */
    {"\x82\x01\xc0\xa1\x62\x90", 6}, /* {1: null, "b": []} */
    {"\xd4\x40\x7a", 3},             /* private 64 "z" */
    {"\x90", 1},                     /* [] */
    {"\x91\xcb\x7f\xf8\0\0\0\0\0\0", 10},
    {"\xc0", 1},                     /* not a container */
    {"\x92\x01", 2},                 /* cut short */
    {"\x82\xa1\x62\xc0\xa1\x61\xc0", 7}, /* unsorted map */
    {"\x91\xa1\xff", 3},             /* bad UTF-8 */
};

/* A key as the API takes it: int, text (maybe invalid) or bytes. */
static pd_val take_key(program *pg, char *scratch) {
  uint8_t b = take_byte(pg);
  size_t len;
  const uint8_t *s;
  switch (b % 4) {
  case 0:
    return pd_int(take_int(pg));
  case 1:
  case 2:
    s = take_span(pg, take_byte(pg) % 6, &len);
    memcpy(scratch, s, len);
    return b % 4 == 1 ? pd_text(scratch, len) : pd_bytes(scratch, len);
  default: { /* a short printable key, so raw rows and API calls meet */
    scratch[0] = (char)('a' + b / 4 % 4);
    return pd_text(scratch, 1);
  }
  }
}

static pd_val take_value(program *pg, char *scratch) {
  uint8_t b = take_byte(pg);
  size_t len;
  const uint8_t *s;
  switch (b % 7) {
  case 0:
    return pd_null();
  case 1:
    return pd_bool(b & 8);
  case 2:
    return pd_int(take_int(pg));
  case 3:
    return pd_float(b & 8 ? 0.5 : -1e300);
  case 4:
    s = take_span(pg, take_byte(pg) % 8, &len);
    memcpy(scratch, s, len);
    return pd_text(scratch, len);
  case 5:
    s = take_span(pg, take_byte(pg) % 8, &len);
    memcpy(scratch, s, len);
    return pd_bytes(scratch, len);
  default: {
    size_t which = take_byte(pg) % (sizeof docs / sizeof docs[0]);
    pd_val v = {PD_PACKED, 0, {.s = {docs[which].bytes, docs[which].len}}};
    return v;
  }
  }
}

/* Binds a column value of any storage class, as a damaged file holds. */
static void bind_any(program *pg, sqlite3_stmt *st, int idx) {
  uint8_t b = take_byte(pg);
  size_t len;
  const uint8_t *s;
  switch (b % 6) {
  case 0:
    sqlite3_bind_null(st, idx);
    break;
  case 1:
  case 2:
    sqlite3_bind_int64(st, idx, take_int(pg));
    break;
  case 3:
    sqlite3_bind_double(st, idx, b & 8 ? 1.5 : -0.0);
    break;
  case 4:
    s = take_span(pg, take_byte(pg) % 8, &len);
    sqlite3_bind_text64(st, idx, (const char *)s, len, SQLITE_TRANSIENT, SQLITE_UTF8);
    break;
  default:
    if (b & 0x40) {
      size_t which = take_byte(pg) % (sizeof docs / sizeof docs[0]);
      sqlite3_bind_blob(st, idx, docs[which].bytes, (int)docs[which].len, SQLITE_TRANSIENT);
    } else {
      s = take_span(pg, take_byte(pg) % 8, &len);
      sqlite3_bind_blob64(st, idx, len ? (const void *)s : "", len, SQLITE_TRANSIENT);
    }
    break;
  }
}

/* Runs one raw statement; failures (constraints) are fine: damage that
 * SQLite refuses is damage that cannot happen. */
static void raw(pd_dict *d, program *pg, const char *sql, int params) {
  sqlite3_stmt *st = NULL;
  CHECK(sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) == SQLITE_OK);
  for (int i = 1; i <= params; i++)
    bind_any(pg, st, i);
  while (sqlite3_step(st) == SQLITE_ROW) {
  }
  sqlite3_finalize(st);
}

static void damage(pd_dict *d, program *pg) {
  static const char *const sql[] = {
      /* a row of any content: ?1 picks the rowid near the namespace's */
      "INSERT OR REPLACE INTO permadict_rows (id, ns, key, type, value) "
      "VALUES (?1, (SELECT min(id) FROM permadict_namespaces), ?2, ?3, ?4)",
      "INSERT OR REPLACE INTO permadict_rows (id, ns, key, type, value) "
      "VALUES ((SELECT max(id) FROM permadict_rows) + 1 + abs(?1 % 4), "
      "(SELECT min(id) FROM permadict_namespaces), ?2, ?3, ?4)",
      "UPDATE permadict_rows SET key = ?2 WHERE id = (SELECT id FROM permadict_rows "
      "ORDER BY id LIMIT 1 OFFSET abs(?1 % 8))",
      "UPDATE permadict_rows SET type = ?2 WHERE id = (SELECT id FROM permadict_rows "
      "ORDER BY id LIMIT 1 OFFSET abs(?1 % 8))",
      "UPDATE permadict_rows SET value = ?2 WHERE id = (SELECT id FROM permadict_rows "
      "ORDER BY id LIMIT 1 OFFSET abs(?1 % 8))",
      "UPDATE permadict_rows SET id = ?2 WHERE id = (SELECT id FROM permadict_rows "
      "ORDER BY id LIMIT 1 OFFSET abs(?1 % 8))",
      "UPDATE permadict_rows SET ns = ?2 WHERE id = (SELECT id FROM permadict_rows "
      "ORDER BY id LIMIT 1 OFFSET abs(?1 % 8))",
      "DELETE FROM permadict_rows WHERE id = (SELECT id FROM permadict_rows "
      "ORDER BY id LIMIT 1 OFFSET abs(?1 % 8))",
      "UPDATE permadict_namespaces SET slot = ?1",
      "UPDATE permadict_namespaces SET id = ?1",
      "INSERT INTO permadict_namespaces (name, slot) VALUES (?1, ?2)",
  };
  static const int params[] = {4, 4, 2, 2, 2, 2, 2, 1, 1, 1, 2};
  size_t which = take_byte(pg) % (sizeof sql / sizeof sql[0]);
  raw(d, pg, sql[which], params[which]);
}

/* Every PD code a call may answer on a damaged file. */
static void check_rc(pd_dict *d, int rc) {
  CHECK(rc <= PD_OK && rc >= PD_EGONE);
  if (rc != PD_OK && rc != PD_ITEROVER)
    CHECK(pd_errmsg(d)[0] != '\0');
}

static pd_dec *dec;

static void check_key(const pd_val *k) {
  CHECK(k->kind == PD_INT || k->kind == PD_TEXT || k->kind == PD_BYTES);
  if (k->kind == PD_TEXT)
    CHECK(pd__utf8_valid(k->u.s.ptr, k->u.s.len));
}

static void check_value(const pd_val *v) {
  switch (v->kind) {
  case PD_NULL:
  case PD_INT:
  case PD_FLOAT:
  case PD_BYTES:
    break;
  case PD_BOOL:
    CHECK(v->u.b == 0 || v->u.b == 1);
    break;
  case PD_TEXT:
    CHECK(pd__utf8_valid(v->u.s.ptr, v->u.s.len));
    break;
  case PD_PACKED:
    CHECK(pd_dec_start(dec, v) == PD_OK);
    break;
  default:
    CHECK(0);
  }
}

/* Iterates (bounded: a loop is a bug), checking order; returns the number
 * of entries read and of decode errors met. */
static void iterate(pd_dict *d, const pd_iter_options *o, size_t *entries, size_t *bad) {
  pd_iter *it = NULL;
  int rc = pd_iter_open(&it, d, o);
  check_rc(d, rc);
  *entries = *bad = 0;
  if (rc != PD_OK)
    return;
  pd_val k, v, prev = {PD_NULL, 0, {0}};
  char prev_bytes[PD_MAX_KEY_BYTES];
  for (int steps = 0;; steps++) {
    CHECK(steps < 100000);
    rc = pd_iter_next(it, &k, &v);
    check_rc(d, rc);
    if (rc == PD_ITEROVER)
      break;
    if (rc == PD_EDECODE) {
      (*bad)++;
      continue;
    }
    if (rc != PD_OK)
      break;
    (*entries)++;
    check_key(&k);
    if (o->values)
      check_value(&v);
    if (prev.kind != PD_NULL)
      CHECK(pd__key_compare(&prev, &k) < 0);
    prev = k;
    if (k.kind != PD_INT) {
      CHECK(k.u.s.len <= sizeof prev_bytes);
      memcpy(prev_bytes, k.u.s.ptr, k.u.s.len);
      prev.u.s.ptr = prev_bytes;
    }
  }
  pd_iter_free(it);
}

/* Reads the changes after since; *decode_failed when the log could not be
 * read for damage. */
static void read_changes(pd_dict *d, int64_t since, int *decode_failed) {
  pd_changes *c = NULL;
  int rc = pd_changes_open(&c, d, since);
  check_rc(d, rc);
  *decode_failed = rc == PD_EDECODE;
  if (rc != PD_OK)
    return;
  pd_change ch;
  int64_t expect = since + 1;
  while ((rc = pd_changes_next(c, &ch)) == PD_OK) {
    CHECK(ch.version == expect++);
    CHECK(ch.op >= PD_CHANGE_SET && ch.op <= PD_CHANGE_CLEAR);
    if (ch.op == PD_CHANGE_CLEAR)
      CHECK(ch.key.kind == PD_NULL);
    else
      check_key(&ch.key);
  }
  CHECK(rc == PD_ITEROVER);
  pd_changes_free(c);
}

/* pd_check passed: the file must read whole. */
static void check_whole(pd_dict *d) {
  pd_iter_options o = PD_ITER_OPTIONS_INIT;
  o.values = 1;
  size_t entries, bad;
  iterate(d, &o, &entries, &bad);
  CHECK(bad == 0);
  int64_t n = -1;
  CHECK(pd_count(d, &n) == PD_OK); /* pd_check read every count */
  CHECK(n == (int64_t)entries);

  pd_iter *it = NULL;
  CHECK(pd_iter_open(&it, d, &o) == PD_OK);
  pd_val k, v, got;
  while (pd_iter_next(it, &k, &v) == PD_OK) {
    /* pd_get's memory is the handle's, the iterator's its own */
    if (k.kind != PD_INT && k.u.s.len > PD_MAX_KEY_BYTES)
      continue;
    CHECK(pd_get(d, &k, &got) == PD_OK);
    CHECK(pd_val_equal(&got, &v));
  }
  pd_iter_free(it);

  int64_t version = 0;
  if (pd_version(d, &version) == PD_OK) {
    int failed;
    for (int64_t since = version; since >= 0 && since >= version - 3; since--) {
      read_changes(d, since, &failed);
      CHECK(!failed);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  program pg = {data, size};
  char kbuf[16], vbuf[16], ebuf[16];
  pd_dict *d = NULL;
  pd_options opts = PD_OPTIONS_INIT;

  if (!dec)
    CHECK(pd_dec_new(&dec) == PD_OK);
  CHECK(pd_open(&d, ":memory:", &opts) == PD_OK);

  for (int ops = 0; pg.n > 0 && ops < 64; ops++) {
    uint8_t op = take_byte(&pg);
    pd_val k = take_key(&pg, kbuf), v, got;
    int rc = PD_OK, flag = 0;
    int64_t n = 0;
    switch (op % 16) {
    case 0:
    case 1:
      v = take_value(&pg, vbuf);
      rc = pd_set(d, &k, &v);
      break;
    case 2:
      rc = pd_delete(d, &k);
      break;
    case 3:
      rc = pd_get(d, &k, &got);
      if (rc == PD_OK)
        check_value(&got);
      break;
    case 4:
      rc = pd_contains(d, &k);
      break;
    case 5:
      rc = op & 0x10 ? pd_count(d, &n) : pd_version(d, &n);
      break;
    case 6: {
      pd_iter_options o = PD_ITER_OPTIONS_INIT;
      pd_val bound = take_key(&pg, ebuf);
      o.values = op & 0x10;
      o.page_size = 1 + op / 0x20 % 4;
      if (op & 0x80)
        o.prefix = &k;
      else if (op & 0x40)
        o.start = &k;
      if (take_byte(&pg) & 1)
        o.end = &bound;
      size_t entries, bad;
      iterate(d, &o, &entries, &bad);
      break;
    }
    case 7: {
      int failed;
      int64_t back = take_byte(&pg) % 4;
      rc = pd_version(d, &n);
      if (rc == PD_OK)
        read_changes(d, n > back ? n - back : 0, &failed);
      break;
    }
    case 8:
      rc = pd_check(d);
      break;
    case 9: {
      pd_val by = op & 0x10 ? pd_int(take_int(&pg)) : pd_float(0.25);
      rc = pd_incr(d, &k, &by, &got);
      break;
    }
    case 10:
      if (op & 0x10) {
        rc = pd_pop(d, &k, &got);
      } else {
        v = take_value(&pg, vbuf);
        rc = pd_get_and_set(d, &k, &v, &got, &flag);
      }
      if (rc == PD_OK)
        check_value(&got);
      break;
    case 11:
      v = take_value(&pg, vbuf);
      if (op & 0x10) {
        rc = pd_set_if_absent(d, &k, &v, &flag);
      } else {
        pd_val e = take_value(&pg, ebuf);
        rc = pd_compare_and_swap(d, &k, &e, op & 0x20 ? &v : NULL, &flag);
      }
      break;
    case 12:
      rc = pd_clear(d);
      break;
    case 13:
      rc = pd_in_transaction(d) ? (op & 0x10 ? pd_commit(d) : pd_rollback(d))
                                : pd_begin(d);
      break;
    case 14:
      if (op & 0x10) {
        pd_stats st;
        rc = pd_stats_get(d, &st);
      } else if (op & 0x20) {
        char **names = NULL;
        size_t count = 0;
        rc = pd_namespaces(d, &names, &count);
        if (rc == PD_OK)
          pd_free_names(names, count);
      } else {
        /* the handle's own namespace, or one raw SQL may have made */
        rc = pd_drop_namespace(d, op & 0x40 ? "default" : "a");
      }
      break;
    default:
      /* Raw SQL only between transactions, as another process writes. */
      if (!pd_in_transaction(d))
        damage(d, &pg);
      break;
    }
    check_rc(d, rc);
  }

  if (pd_in_transaction(d))
    pd_rollback(d);
  if (pd_check(d) == PD_OK)
    check_whole(d);
  pd_close(d);
  return 0;
}
