/*
 * parley_adapter.h — the Parley adapter ABI, version 2 (hosts and adapters also speak version 1).
 *
 * An adapter is a shared library that exports one C function, `parley_adapter_v1`, which fills a table of
 * C function pointers. Only bytes cross this boundary: UTF-8 JSON in the Codable form of Parley's Swift types
 * (BridgeEvent, [BridgeEvent], [NativeRequest], AdapterCapabilities, SendOutcome, AdapterError), and the raw
 * native payloads. No Swift object, existential or C++ type ever crosses, because the host and every adapter
 * carry their own copy of the Swift modules they link.
 *
 * Memory: every output buffer is allocated by the adapter and must be released with the table's
 * `free_buffer`, never with the host's `free`. Input buffers belong to the caller and are only read during
 * the call. Every function is safe to call from several threads at once.
 *
 * Version 2 differs from version 1 in one place: `encode` answers with a binary request list instead of
 * [NativeRequest] as JSON, so request bodies cross as raw bytes (see docs/ABI.md, "Binary request list").
 * The version is negotiated: the host passes the newest version it speaks; an adapter serves exactly that
 * version when it speaks it and otherwise reports its own newest with PARLEY_STATUS_ABI_MISMATCH, and the host
 * tries again with that version if it speaks it too.
 *
 * Errors: functions return a `parley_status`. On PARLEY_STATUS_ADAPTER_ERROR the output buffer holds an
 * AdapterError as JSON: {"code":"adapter.malformed_payload","message":"..."}.
 *
 * See docs/ABI.md for the full contract and the child-process framing of the same messages.
 */
#ifndef PARLEY_ADAPTER_H
#define PARLEY_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The newest ABI version this header describes. A host passes the newest it speaks to `parley_adapter_v1`. */
#define PARLEY_ABI_VERSION 2u

/** The oldest ABI version still described here (version 1: requests as JSON). */
#define PARLEY_ABI_OLDEST_VERSION 1u

/** The name of the one symbol an adapter library exports. */
#define PARLEY_ADAPTER_ENTRY_SYMBOL "parley_adapter_v1"

/** Results of the entry point and of every table function. */
typedef enum parley_status {
    /** Success; the output buffer (if any) holds the result. */
    PARLEY_STATUS_OK = 0,
    /** The adapter refused its input; the output buffer holds an AdapterError as JSON. */
    PARLEY_STATUS_ADAPTER_ERROR = 1,
    /** A required pointer argument was NULL. */
    PARLEY_STATUS_BAD_ARGUMENT = -1,
    /** The host's ABI version is not one this adapter speaks; the table's `abi_version` says which it does. */
    PARLEY_STATUS_ABI_MISMATCH = -2,
    /** The adapter could not produce its answer (e.g. its result could not be encoded). */
    PARLEY_STATUS_INTERNAL = -3
} parley_status;

/**
 * The function table an adapter fills. `context` is the adapter's own opaque state; the host passes it back as
 * the first argument of every call and never looks inside it.
 *
 * All `out` / `out_len` pairs receive a buffer owned by the adapter (free it with `free_buffer`); they are set
 * to NULL / 0 when there is nothing to return.
 */
typedef struct parley_adapter_v1_table {
    /** sizeof(parley_adapter_v1_table) as the adapter was compiled; lets later versions grow the table. */
    uint32_t struct_size;
    /** Opaque adapter state, passed back to every function below. */
    void *context;

    /** The ABI version the adapter serves this host (after a mismatch: the newest it speaks). */
    uint32_t (*abi_version)(void *context);
    /** The adapter's unique short name, UTF-8 without a terminator (e.g. "whatsapp"). */
    int32_t (*name)(void *context, uint8_t **out, size_t *out_len);
    /** The adapter's capabilities: AdapterCapabilities as JSON. */
    int32_t (*describe)(void *context, uint8_t **out, size_t *out_len);
    /** A native webhook body → [BridgeEvent] as JSON. */
    int32_t (*decode)(void *context, const uint8_t *payload, size_t payload_len, uint8_t **out, size_t *out_len);
    /** A BridgeEvent as JSON → the requests to send: [NativeRequest] as JSON (version 1) or a binary request
     *  list (version 2). */
    int32_t (*encode)(void *context, const uint8_t *event_json, size_t event_len, uint8_t **out, size_t *out_len);
    /** An HTTP status and response body from the native send API → SendOutcome as JSON. */
    int32_t (*decode_send_response)(void *context, int32_t http_status, const uint8_t *body, size_t body_len,
                                    uint8_t **out, size_t *out_len);
    /** Releases a buffer this adapter returned. Accepts NULL. */
    void (*free_buffer)(void *context, uint8_t *buffer, size_t len);
} parley_adapter_v1_table;

/**
 * The entry point every adapter exports. The host passes its ABI version and a zeroed table.
 * Returns PARLEY_STATUS_OK and fills `out`; PARLEY_STATUS_ABI_MISMATCH (with at least `struct_size` and
 * `abi_version` filled, the latter answering the newest version the adapter speaks, so the host can try that
 * version or report both) when it cannot serve that host version; or
 * PARLEY_STATUS_BAD_ARGUMENT when `out` is NULL.
 */
typedef int32_t (*parley_adapter_v1_entry)(uint32_t host_abi_version, parley_adapter_v1_table *out);

#ifdef PARLEY_ADAPTER_IMPLEMENTATION
/* A C adapter defines PARLEY_ADAPTER_IMPLEMENTATION before including this header to get the prototype of the
 * function it must define. Hosts (and Swift, which defines the symbol with @_cdecl) load it with dlsym instead. */
int32_t parley_adapter_v1(uint32_t host_abi_version, parley_adapter_v1_table *out);
#endif

#ifdef __cplusplus
}
#endif

#endif /* PARLEY_ADAPTER_H */
