/*
 * read_cache.c - a per-handle cache of get/contains/count results, hits and
 * misses alike, so repeated reads skip the engine entirely (for SQLite: the
 * read transaction, whose shm locking alone costs more than the lookup).
 *
 * Correctness rule: a read must see every commit that completed before the
 * call began. The cache is therefore trusted only while the engine's commit
 * stamp (engine.h; for SQLite the WAL-index header, which every commit by
 * any process rewrites) is byte for byte the one recorded when the current
 * entries were read. The stamp is taken BEFORE the engine read that fills an
 * entry, so an entry is never older than its stamp claims: a commit landing
 * between the stamp and the read only makes the entry newer, and the next
 * call sees a new stamp and starts over. Any change of stamp, any write,
 * begin, commit or rollback on this handle, and reopen forget everything at
 * once by bumping an epoch (entries of older epochs are dead). Inside an
 * explicit transaction the cache is not used at all (reads must see the
 * transaction's own writes), and an engine without a stamp (":memory:", a
 * file not in WAL mode) is never cached.
 *
 * Memory is bounded: an 8-way set-associative table (a key may sit in one of
 * the 8 slots of its bucket; a newcomer takes a free or dead slot, else
 * evicts one in turn) whose entries, table included, stay under the
 * configured budget: when an entry would pass it, a clock hand sweeping the
 * table frees entries until it fits. (A direct-mapped table measured 45%
 * misses at 60% load on repeated scans: colliding keys evict each other
 * forever.) The table starts small and doubles as entries arrive, up to the
 * size the budget allows: sized for the whole budget up front (4 MiB of
 * slots by default), it made every open and close of a handle touch all of
 * it, 10-20 ms on a VM where each page fault is dear.
 * Values over CACHE_MAX_VALUE bytes and keys over CACHE_MAX_KEY bytes are
 * not cached: copying them costs more than the read saved.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define CACHE_DEFAULT_KIB 32768
#define CACHE_MAX_VALUE 4096
#define CACHE_MAX_KEY 512
/* A guess of the average entry size, to size the slot table from the budget. */
#define CACHE_BYTES_PER_SLOT 64
#define CACHE_WAYS 8 /* 8 pointers: one 64-byte cache line per bucket */
#define CACHE_MIN_SLOTS 1024 /* 16 KiB of table */
#define CACHE_MAX_SLOTS (1u << 20)

typedef struct entry {
  uint32_t epoch;
  uint32_t key_len;
  size_t size;         /* bytes allocated, for the budget */
  pd_kind key_kind;
  int found;
  pd_val value;        /* bytes (if any) follow the key in data */
  unsigned char data[];
} entry;

struct pd__cache {
  entry **slots;
  /* The hash of each slot's entry, side by side: a lookup compares a
   * bucket's 8 hashes in one cache line and follows only the pointer that
   * matches, instead of touching up to 8 entries scattered in the heap. */
  uint64_t *hashes;
  size_t mask;         /* slot count - 1 */
  size_t max_slots;    /* what the table may grow to */
  size_t live;         /* non-empty slots (dead entries included) */
  size_t budget;       /* bytes, table included */
  size_t used;
  size_t hand;         /* next slot the budget sweep frees */
  unsigned victim;     /* rotates over the ways when a bucket is full */
  uint32_t epoch;      /* entries of another epoch are dead */
  int stamp_set;
  pd__stamp stamp;     /* the commit stamp the live epoch was read under */
  int count_known;
  int64_t count;
};

int pd__cache_new(pd_dict *d, int cache_kib) {
  d->cache = NULL;
  if (cache_kib < 0) return PD_OK; /* switched off */
  size_t budget = (size_t)(cache_kib ? cache_kib : CACHE_DEFAULT_KIB) * 1024;
  size_t max_slots = CACHE_MIN_SLOTS;
  while (max_slots < CACHE_MAX_SLOTS && max_slots * 2 * CACHE_BYTES_PER_SLOT <= budget)
    max_slots *= 2;
  size_t slots = CACHE_MIN_SLOTS;
  pd__cache *c = calloc(1, sizeof *c);
  if (!c || !(c->slots = calloc(slots, sizeof *c->slots)) ||
      !(c->hashes = calloc(slots, sizeof *c->hashes))) {
    if (c) free(c->slots);
    free(c);
    return PD_ENOMEM;
  }
  c->mask = slots - 1;
  c->max_slots = max_slots;
  c->budget = budget;
  c->used = sizeof *c + slots * (sizeof *c->slots + sizeof *c->hashes);
  c->epoch = 1;
  d->cache = c;
  return PD_OK;
}

