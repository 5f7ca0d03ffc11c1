/* NumPy .npy reader and writer (format versions 1.0 and 2.0, little-endian, C order).
 * The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a final '\n' so that the data starts on a 64-byte boundary. */
#include "scan/npy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"

static const unsigned char npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* NumPy's spelling of each dtype (little-endian; bytes have no byte order). */
static const char *const dtype_descr[] = {"<f4", "<f8", "<i8", "<i4", "|u1", "|i1", "<i2", "<u2", "<u4", "<u8"};

int scan_dtype_size(scan_dtype t) {
  switch (t) {
    case SCAN_F32: return 4;
    case SCAN_F64: return 8;
    case SCAN_I64: return 8;
    case SCAN_I32: return 4;
    case SCAN_U8: return 1;
    case SCAN_I8: return 1;
    case SCAN_I16: return 2;
    case SCAN_U16: return 2;
    case SCAN_U32: return 4;
    case SCAN_U64: return 8;
  }
  return 0;
}

int scan_dtype_is_integer(scan_dtype t) { return t != SCAN_F32 && t != SCAN_F64; }

int64_t scan_array_int(const scan_array *a, int64_t i) {
  switch (a->dtype) {
    case SCAN_I64: return ((const int64_t *)a->data)[i];
    case SCAN_I32: return ((const int32_t *)a->data)[i];
    case SCAN_U8: return ((const uint8_t *)a->data)[i];
    case SCAN_I8: return ((const int8_t *)a->data)[i];
    case SCAN_I16: return ((const int16_t *)a->data)[i];
    case SCAN_U16: return ((const uint16_t *)a->data)[i];
    case SCAN_U32: return ((const uint32_t *)a->data)[i];
    case SCAN_U64: return (int64_t)((const uint64_t *)a->data)[i];
    case SCAN_F32:
    case SCAN_F64: return 0;
  }
  return 0;
}

int64_t scan_array_count(const scan_array *a) {
  int64_t n = 1;
  for (int i = 0; i < a->ndim; i++) n *= a->shape[i];
  return n;
}

void scan_array_free(scan_array *a) {
  if (!a) return;
  free(a->data);
  a->data = NULL;
}

/* ---- writing ---- */

scan_status scan_npy_write(const char *path, const scan_array *a) {
  if (a->ndim < 0 || a->ndim > 8 || (unsigned)a->dtype > SCAN_DTYPE_LAST)
    return scan_fail(SCAN_ERR_INTERNAL, "%s: invalid array (ndim %d, dtype %d)", path, a->ndim, (int)a->dtype);
  char dict[512];
  int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", dtype_descr[a->dtype]);
  for (int i = 0; i < a->ndim; i++) {
    if (a->shape[i] < 0) return scan_fail(SCAN_ERR_INTERNAL, "%s: negative dimension %d", path, i);
    len += snprintf(dict + len, sizeof dict - (size_t)len, "%lld,%s", (long long)a->shape[i],
                    (i + 1 < a->ndim) ? " " : "");
  }
  /* A 1-d tuple keeps its trailing comma, "(3,)"; longer ones drop it, as NumPy writes them. */
  if (a->ndim > 1) len--;
  len += snprintf(dict + len, sizeof dict - (size_t)len, "), }");

  /* Version 1.0 has a 2-byte header length; 2.0 (4 bytes) is needed only for headers over 64 KiB,
   * which this fixed-size dict never reaches, but the choice is kept explicit. */
  int version = 1;
  size_t prefix = 10;
  size_t total = (prefix + (size_t)len + 1 + 63) / 64 * 64;
  size_t header_len = total - prefix;
  if (header_len > 65535) {
    version = 2;
    prefix = 12;
    total = (prefix + (size_t)len + 1 + 63) / 64 * 64;
    header_len = total - prefix;
  }
  unsigned char head[1024];
  memcpy(head, npy_magic, 6);
  head[6] = (unsigned char)version;
  head[7] = 0;
  if (version == 1) {
    head[8] = (unsigned char)(header_len & 0xff);
    head[9] = (unsigned char)(header_len >> 8);
  } else {
    for (int i = 0; i < 4; i++) head[8 + i] = (unsigned char)(header_len >> (8 * i));
  }
  memcpy(head + prefix, dict, (size_t)len);
  memset(head + prefix + len, ' ', header_len - (size_t)len - 1);
  head[total - 1] = '\n';

  size_t nbytes = (size_t)scan_array_count(a) * (size_t)scan_dtype_size(a->dtype);
  scan_atomic_file af;
  SCAN_TRY(scan_atomic_open(&af, path));
  if (fwrite(head, 1, total, af.file) != total || (nbytes && fwrite(a->data, 1, nbytes, af.file) != nbytes)) {
    return scan_atomic_fail(&af);
  }
  return scan_atomic_commit(&af);
}

