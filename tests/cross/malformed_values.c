/*
 * malformed_values - values damaged with raw SQL (random bytes, truncated
 * documents, wrong lengths, an ext tag 0, trailing bytes, a float map key,
 * nesting a million deep, an unknown type code, storage classes that do not
 * match the type, text that is not UTF-8): pd_get reports PD_EDECODE naming
 * the key, iteration reports each bad row and goes on past it, the good rows
 * around them still read, and nothing crashes. A key longer than the limit
 * is a bad row too, in the iteration and in the change log.
 */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cross_util.h"

struct bad {
  const char *key;
  int type;
  const char *sql_value; /* an SQL expression */
};

static const struct bad BAD[] = {
    {"random_bytes", 6, "x'c1c1c1ff00'"},
    {"truncated_array", 6, "x'94010203'"}, /* 4 items announced, 3 given */
    {"truncated_str", 6, "x'91a5616263'"},   /* str of 5, 3 given */
    {"wrong_bin_length", 6, "x'91c4ff00'"},
    {"ext_tag_zero", 6, "x'd40000'"},
    {"trailing_bytes", 6, "x'9001'"},
    {"float_map_key", 6, "x'81cb3ff000000000000000c0'"},
    {"unsorted_map", 6, "x'82a162c0a161c0'"},
    {"scalar_packed", 6, "x'01'"},
    {"deep_nesting", 6, "(SELECT unhex_placeholder)"},
    {"unknown_type", 99, "1"},
    {"int_stored_as_text", 2, "'12'"},
    {"text_stored_as_blob", 4, "x'6869'"},
    {"text_not_utf8", 4, "CAST(x'ff' AS TEXT)"},
    {"bool_two", 1, "2"},
    {"packed_as_text", 6, "'abc'"},
    {"float_as_blob", 3, "x'00'"},
};
#define NBAD (sizeof BAD / sizeof BAD[0])

/* The change log row of a set of key (len bytes, -1: up to its zero byte)
 * at version, carrying version as the count (each set added a key). */
static int log_set(sqlite3 *db, int version, const char *key, int len) {
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db,
                     "INSERT INTO permadict_rows (id, ns, key, type, value) "
                     "SELECT (n.slot << 44) + 2 * ?1 + 1, n.id, ?2, -1, ?1 "
                     "FROM permadict_namespaces n WHERE n.name = 'default'",
                     -1, &st, NULL);
  sqlite3_bind_int(st, 1, version);
  sqlite3_bind_text(st, 2, key, len, SQLITE_STATIC);
  int src = sqlite3_step(st);
  sqlite3_finalize(st);
  if (src != SQLITE_DONE) printf("setup log row of version %d failed: %s\n", version,
                                 sqlite3_errmsg(db));
  return src != SQLITE_DONE;
}

/* FORMAT.md 2 and 5, as another writer would: key (len bytes, -1: up to its
 * zero byte) set at version with type and value_sql (an SQL expression; "?4"
 * for blob, of blob_len bytes, freed here), at rowid 2v of the namespace's
 * slot, and logged at 2v + 1 with the count after it. what names the entry
 * in the message of a failed setup. */
