/*
 * How permadict.h crosses into Python. Included by ../permadict.i.
 *
 *   - A negative int return code becomes an exception from the permadict.Error
 *     hierarchy carrying pd_errmsg() of the handle (registry.swg).
 *   - pd_val in and out is converted in C (values.swg), never through a
 *     Python-level call per item.
 *   - Out-parameters become return values; a function with one output
 *     returns it, PD_ITEROVER returns None.
 *   - Handles are plain SWIG pointers owned by the Python layer
 *     (bindings/python/permadict), which closes them; None means closed.
 *     A pd_dict stays pinned from its conversion until the call's results
 *     are converted, so Python code run in between cannot close it
 *     (pdpy_call, registry.swg).
 *
 * SWIG runs with -threads, so every call releases the GIL while the core
 * (and SQLite) works or waits on a lock. Conversions happen before and after,
 * with the GIL held. The Python layer serialises calls per handle.
 */

%include <stdint.i>
%include "python/registry.swg"
%include "python/values.swg"
%include "python/lock.swg"
%include "python/mapping.swg"
%include "python/exit_shield.swg"

/* Reached through the typemaps below or not meaningful from Python. */
%ignore pd_free_names;
%ignore pd_val_equal;
%ignore pd_options;
%ignore pd_iter_options;
%ignore pd_stats;
%ignore pd_change;
%ignore pd_kind;
/* pd_val is ignored but SWIG still sees its nested union. */
%ignore pd_val::u;
%ignore pd_val_u;
%ignore pd_val_u_s;

/* ------------------------------------------------------------ return codes */

%define %pdpy_raise_if_error(MSG)
  if ($1 < 0) {
    pdpy_raise($1, MSG);
    SWIG_fail;
  }
  $result = Py_None;
  Py_INCREF(Py_None);
%enddef

/* Default for int: a code; message from the code alone. */
%typemap(out) int {
  %pdpy_raise_if_error(pd_errstr($1))
}

/* Functions whose first argument is the handle: the handle's message. */
%define %pdpy_code_of_arg1(FUNC)
%typemap(out) int FUNC { %pdpy_raise_if_error(pd_errmsg(arg1)) }
%enddef
%pdpy_code_of_arg1(pd_reopen)
%pdpy_code_of_arg1(pd_get)
%pdpy_code_of_arg1(pd_set)
%pdpy_code_of_arg1(pd_delete)
%pdpy_code_of_arg1(pd_count)
%pdpy_code_of_arg1(pd_clear)
%pdpy_code_of_arg1(pd_incr)
%pdpy_code_of_arg1(pd_set_if_absent)
%pdpy_code_of_arg1(pd_pop)
%pdpy_code_of_arg1(pd_get_and_set)
%pdpy_code_of_arg1(pd_compare_and_swap)
%pdpy_code_of_arg1(pd_begin)
%pdpy_code_of_arg1(pd_commit)
%pdpy_code_of_arg1(pd_rollback)
%pdpy_code_of_arg1(pd_namespaces)
%pdpy_code_of_arg1(pd_drop_namespace)
%pdpy_code_of_arg1(pd_version)
%pdpy_code_of_arg1(pd_watch_fd)
%pdpy_code_of_arg1(pd_stats_get)
%pdpy_code_of_arg1(pd_check)
/* The handle is the second argument after the new object's out-pointer. */
%typemap(out) int pd_iter_open { %pdpy_raise_if_error(pd_errmsg(arg2)) }
%typemap(out) int pd_changes_open { %pdpy_raise_if_error(pd_errmsg(arg2)) }
/* No handle yet: this thread's open message. */
%typemap(out) int pd_open { %pdpy_raise_if_error(pd_errmsg(NULL)) }
%typemap(out) int pd_file_namespaces { %pdpy_raise_if_error(pd_errmsg(NULL)) }

/* PD_ITEROVER is the end, not an error: None (the argouts then add nothing). */
%define %pdpy_iteration_code(FUNC)
%typemap(out) int FUNC {
  if ($1 < 0 && $1 != PD_ITEROVER) {
    pdpy_raise($1, pd_errstr($1));
    SWIG_fail;
  }
  $result = Py_None;
  Py_INCREF(Py_None);
}
%enddef
%pdpy_iteration_code(pd_iter_next)
%pdpy_iteration_code(pd_changes_next)