/* Frees an entry that has left its slot, and its share of the budget. */
static void release(pd__cache *c, entry *e) {
  c->used -= e->size;
  c->live--;
  free(e);
}

static void entry_free(pd__cache *c, size_t slot) {
  entry *e = c->slots[slot];
  if (!e) return;
  c->slots[slot] = NULL;
  release(c, e);
}

static void drop_entries(pd__cache *c) {
  for (size_t i = 0; c->live && i <= c->mask; i++) entry_free(c, i);
}

void pd__cache_free(pd_dict *d) {
  if (!d->cache) return;
  drop_entries(d->cache);
  free(d->cache->slots);
  free(d->cache->hashes);
  free(d->cache);
  d->cache = NULL;
}

void pd__cache_invalidate(pd_dict *d) {
  pd__cache *c = d->cache;
  if (!c) return;
  c->stamp_set = 0;
  c->count_known = 0;
  if (++c->epoch == 0) { /* after 2^32 epochs an old entry could look alive */
    drop_entries(c);
    c->epoch = 1;
  }
}

/* The key's bytes for hashing and comparing: integers by their 8 bytes. */
static const void *key_bytes(const pd_val *key, size_t *len) {
  if (key->kind == PD_INT) {
    *len = sizeof key->u.i;
    return &key->u.i;
  }
  *len = key->u.s.len;
  return key->u.s.ptr;
}

/* FNV-1a, folded with the kind: keys are short, so this is cheap enough. */
static uint64_t key_hash(const pd_val *key, const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 1469598103934665603ULL ^ (uint64_t)key->kind;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 1099511628211ULL;
  }
  /* FNV's low bits mix poorly and buckets come from them: finish with
   * MurmurHash3's fmix64 avalanche. */
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

/* Decides whether the cache may answer now. Returns 1 when the live epoch
 * is still current, 0 when it was just restarted under a fresh stamp (the
 * caller reads the engine and may fill), -1 when nothing may be cached. */
static int cache_current(pd_dict *d, pd__cache *c) {
  pd__stamp now;
  if (d->in_txn || !d->engine->commit_stamp(d, &now)) return -1;
  if (c->stamp_set && memcmp(&now, &c->stamp, sizeof now) == 0) return 1;
  pd__cache_invalidate(d);
  c->stamp = now;
  c->stamp_set = 1;
  return 0;
}

/* Copies a cached value into d->out, as an engine read would have. */
static int serve(pd_dict *d, const entry *e, pd_val *out) {
  *out = e->value;
  if (pd__val_has_bytes(&e->value)) {
    d->out.len = 0;
    size_t at = pd__buf_append(&d->out, e->data + e->key_len, e->value.u.s.len);
    if (at == (size_t)-1) return pd__err(d, PD_ENOMEM, "out of memory reading a value");
    out->u.s.ptr = d->out.data + at;
  }
  return PD_OK;
}

static size_t bucket_of(const pd__cache *c, uint64_t h) {
  return (size_t)h & c->mask & ~(size_t)(CACHE_WAYS - 1);
}

/* Doubles the table once 3/8 of its slots are taken, while the budget
 * allows: live entries move to their bucket in the new table (the rare one
 * whose new bucket is full is dropped, as any cache entry may be), dead ones
 * go. Why so early: at 3/4, 15% of the 8-slot buckets are over-full (random
 * keys fill them unevenly) and evict each other, and the taken slots never
 * reach the 3/4 that would grow the table: 100,000 keys measured 10% misses
 * on every pass. At 3/8, under 0.5% of buckets overflow. */
static void grow(pd__cache *c) {
  size_t slots = c->mask + 1;
  if (c->live < slots / 8 * 3 || slots >= c->max_slots) return;
  size_t bigger = slots * 2, extra = slots * (sizeof *c->slots + sizeof *c->hashes);
  if (c->used + extra > c->budget) return;
  entry **ns = calloc(bigger, sizeof *ns);
  uint64_t *nh = calloc(bigger, sizeof *nh);
  if (!ns || !nh) { /* a cache may always stay as it is */
    free(ns);
    free(nh);
    return;
  }
  entry **os = c->slots;
  uint64_t *oh = c->hashes;
  c->slots = ns;
  c->hashes = nh;
  c->mask = bigger - 1;
  c->used += extra;
  c->hand = 0;
  for (size_t i = 0; i < slots; i++) {
    entry *e = os[i];
    if (!e) continue;
    size_t b = bucket_of(c, oh[i]), w = 0;
    while (w < CACHE_WAYS && ns[b + w]) w++;
    if (e->epoch != c->epoch || w == CACHE_WAYS) {
      release(c, e);
      continue;
    }
    ns[b + w] = e;
    nh[b + w] = oh[i];
  }
  free(os);
  free(oh);
}

