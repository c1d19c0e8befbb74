/* The part of wasm2c's runtime an akira-aot blob carries (akira-aot-build
   compiles it into every blob, in the same translation unit as the module).
   Memory and tables come from the device's region through
   akira_aot_alloc; traps leave through akira_aot_trap. Both are runtime
   imports the device binds. */
#include <stdarg.h>

#define AKIRA_TRAP_OUT_OF_MEMORY 101
#define AKIRA_PAGE_SIZE 65536u

void *akira_aot_alloc(uint32_t size, uint32_t align);
/* Linear memory, zeroed: the device's choice of where (its region, or the
   memory of the app's interpreter instance, shared so that host functions
   see the same bytes). NULL if it cannot give `size` bytes. */
void *akira_aot_memory(uint32_t size);

uint32_t wasm_rt_call_stack_depth;

bool wasm_rt_is_initialized(void) { return true; }

static void *akira_alloc_zeroed(uint64_t size, uint32_t align) {
  if (size > 0x7fffffffu) wasm_rt_trap((wasm_rt_trap_t)AKIRA_TRAP_OUT_OF_MEMORY);
  void *p = akira_aot_alloc((uint32_t)size, align);
  if (p == NULL && size != 0) wasm_rt_trap((wasm_rt_trap_t)AKIRA_TRAP_OUT_OF_MEMORY);
  if (size != 0) memset(p, 0, (size_t)size);
  return p;
}

/* A memory with a custom page size (one-byte pages, as Akira apps have)
   reaches wasm2c declared in 64 KiB pages; the glue defines its exact size
   and its own page counts, which memory.size reports and bounds checks
   use. */
void wasm_rt_allocate_memory(wasm_rt_memory_t *memory, uint32_t initial_pages, uint32_t max_pages) {
#ifdef AKIRA_MEMORY_BYTES
  uint64_t size = AKIRA_MEMORY_BYTES;
  initial_pages = AKIRA_MEMORY_PAGES;
  max_pages = AKIRA_MEMORY_MAX_PAGES;
#else
  uint64_t size = (uint64_t)initial_pages * AKIRA_PAGE_SIZE;
#endif
  /* The bounds checks compare against AKIRA_MEMORY_BOUND (akira_bounds.h):
     a memory of any other size would make them wrong. */
  if (size > 0x7fffffffu || size != AKIRA_MEMORY_BOUND) wasm_rt_trap((wasm_rt_trap_t)AKIRA_TRAP_OUT_OF_MEMORY);
  memory->data = akira_aot_memory((uint32_t)size);
  if (memory->data == NULL && size != 0) wasm_rt_trap((wasm_rt_trap_t)AKIRA_TRAP_OUT_OF_MEMORY);
  memory->pages = initial_pages;
  memory->max_pages = max_pages;
  memory->size = (uint32_t)size;
}

/* Phase 1: linear memory does not grow (memory.grow returns -1, as wasm
   allows); a module declares what it needs up front. The bounds checks
   rely on it (akira_bounds.h): growing memory needs them back on
   mem->size. */
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *memory, uint32_t pages) {
  return pages == 0 ? memory->pages : UINT32_MAX;
}

void wasm_rt_free_memory(wasm_rt_memory_t *memory) { (void)memory; }

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *table, uint32_t elements, uint32_t max_elements) {
  table->data = akira_alloc_zeroed((uint64_t)elements * sizeof(wasm_rt_funcref_t), 4);
  table->size = elements;
  table->max_size = max_elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *table) { (void)table; }

void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *table, uint32_t elements, uint32_t max_elements) {
  table->data = akira_alloc_zeroed((uint64_t)elements * sizeof(wasm_rt_externref_t), 4);
  table->size = elements;
  table->max_size = max_elements;
}

void wasm_rt_free_externref_table(wasm_rt_externref_table_t *table) { (void)table; }

uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *table, uint32_t delta, wasm_rt_funcref_t init) {
  (void)init;
  return delta == 0 ? table->size : UINT32_MAX;
}

uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *table, uint32_t delta, wasm_rt_externref_t init) {
  (void)init;
  return delta == 0 ? table->size : UINT32_MAX;
}

/* Function types, for call_indirect's check: the same signature gets the
   same index. A signature is its parameter and result types in order. The
   glue sizes the table to the module (its type section's entries and their
   largest arity); registering more traps. */
#ifndef AKIRA_MAX_FUNC_TYPES
#define AKIRA_MAX_FUNC_TYPES 64
#endif
#ifndef AKIRA_MAX_TYPE_ARITY
#define AKIRA_MAX_TYPE_ARITY 16
#endif
static struct {
  uint8_t params, results;
  uint8_t types[AKIRA_MAX_TYPE_ARITY];
} akira_func_types[AKIRA_MAX_FUNC_TYPES];
static uint32_t akira_func_type_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  uint8_t types[AKIRA_MAX_TYPE_ARITY];
  if (params + results > AKIRA_MAX_TYPE_ARITY) wasm_rt_trap((wasm_rt_trap_t)AKIRA_TRAP_OUT_OF_MEMORY);
  va_list args;
  va_start(args, results);
  for (uint32_t i = 0; i < params + results; i++) types[i] = (uint8_t)va_arg(args, int);
  va_end(args);
  for (uint32_t i = 0; i < akira_func_type_count; i++) {
    if (akira_func_types[i].params == params && akira_func_types[i].results == results &&
        memcmp(akira_func_types[i].types, types, params + results) == 0)
      return i + 1;
  }
  if (akira_func_type_count == AKIRA_MAX_FUNC_TYPES) wasm_rt_trap((wasm_rt_trap_t)AKIRA_TRAP_OUT_OF_MEMORY);
  uint32_t i = akira_func_type_count++;
  akira_func_types[i].params = (uint8_t)params;
  akira_func_types[i].results = (uint8_t)results;
  memcpy(akira_func_types[i].types, types, params + results);
  return i + 1;
}