/* pd_wait: the new version, or None when the timeout passed without a change. */
%typemap(out) int pd_wait {
  if ($1 < 0 && $1 != PD_ETIMEOUT) {
    pdpy_raise($1, pd_errmsg(arg1));
    SWIG_fail;
  }
  $result = Py_None;
  Py_INCREF(Py_None);
}
%typemap(in, numinputs=0) int64_t *version (int64_t v = 0) { $1 = &v; }
%typemap(argout) int64_t *version {
  if (result == PD_OK) {
    Py_DECREF($result);
    $result = PyLong_FromLongLong(*$1);
    if (!$result) SWIG_fail;
  }
}

/* Answers rather than codes. */
%typemap(out) int pd_contains {
  if ($1 == PD_OK) $result = Py_True;
  else if ($1 == PD_ENOTFOUND) $result = Py_False;
  else {
    pdpy_raise($1, pd_errmsg(arg1));
    SWIG_fail;
  }
  Py_INCREF($result);
}
%typemap(out) int pd_in_transaction { $result = PyBool_FromLong($1); }
%typemap(out) int pd_libversion_number { $result = PyLong_FromLong($1); }
%typemap(out) int pd_sqlite_errcode { $result = PyLong_FromLong($1); }

/* ----------------------------------------------------------------- handles */

/* PIN: pd_dict handles are pinned for the call (pdpy_call), so that close()
 * from Python code the call runs (a pickling hook, a list subclass's
 * __iter__) raises instead of freeing the handle under the call. */
%define %pdpy_open_handle(TYPE, PIN)
/* None is a closed handle: refuse it here rather than hand NULL to the core. */
%typemap(in) TYPE *SWIG_PDPY_HANDLE (void *argp = 0, int res = 0, pdpy_call call = PDPY_CALL_INIT) {
  res = SWIG_ConvertPtr($input, &argp, $descriptor(TYPE *), 0);
  if (!SWIG_IsOK(res)) {
    SWIG_exception_fail(SWIG_ArgError(res), "in '$symname': expected a " #TYPE " handle");
  }
  if (!argp) {
    pdpy_raise_closed();
    SWIG_fail;
  }
  $1 = (TYPE *)argp;
  if (pdpy_call_begin(&call, argp, PIN)) SWIG_fail;
}
/* After the result is converted, on success and failure alike. */
%typemap(freearg) TYPE *SWIG_PDPY_HANDLE { pdpy_call_end(&call$argnum); }
%enddef
%pdpy_open_handle(pd_dict, 1)
%pdpy_open_handle(pd_iter, 0)
%pdpy_open_handle(pd_changes, 0)
%apply pd_dict *SWIG_PDPY_HANDLE { pd_dict *d };
%apply pd_iter *SWIG_PDPY_HANDLE { pd_iter *it };
%apply pd_changes *SWIG_PDPY_HANDLE { pd_changes *c };

/* The last line of defence for callers of _core.close (Permadict.close checks
 * in_call itself, before it frees the cursors): a handle still used by a call
 * in progress is not freed. The one pin is this close call's own. */
%exception pd_close {
  if (pdpy_calls_on(arg1) > 1) {
    pdpy_raise_in_call();
    SWIG_fail;
  }
  $action
}

/* New objects come back as the function's result. */
%define %pdpy_new_handle(TYPE)
%typemap(in, numinputs=0) TYPE **out (TYPE *temp = NULL) { $1 = &temp; }
%typemap(argout) TYPE **out {
  Py_DECREF($result);
  $result = SWIG_NewPointerObj(*$1, $descriptor(TYPE *), 0);
}
%enddef
%pdpy_new_handle(pd_dict)
%pdpy_new_handle(pd_iter)
%pdpy_new_handle(pd_changes)

/* A file path as the OS takes it: str (encoded as os.fsencode does, so a name
 * that is not UTF-8 round-trips through os.fsdecode), bytes or a path-like.
 * A NUL in it is a ValueError, as for open(): C would see a shorter path and
 * open (even create) another file. */
%typemap(in) const char *path (PyObject *encoded = NULL) {
  if (!PyUnicode_FSConverter($input, &encoded)) SWIG_fail;
  $1 = PyBytes_AS_STRING(encoded);
}
%typemap(freearg) const char *path { Py_XDECREF(encoded$argnum); }

/* Options: a tuple (name, readonly, create, timeout_ms, durable), or None for
 * the defaults. name borrows the str's UTF-8, alive for the call. */
%typemap(in) const pd_options *opts (pd_options o = PD_OPTIONS_INIT) {
  if ($input != Py_None) {
    PyObject *name;
    int readonly, create, timeout_ms, durable;
    if (!PyArg_ParseTuple($input, "Opiip;options must be (name, readonly, create, timeout_ms, durable)",
                          &name, &readonly, &create, &timeout_ms, &durable))
      SWIG_fail;
    if (name != Py_None) {
      o.name = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
      if (!o.name) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "namespace name must be a str");
        SWIG_fail;
      }
    }
    o.readonly = readonly;
    o.create = create;
    o.timeout_ms = timeout_ms;
    o.durable = durable;
  }
  $1 = &o;
}