static int insert_entry(sqlite3 *db, int version, const char *key, int len, int type,
                        const char *value_sql, unsigned char *blob, int blob_len,
                        const char *what) {
  char q[512];
  snprintf(q, sizeof q,
           "INSERT INTO permadict_rows (id, ns, key, type, value) SELECT (n.slot << 44) + 2 * ?1, "
           "n.id, ?2, ?3, %s FROM permadict_namespaces n WHERE n.name = 'default'",
           value_sql);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(db, q, -1, &st, NULL);
  if (blob) sqlite3_bind_blob(st, 4, blob, blob_len, free);
  sqlite3_bind_int(st, 1, version);
  sqlite3_bind_text(st, 2, key, len, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, type);
  if (sqlite3_step(st) != SQLITE_DONE) {
    printf("setup insert %s failed: %s\n", what, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return 1;
  }
  sqlite3_finalize(st);
  return log_set(db, version, key, len);
}

int main(void) {
  const char *path = xu_path("malformed.pd");
  pd_dict *d = xu_open(path, NULL);
  pd_val gk = pd_text("good_a", 6), gv = pd_int(1);
  XU_RC(pd_set(d, &gk, &gv), PD_OK, d, "good");
  gk = pd_text("zzz_good", 8);
  XU_RC(pd_set(d, &gk, &gv), PD_OK, d, "good");
  pd_close(d);

  sqlite3 *db;
  sqlite3_open(path, &db);
  /* Entry i is set at version 3 + i (after the two good ones). */
  for (size_t i = 0; i < NBAD; i++) {
    const char *value_sql = BAD[i].sql_value;
    unsigned char *blob = NULL;
    int blob_len = 0;
    if (strcmp(BAD[i].key, "deep_nesting") == 0) {
      /* 10^6 one-element arrays around nil: far past any depth limit. */
      size_t n = 1000000;
      blob = malloc(n + 1);
      memset(blob, 0x91, n);
      blob[n] = 0xc0;
      blob_len = (int)n + 1;
      value_sql = "?4";
    }
    if (insert_entry(db, 3 + (int)i, BAD[i].key, -1, BAD[i].type, value_sql, blob, blob_len,
                     BAD[i].key))
      return 2;
  }
  /* A key longer than FORMAT.md 3 allows (with a good value): handed out,
   * it could be neither read nor deleted, since every call refuses it. */
  char long_key[PD_MAX_KEY_BYTES + 1];
  memset(long_key, 'k', sizeof long_key);
  if (insert_entry(db, 3 + (int)NBAD, long_key, (int)sizeof long_key, 2, "1", NULL, 0,
                   "of the long key"))
    return 2;
  sqlite3_close(db);

  d = xu_open(path, NULL);
  for (size_t i = 0; i < NBAD; i++) {
    pd_val k = pd_text(BAD[i].key, strlen(BAD[i].key)), v;
    int rc = pd_get(d, &k, &v);
    XU_CHECK(rc == PD_EDECODE, "%s: pd_get gave %s: %s", BAD[i].key, pd_errstr(rc), pd_errmsg(d));
    XU_CHECK(rc != PD_EDECODE || strstr(pd_errmsg(d), BAD[i].key) != NULL,
             "%s: message does not name the key: %s", BAD[i].key, pd_errmsg(d));
  }
  pd_val v;
  int rc;
  pd_iter *it;
  pd_iter_options io = PD_ITER_OPTIONS_INIT;
  io.values = 1;
  XU_RC(pd_iter_open(&it, d, &io), PD_OK, d, "iter");
  int good = 0, bad = 0, other = 0;
  for (int guard = 0; guard < 1000; guard++) {
    pd_val ik, iv;
    rc = pd_iter_next(it, &ik, &iv);
    if (rc == PD_ITEROVER) break;
    if (rc == PD_OK) good++;
    else if (rc == PD_EDECODE) bad++;
    else other++;
  }
  pd_iter_free(it);
  XU_CHECK(good == 2 && bad == (int)NBAD + 1 && other == 0,
           "iteration: %d good (want 2), %d decode errors (want %zu), %d other", good, bad,
           NBAD + 1, other);
  pd_changes *c = NULL;
  char long_len[32]; /* "<PD_MAX_KEY_BYTES + 1> bytes" */
  snprintf(long_len, sizeof long_len, "%d bytes", PD_MAX_KEY_BYTES + 1);
  rc = pd_changes_open(&c, d, 2 + (int)NBAD);
  XU_CHECK(rc == PD_EDECODE && strstr(pd_errmsg(d), long_len) != NULL,
           "the long key's log row: pd_changes_open gave %s: %s", pd_errstr(rc), pd_errmsg(d));
  pd_changes_free(c);
  pd_val g = pd_text("zzz_good", 8);
  XU_RC(pd_get(d, &g, &v), PD_OK, d, "good key after the bad ones");
  XU_RC(pd_check(d), PD_ECORRUPT, d, "pd_check reports undecodable values");
  pd_close(d);
  return xu_finish();
}