/* ---- header dict parsing ---- */

typedef struct {
  const char *p, *end;
  const char *name;
} dict_cursor;

static void skip_space(dict_cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int accept_char(dict_cursor *c, char ch) {
  skip_space(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return 1;
  }
  return 0;
}

/* A Python string literal in single or double quotes (no escapes are needed for the keys and dtypes we accept). */
static scan_status parse_string(dict_cursor *c, char *out, size_t cap) {
  skip_space(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: expected a quoted string", c->name);
  char quote = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != quote) {
    if (n + 1 >= cap) return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: string too long", c->name);
    out[n++] = *c->p++;
  }
  if (c->p >= c->end) return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: unterminated string", c->name);
  c->p++;
  out[n] = '\0';
  return SCAN_OK;
}

static scan_status parse_bool(dict_cursor *c, int *out) {
  skip_space(c);
  size_t left = (size_t)(c->end - c->p);
  if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
    *out = 1;
    c->p += 4;
  } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
    *out = 0;
    c->p += 5;
  } else {
    return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: fortran_order must be True or False", c->name);
  }
  return SCAN_OK;
}

/* "()", "(5,)", "(3, 4)", "(3, 4,)" */
static scan_status parse_shape(dict_cursor *c, scan_array *out) {
  if (!accept_char(c, '('))
    return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: shape must be a tuple", c->name);
  out->ndim = 0;
  for (;;) {
    if (accept_char(c, ')')) return SCAN_OK;
    skip_space(c);
    if (c->p >= c->end || !isdigit((unsigned char)*c->p))
      return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: shape entries must be non-negative integers",
                       c->name);
    if (out->ndim == 8) return scan_fail(SCAN_ERR_INPUT, "%s: .npy arrays with more than 8 dimensions are not supported", c->name);
    int64_t v = 0;
    while (c->p < c->end && isdigit((unsigned char)*c->p)) {
      if (v > (INT64_MAX - 9) / 10) return scan_fail(SCAN_ERR_INPUT, "%s: .npy shape dimension too large", c->name);
      v = v * 10 + (*c->p++ - '0');
    }
    /* Python 2 era writers appended 'L' to longs. */
    if (c->p < c->end && *c->p == 'L') c->p++;
    out->shape[out->ndim++] = v;
    if (accept_char(c, ',')) continue;
    if (accept_char(c, ')')) {
      if (out->ndim == 1) return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: shape (n) lacks its comma", c->name);
      return SCAN_OK;
    }
    return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: bad shape tuple", c->name);
  }
}

static scan_status parse_descr(const char *name, const char *descr, scan_dtype *out) {
  for (int t = 0; t <= SCAN_DTYPE_LAST; t++) {
    if (strcmp(descr, dtype_descr[t]) == 0) {
      *out = (scan_dtype)t;
      return SCAN_OK;
    }
  }
  /* Single-byte types carry no byte order, so '<u1' and 'u1' mean the same as '|u1'. */
  if (strcmp(descr, "<u1") == 0 || strcmp(descr, "u1") == 0) {
    *out = SCAN_U8;
    return SCAN_OK;
  }
  if (strcmp(descr, "<i1") == 0 || strcmp(descr, "i1") == 0) {
    *out = SCAN_I8;
    return SCAN_OK;
  }
  if (descr[0] == '>')
    return scan_fail(SCAN_ERR_INPUT, "%s: big-endian .npy dtype '%s' is not supported (convert with arr.astype('<%s'))",
                     name, descr, descr + 1);
  return scan_fail(SCAN_ERR_INPUT, "%s: unsupported .npy dtype '%s' (supported: <f4 <f8 and the integers <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1)", name, descr);
}

