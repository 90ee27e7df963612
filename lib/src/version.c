/* version.c - library version and the fixed text of each result code. */
#include "internal.h"

int pd_libversion_number(void) { return PERMADICT_VERSION_NUMBER; }

const char *pd_libversion(void) { return PERMADICT_VERSION_STRING; }

const char *pd_errstr(int code) {
  switch (code) {
  case PD_OK: return "not an error";
  case PD_ERROR: return "error";
  case PD_ENOTFOUND: return "not found";
  case PD_ITEROVER: return "iteration finished";
  case PD_EBUSY: return "the file stayed locked for the whole busy timeout";
  case PD_ETIMEOUT: return "timed out waiting for a change";
  case PD_EREADONLY: return "read-only handle, file or directory";
  case PD_EFORMAT: return "not a permadict file or a newer format";
  case PD_ENOTADB: return "not an SQLite database";
  case PD_ECORRUPT: return "the database file is damaged";
  case PD_EDECODE: return "a stored value cannot be decoded";
  case PD_ETOOBIG: return "over a size or nesting limit";
  case PD_EINVALID: return "invalid argument or value";
  case PD_ETYPE: return "stored value of the wrong kind";
  case PD_EFORKED: return "handle inherited across fork()";
  case PD_ENOMEM: return "out of memory";
  case PD_EIO: return "I/O error";
  case PD_EFULL: return "full (disk, file-size limit, versions or namespaces)";
  case PD_EMISUSE: return "API misuse";
  case PD_ERESYNC: return "the change log does not reach back that far";
  case PD_EGONE: return "the file or namespace is gone";
  default: return "unknown error code";
  }
}