/* The slot of key in its bucket, or -1. */
static ptrdiff_t find(const pd__cache *c, size_t bucket, uint64_t h, const pd_val *key,
                      const void *kp, size_t kn) {
  for (size_t w = 0; w < CACHE_WAYS; w++) {
    if (c->hashes[bucket + w] != h) continue;
    const entry *e = c->slots[bucket + w];
    if (e && e->epoch == c->epoch && e->key_kind == key->kind &&
        e->key_len == kn && memcmp(e->data, kp, kn) == 0)
      return (ptrdiff_t)(bucket + w);
  }
  return -1;
}

static void store(pd__cache *c, uint64_t h, const pd_val *key, const void *kp, size_t kn,
                  const pd_val *value, int found) {
  size_t vn = found && value && pd__val_has_bytes(value) ? value->u.s.len : 0;
  if (kn > CACHE_MAX_KEY || vn > CACHE_MAX_VALUE) return;
  size_t size = sizeof(entry) + kn + vn;
  grow(c);
  size_t bucket = bucket_of(c, h);
  /* The key's old entry, else a free or dead slot, else the next victim. */
  ptrdiff_t at = find(c, bucket, h, key, kp, kn);
  for (size_t w = 0; at < 0 && w < CACHE_WAYS; w++) {
    const entry *e = c->slots[bucket + w];
    if (!e || e->epoch != c->epoch) at = (ptrdiff_t)(bucket + w);
  }
  if (at < 0) at = (ptrdiff_t)(bucket + (c->victim++ % CACHE_WAYS));
  entry_free(c, (size_t)at);
  for (size_t swept = 0; c->used + size > c->budget && swept <= c->mask; swept++) {
    entry_free(c, c->hand);
    c->hand = (c->hand + 1) & c->mask;
  }
  if (c->used + size > c->budget) return; /* budget smaller than one entry */
  entry *e = malloc(size);
  if (!e) return; /* a cache may always decline */
  e->epoch = c->epoch;
  e->key_len = (uint32_t)kn;
  e->size = size;
  e->key_kind = key->kind;
  e->found = found;
  e->value = found && value ? *value : pd_null();
  memcpy(e->data, kp, kn);
  if (vn) memcpy(e->data + kn, value->u.s.ptr, vn);
  c->slots[at] = e;
  c->hashes[at] = h;
  c->used += size;
  c->live++;
}

int pd__read_item(pd_dict *d, const pd_val *key, pd_val *out, int *found) {
  pd__cache *c = d->cache;
  int state = c ? cache_current(d, c) : -1;
  if (state < 0) return d->engine->get(d, key, out, found);
  size_t kn;
  const void *kp = key_bytes(key, &kn);
  uint64_t h = key_hash(key, kp, kn);
  ptrdiff_t at = state == 1 ? find(c, bucket_of(c, h), h, key, kp, kn) : -1;
  if (at >= 0) {
    const entry *e = c->slots[at];
    /* contains of a key cached by a contains knows nothing of the value:
     * entries made without one (value PD_NULL, found) serve contains only. */
    if (!out || !e->found) {
      *found = e->found;
      return PD_OK;
    }
    if (e->value.kind != PD_NULL || e->value.tag != -1) {
      *found = 1;
      return serve(d, e, out);
    }
  }
  /* A key that points into d->out is overwritten by the read below. */
  int key_in_out = pd__buf_holds(&d->out, key);
  pd_val v;
  int rc = d->engine->get(d, key, out ? &v : NULL, found);
  if (rc) return rc;
  if (out && *found) *out = v;
  if (!key_in_out) {
    if (*found && !out) {
      /* Found by contains: remember presence, marked as carrying no value. */
      pd_val marker = pd_null();
      marker.tag = -1;
      store(c, h, key, kp, kn, &marker, 1);
    } else {
      store(c, h, key, kp, kn, out ? &v : NULL, *found);
    }
  }
  return PD_OK;
}

int pd__read_count(pd_dict *d, int64_t *out) {
  pd__cache *c = d->cache;
  int state = c ? cache_current(d, c) : -1;
  if (state == 1 && c->count_known) {
    *out = c->count;
    return PD_OK;
  }
  int rc = d->engine->count(d, out);
  if (!rc && state >= 0) {
    c->count = *out;
    c->count_known = 1;
  }
  return rc;
}
