/*
 * The one SWIG interface for every language binding.
 *
 * It wraps lib/include/permadict.h as it is. What differs between languages is
 * only how a pd_val, a return code and an out-parameter cross into the host
 * language: those typemaps live in python/ and lua/ beside this file, one
 * file per concern, and are selected here. Functions are exposed without
 * their pd_ prefix (pd_get -> core.get); the idiomatic layers in bindings/
 * build Permadict (Python) and the table-like object (Lua) on top.
 */
%module core

%{
#include "permadict.h"
%}

/* Names without the C prefix: pd_get -> get, PD_ENOTFOUND -> ENOTFOUND. */
%rename("%(strip:[pd_])s") "";
%rename("%(strip:[PD_])s", %$isconstant) "";
%rename("%(strip:[PD_])s", %$isenumitem) "";

/* The static inline constructors and the encoder/decoder are for C callers;
 * bindings reach the codec through their typemaps, never through Python or
 * Lua calls per item (that would be a chain of slow host-language calls). */
%ignore pd_null;
%ignore pd_bool;
%ignore pd_int;
%ignore pd_float;
%ignore pd_text;
%ignore pd_bytes;
%ignore pd_utf8_valid;
%ignore pd_val;
%ignore pd_enc;
%ignore pd_dec;
%rename("$ignore", regextarget=1) "^pd_enc_";
%rename("$ignore", regextarget=1) "^pd_dec_";
%ignore PD_VERSION_COMPATIBLE;
%ignore PD_INLINE;
%ignore PD_API;

#if defined(SWIGPYTHON)
%include "python/typemaps.i"
#elif defined(SWIGLUA)
%include "lua/typemaps.i"
#else
#error "permadict.i: no typemaps for this target language"
#endif

%include "permadict.h"
