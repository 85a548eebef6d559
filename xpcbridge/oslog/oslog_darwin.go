//go:build darwin && cgo

package oslog

/*
#cgo CFLAGS: -Wall -Werror
#include <stdint.h>
#include <stdlib.h>

#if __has_include(<os/log.h>)
#include <os/log.h>

static void *carapace_oslog_create(const char *subsystem, const char *category) {
	return (void *)os_log_create(subsystem, category);
}

static void carapace_oslog_write(void *log, uint8_t type, const char *msg) {
	os_log_with_type((os_log_t)log, (os_log_type_t)type, "%{public}s", msg);
}
#else
// Without the SDK's os/log.h (the cross-compiler's libc headers lack it):
// the two public symbols os_log_with_type expands to, declared here, and
// clang's own os_log builtins for the argument buffer.
typedef struct os_log_s *os_log_t;
extern os_log_t os_log_create(const char *subsystem, const char *category);
extern void _os_log_impl(void *dso, os_log_t log, uint8_t type, const char *format, uint8_t *buf, uint32_t size);
extern char __dso_handle[];

static void *carapace_oslog_create(const char *subsystem, const char *category) {
	return (void *)os_log_create(subsystem, category);
}

__attribute__((section("__TEXT,__oslogstring,cstring_literals")))
static const char carapace_oslog_format[] = "%{public}s";

static void carapace_oslog_write(void *log, uint8_t type, const char *msg) {
	uint8_t buf[__builtin_os_log_format_buffer_size("%{public}s", msg)];
	__builtin_os_log_format(buf, "%{public}s", msg);
	_os_log_impl(__dso_handle, (os_log_t)log, type, carapace_oslog_format, buf, (uint32_t)sizeof(buf));
}
#endif
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Available reports whether this build can write to the unified log.
const Available = true

// Log is one os_log handle (subsystem and category). Safe for concurrent
// use; never freed (os_log handles live as long as the process).
type Log struct{ h unsafe.Pointer }

// Open returns the log of Subsystem with category.
func Open(category string) (*Log, error) {
	s, c := C.CString(Subsystem), C.CString(category)
	defer C.free(unsafe.Pointer(s))
	defer C.free(unsafe.Pointer(c))
	h := C.carapace_oslog_create(s, c)
	if h == nil {
		return nil, errors.New("os_log_create failed")
	}
	return &Log{h: h}, nil
}

// Write logs msg (public: a record holds no secret) at level.
func (l *Log) Write(level Level, msg string) error {
	m := C.CString(msg)
	defer C.free(unsafe.Pointer(m))
	C.carapace_oslog_write(l.h, C.uint8_t(level), m)
	return nil
}