/* Iterator options: a tuple (values, prefix, start, end, page_size); prefix,
 * start and end are keys or None. */
%typemap(in) const pd_iter_options *opts (pd_iter_options o = PD_ITER_OPTIONS_INIT,
                                          pd_val bounds[3]) {
  PyObject *b[3];
  Py_ssize_t page_size;
  if (!PyArg_ParseTuple($input, "pOOOn;iterator options must be (values, prefix, start, end, page_size)",
                        &o.values, &b[0], &b[1], &b[2], &page_size))
    SWIG_fail;
  const pd_val **slot[3] = {&o.prefix, &o.start, &o.end};
  for (int i = 0; i < 3; i++) {
    if (b[i] == Py_None) continue;
    if (pdpy_key_from_py(b[i], &bounds[i])) SWIG_fail;
    *slot[i] = &bounds[i];
  }
  o.page_size = page_size > 0 ? (size_t)page_size : 0;
  $1 = &o;
}

/* ------------------------------------------------------------------ values */

%typemap(in) const pd_val *key (pd_val v) {
  if (pdpy_key_from_py($input, &v)) SWIG_fail;
  $1 = &v;
}

/* The encoder slot a value borrows stays busy until freearg, after the core
 * call: converting a later argument may run Python code that encodes. */
%define %pdpy_value_in(NAME, SLOT, ABSENT_ALLOWED)
%typemap(in) const pd_val *NAME (pd_val v, PyObject *keep = NULL, pdpy_codec *held = NULL) {
  if (ABSENT_ALLOWED && $input == pdpy_absent) {
    $1 = NULL;
  } else {
    if (pdpy_val_from_py($input, &v, SLOT, &keep, &held)) SWIG_fail;
    $1 = &v;
  }
}
%typemap(freearg) const pd_val *NAME {
  pdpy_val_release(held$argnum, SLOT);
  Py_XDECREF(keep$argnum);
}
%enddef
%pdpy_value_in(value, 0, 0)
%pdpy_value_in(by, 0, 0)
%pdpy_value_in(expected, 0, 1)
%pdpy_value_in(desired, 1, 1)

/* An argout that fails must drop the result the out typemap made (None):
 * SWIG's fail path does not, and it would leak a reference per call. */

/* The one output value replaces the result. */
%typemap(in, numinputs=0) pd_val *out (pd_val v) {
  memset(&v, 0, sizeof v);
  $1 = &v;
}
%typemap(argout) pd_val *out {
  PyObject *o = pdpy_val_to_py($1);
  if (!o) {
    Py_CLEAR($result);
    SWIG_fail;
  }
  Py_DECREF($result);
  $result = o;
}

/* pd_get_and_set: the tuple (old, found), made in one place: appending to the
 * result would drop an old None and splice an old list into the result. */
%typemap(in, numinputs=0) (pd_val *old, int *found) (pd_val v, int flag = 0) {
  memset(&v, 0, sizeof v);
  $1 = &v;
  $2 = &flag;
}
%typemap(argout) (pd_val *old, int *found) {
  PyObject *o = pdpy_val_to_py($1);
  Py_CLEAR($result);
  if (!o) SWIG_fail;
  $result = Py_BuildValue("(NO)", o, *$2 ? Py_True : Py_False);
  if (!$result) SWIG_fail;
}