static scan_status parse_header_dict(const char *text, size_t len, const char *name, scan_array *out) {
  dict_cursor c = {text, text + len, name};
  int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
  if (!accept_char(&c, '{')) return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: expected '{'", name);
  for (;;) {
    if (accept_char(&c, '}')) break;
    char key[32];
    SCAN_TRY(parse_string(&c, key, sizeof key));
    if (!accept_char(&c, ':'))
      return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: expected ':' after '%s'", name, key);
    if (strcmp(key, "descr") == 0) {
      char descr[32];
      SCAN_TRY(parse_string(&c, descr, sizeof descr));
      SCAN_TRY(parse_descr(name, descr, &out->dtype));
      have_descr = 1;
    } else if (strcmp(key, "fortran_order") == 0) {
      SCAN_TRY(parse_bool(&c, &fortran));
      have_order = 1;
    } else if (strcmp(key, "shape") == 0) {
      SCAN_TRY(parse_shape(&c, out));
      have_shape = 1;
    } else {
      return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: unexpected key '%s'", name, key);
    }
    if (accept_char(&c, ',')) continue;
    if (accept_char(&c, '}')) break;
    return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: expected ',' or '}'", name);
  }
  skip_space(&c);
  if (c.p != c.end) return scan_fail(SCAN_ERR_INPUT, "%s: malformed .npy header: text after the dict", name);
  if (!have_descr || !have_order || !have_shape)
    return scan_fail(SCAN_ERR_INPUT, "%s: .npy header lacks '%s'", name,
                     !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
  if (fortran)
    return scan_fail(SCAN_ERR_INPUT,
                     "%s: Fortran-order .npy arrays are not supported (save with np.ascontiguousarray)", name);
  return SCAN_OK;
}

scan_status scan_npy_parse(const unsigned char *bytes, size_t size, const char *name, scan_array *out) {
  memset(out, 0, sizeof *out);
  if (size < 10 || memcmp(bytes, npy_magic, 6) != 0)
    return scan_fail(SCAN_ERR_INPUT, "%s: not a .npy file (bad magic)", name);
  int major = bytes[6], minor = bytes[7];
  size_t header_len, prefix;
  if (major == 1) {
    header_len = (size_t)bytes[8] | ((size_t)bytes[9] << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    /* 3.0 differs from 2.0 only in allowing UTF-8 in the header, which our dtypes never need. */
    if (size < 12) return scan_fail(SCAN_ERR_INPUT, "%s: truncated .npy header", name);
    header_len = (size_t)bytes[8] | ((size_t)bytes[9] << 8) | ((size_t)bytes[10] << 16) | ((size_t)bytes[11] << 24);
    prefix = 12;
  } else {
    return scan_fail(SCAN_ERR_INPUT, "%s: unsupported .npy format version %d.%d", name, major, minor);
  }
  if (minor != 0) return scan_fail(SCAN_ERR_INPUT, "%s: unsupported .npy format version %d.%d", name, major, minor);
  if (header_len > size - prefix)
    return scan_fail(SCAN_ERR_INPUT, "%s: truncated .npy header (%zu bytes announced, %zu present)", name, header_len,
                     size - prefix);
  SCAN_TRY(parse_header_dict((const char *)bytes + prefix, header_len, name, out));

  int64_t count = 1;
  for (int i = 0; i < out->ndim; i++) {
    if (out->shape[i] != 0 && count > INT64_MAX / 16 / out->shape[i])
      return scan_fail(SCAN_ERR_INPUT, "%s: .npy shape is too large", name);
    count *= out->shape[i];
  }
  size_t nbytes = (size_t)count * (size_t)scan_dtype_size(out->dtype);
  size_t have = size - prefix - header_len;
  if (have < nbytes)
    return scan_fail(SCAN_ERR_INPUT, "%s: truncated .npy file: shape needs %zu data bytes, file has %zu", name, nbytes,
                     have);
  if (have > nbytes)
    return scan_fail(SCAN_ERR_INPUT, "%s: .npy file has %zu bytes after the data its shape describes", name,
                     have - nbytes);
  out->data = scan_malloc(nbytes);
  if (!out->data) return SCAN_ERR_INTERNAL;
  if (nbytes) memcpy(out->data, bytes + prefix + header_len, nbytes);
  return SCAN_OK;
}

scan_status scan_npy_read(const char *path, scan_array *out) {
  memset(out, 0, sizeof *out);
  unsigned char *bytes;
  size_t size;
  SCAN_TRY(scan_read_file(path, &bytes, &size));
  scan_status st = scan_npy_parse(bytes, size, path, out);
  free(bytes);
  return st;
}
