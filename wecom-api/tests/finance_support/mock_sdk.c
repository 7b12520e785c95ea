/* A stand-in for WeCom's libWeWorkFinanceSdk_C with the same C API, for the finance tests.
 * Init's corp id is a directory that scripts it:
 *   chat_<seq>.json      the GetChatData answer after <seq> (else an empty batch)
 *   crash_<seq>          GetChatData after <seq> crashes the process (SIGSEGV)
 *   crash_once_<seq>     the same, once (the file is removed first)
 *   hang_<seq>           GetChatData after <seq> sleeps 60 s
 *   slow_<seq>           GetChatData after <seq> sleeps the milliseconds the file holds, then answers
 *   fail_<seq>           GetChatData after <seq> returns 10001 (network error)
 *   media_<sdkfileid>    the media file, served in pieces of 4 bytes
 *   hang_media_<id>      GetMediaData of <id> sleeps 60 s
 * DecryptData's "ciphertext" is "<random key>|<message json>"; another key gives 10006.
 * MockLiveObjects counts SDKs, slices and media objects not yet freed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct Slice_t { char *buf; int len; } Slice_t;
typedef struct MediaData { char *outindexbuf; int out_len; char *data; int data_len; int is_finish; } MediaData_t;
typedef struct WeWorkFinanceSdk_t { char dir[2048]; } WeWorkFinanceSdk_t;

static long live_objects;

long MockLiveObjects(void) { return __atomic_load_n(&live_objects, __ATOMIC_SEQ_CST); }
static void live(long delta) { __atomic_add_fetch(&live_objects, delta, __ATOMIC_SEQ_CST); }

static void path_of(char *out, size_t size, const WeWorkFinanceSdk_t *sdk, const char *name) {
    snprintf(out, size, "%s/%s", sdk->dir, name);
}

static int exists(const WeWorkFinanceSdk_t *sdk, const char *name) {
    char path[4096];
    path_of(path, sizeof path, sdk, name);
    return access(path, F_OK) == 0;
}

static char *read_all(const WeWorkFinanceSdk_t *sdk, const char *name, long *len) {
    char path[4096];
    path_of(path, sizeof path, sdk, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*len + 1);
    if (fread(buf, 1, *len, f) != (size_t)*len) { free(buf); fclose(f); return NULL; }
    buf[*len] = 0;
    fclose(f);
    return buf;
}

static void fill(Slice_t *slice, const char *data, long len) {
    free(slice->buf);
    slice->buf = malloc(len + 1);
    memcpy(slice->buf, data, len);
    slice->buf[len] = 0;
    slice->len = (int)len;
}

/* Dies of SIGSEGV as a native bug would. The default action is restored first: Rust's own
 * SIGSEGV handler (stack overflow detection) returns from a signal that is not a fault. */
static void crash(void) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
}

WeWorkFinanceSdk_t *NewSdk(void) { live(1); return calloc(1, sizeof(WeWorkFinanceSdk_t)); }

int Init(WeWorkFinanceSdk_t *sdk, const char *corpid, const char *secret) {
    if (!sdk || !corpid || !secret || !*secret) return 10000;
    snprintf(sdk->dir, sizeof sdk->dir, "%s", corpid);
    return 0;
}

void DestroySdk(WeWorkFinanceSdk_t *sdk) { if (sdk) { live(-1); free(sdk); } }

Slice_t *NewSlice(void) { live(1); return calloc(1, sizeof(Slice_t)); }
void FreeSlice(Slice_t *slice) { if (slice) { live(-1); free(slice->buf); free(slice); } }
char *GetContentFromSlice(Slice_t *slice) { return slice->buf; }
int GetSliceLen(Slice_t *slice) { return slice->len; }

int GetChatData(WeWorkFinanceSdk_t *sdk, unsigned long long seq, unsigned int limit, const char *proxy,
                const char *passwd, int timeout, Slice_t *out) {
    char name[128];
    if (!sdk || !out || limit == 0 || limit > 1000 || !proxy || !passwd) return 10000;
    snprintf(name, sizeof name, "crash_once_%llu", seq);
    if (exists(sdk, name)) {
        char path[4096];
        path_of(path, sizeof path, sdk, name);
        unlink(path);
        crash();
    }
    snprintf(name, sizeof name, "crash_%llu", seq);
    if (exists(sdk, name)) crash();
    snprintf(name, sizeof name, "hang_%llu", seq);
    if (exists(sdk, name)) sleep(60);
    snprintf(name, sizeof name, "slow_%llu", seq);
    long slow_len = 0;
    char *slow = read_all(sdk, name, &slow_len);
    if (slow) {
        usleep((useconds_t)atol(slow) * 1000);
        free(slow);
    }
    snprintf(name, sizeof name, "fail_%llu", seq);
    if (exists(sdk, name)) return 10001;
    snprintf(name, sizeof name, "chat_%llu.json", seq);
    long len = 0;
    char *answer = read_all(sdk, name, &len);
    if (answer) {
        fill(out, answer, len);
        free(answer);
    } else {
        const char *empty = "{\"errcode\":0,\"errmsg\":\"ok\",\"chatdata\":[]}";
        fill(out, empty, (long)strlen(empty));
    }
    return 0;
}

int DecryptData(const char *encrypt_key, const char *encrypt_msg, Slice_t *msg) {
    if (!encrypt_key || !encrypt_msg || !msg) return 10000;
    size_t key_len = strlen(encrypt_key);
    if (strncmp(encrypt_msg, encrypt_key, key_len) != 0 || encrypt_msg[key_len] != '|') return 10006;
    const char *plain = encrypt_msg + key_len + 1;
    fill(msg, plain, (long)strlen(plain));
    return 0;
}

MediaData_t *NewMediaData(void) { live(1); return calloc(1, sizeof(MediaData_t)); }
void FreeMediaData(MediaData_t *m) { if (m) { live(-1); free(m->outindexbuf); free(m->data); free(m); } }
char *GetOutIndexBuf(MediaData_t *m) { return m->outindexbuf; }
char *GetData(MediaData_t *m) { return m->data; }
int GetIndexLen(MediaData_t *m) { return m->out_len; }
int GetDataLen(MediaData_t *m) { return m->data_len; }
int IsMediaDataFinish(MediaData_t *m) { return m->is_finish; }

int GetMediaData(WeWorkFinanceSdk_t *sdk, const char *indexbuf, const char *sdkfileid, const char *proxy,
                 const char *passwd, int timeout, MediaData_t *m) {
    char name[1024];
    if (!sdk || !indexbuf || !sdkfileid || !m) return 10000;
    snprintf(name, sizeof name, "hang_media_%s", sdkfileid);
    if (exists(sdk, name)) sleep(60);
    snprintf(name, sizeof name, "media_%s", sdkfileid);
    long len = 0;
    char *file = read_all(sdk, name, &len);
    if (!file) return 10005;
    long offset = *indexbuf ? atol(indexbuf) : 0;
    if (offset < 0 || offset > len) { free(file); return 10000; }
    long piece = len - offset < 4 ? len - offset : 4;
    m->data = malloc(piece + 1);
    memcpy(m->data, file + offset, piece);
    m->data_len = (int)piece;
    m->outindexbuf = malloc(32);
    m->out_len = snprintf(m->outindexbuf, 32, "%ld", offset + piece);
    m->is_finish = offset + piece >= len;
    free(file);
    return 0;
}