/* pd_iter_next: (key, value), value None when not asked for; None at the end. */
%typemap(in, numinputs=0) (pd_val *key, pd_val *value) (pd_val k, pd_val v) {
  memset(&k, 0, sizeof k);
  memset(&v, 0, sizeof v);
  $1 = &k;
  $2 = &v;
}
%typemap(argout) (pd_val *key, pd_val *value) {
  if (result == PD_OK) {
    PyObject *k = pdpy_scalar_to_py($1);
    PyObject *v = k ? pdpy_val_to_py($2) : NULL;
    if (!v) {
      /* The core moved past this row already: the error must say which key. */
      if (k) pdpy_blame_key(k, 1);
      Py_XDECREF(k);
      Py_CLEAR($result);
      SWIG_fail;
    }
    Py_DECREF($result);
    $result = PyTuple_Pack(2, k, v);
    Py_DECREF(k);
    Py_DECREF(v);
    if (!$result) SWIG_fail;
  }
}

/* pd_changes_next: (version, op, key); None at the end. */
%typemap(in, numinputs=0) pd_change *out (pd_change c) {
  memset(&c, 0, sizeof c);
  $1 = &c;
}
%typemap(argout) pd_change *out {
  if (result == PD_OK) {
    PyObject *k = pdpy_scalar_to_py(&$1->key);
    if (!k) {
      Py_CLEAR($result);
      SWIG_fail;
    }
    Py_DECREF($result);
    $result = Py_BuildValue("(LiN)", (long long)$1->version, (int)$1->op, k);
    if (!$result) SWIG_fail;
  }
}

/* ------------------------------------------------------ other out-params */

%define %pdpy_flag_out(NAME)
%typemap(in, numinputs=0) int *NAME (int flag = 0) { $1 = &flag; }
%typemap(argout) int *NAME { $result = SWIG_AppendOutput($result, PyBool_FromLong(*$1)); }
%enddef
%pdpy_flag_out(inserted)
%pdpy_flag_out(swapped)

%define %pdpy_number_out(TYPE, NAME, CONVERT)
%typemap(in, numinputs=0) TYPE *NAME (TYPE n = 0) { $1 = &n; }
%typemap(argout) TYPE *NAME {
  PyObject *n = CONVERT(*$1);
  if (!n) {
    Py_CLEAR($result);
    SWIG_fail;
  }
  $result = SWIG_AppendOutput($result, n);
}
%enddef
%pdpy_number_out(int64_t, out, PyLong_FromLongLong)
%pdpy_number_out(int, fd, PyLong_FromLong)

/* pd_namespaces: a list of str. */
%typemap(in, numinputs=0) (char ***out, size_t *count) (char **names = NULL, size_t n = 0) {
  $1 = &names;
  $2 = &n;
}
%typemap(argout) (char ***out, size_t *count) {
  PyObject *list = PyList_New((Py_ssize_t)*$2);
  for (size_t i = 0; list && i < *$2; i++) {
    PyObject *s = PyUnicode_DecodeUTF8((*$1)[i], (Py_ssize_t)strlen((*$1)[i]), "replace");
    if (!s) Py_CLEAR(list);
    else PyList_SET_ITEM(list, (Py_ssize_t)i, s);
  }
  pd_free_names(*$1, *$2);
  if (!list) {
    Py_CLEAR($result);
    SWIG_fail;
  }
  Py_DECREF($result);
  $result = list;
}

/* pd_stats_get: a dict. */
%typemap(in, numinputs=0) pd_stats *out (pd_stats s) {
  memset(&s, 0, sizeof s);
  $1 = &s;
}
%typemap(argout) pd_stats *out {
  PyObject *o = Py_BuildValue(
      "{sLsLsLsLsLsLsLsLsi}", "count", (long long)$1->count, "version",
      (long long)$1->version, "namespaces", (long long)$1->namespaces, "page_size",
      (long long)$1->page_size, "page_count", (long long)$1->page_count, "freelist_count",
      (long long)$1->freelist_count, "file_bytes", (long long)$1->file_bytes, "wal_bytes",
      (long long)$1->wal_bytes, "format_version", $1->format_version);
  if (!o) {
    Py_CLEAR($result);
    SWIG_fail;
  }
  Py_DECREF($result);
  $result = o;
}

/* ------------------------------------------------- functions of our own */

/* After the typemaps above: set_many's handle is converted and pinned by them. */
%include "python/batch.swg"
