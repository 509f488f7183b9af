/* The benchmark's own extension: an empty C audit hook (the floor no hook can beat) and a
   marker function that callgrind dumps its counters before (--dump-before). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static int empty_hook(const char *event, PyObject *args, void *data) {
  (void)event;
  (void)args;
  (void)data;
  return 0;
}

static PyObject *install_empty_hook(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  if (PySys_AddAuditHook(empty_hook, NULL) != 0) return NULL;
  Py_RETURN_NONE;
}

/* Never inlined, never merged: callgrind splits its profile at each call. */
__attribute__((noinline)) PyObject *auditwall_bench_mark(PyObject *self, PyObject *unused) {
  (void)self;
  (void)unused;
  __asm__ volatile("" ::: "memory");
  Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"install_empty_hook", install_empty_hook, METH_NOARGS, "Adds an empty C audit hook."},
    {"mark", auditwall_bench_mark, METH_NOARGS, "A point where callgrind dumps its counters."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "bench_ext", NULL, -1, methods};

PyMODINIT_FUNC PyInit_bench_ext(void) { return PyModule_Create(&module); }
