//! The C API of `libWeWorkFinanceSdk_C`, loaded at run time, and guards that free what it
//! allocates. The only unsafe code of the crate lives here.
#![allow(unsafe_code)]

use std::ffi::{CString, c_char, c_int, c_uint, c_ulonglong, c_void};
use std::path::Path;
use std::sync::Arc;

use super::error::{FinanceError, FinanceResult, SdkCode};

type NewSdkFn = unsafe extern "C" fn() -> *mut c_void;
type InitFn = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> c_int;
type GetChatDataFn = unsafe extern "C" fn(
    *mut c_void,
    c_ulonglong,
    c_uint,
    *const c_char,
    *const c_char,
    c_int,
    *mut c_void,
) -> c_int;
type DecryptDataFn = unsafe extern "C" fn(*const c_char, *const c_char, *mut c_void) -> c_int;
type GetMediaDataFn = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    *const c_char,
    *const c_char,
    *const c_char,
    c_int,
    *mut c_void,
) -> c_int;
type DestroyFn = unsafe extern "C" fn(*mut c_void);
type NewFn = unsafe extern "C" fn() -> *mut c_void;
type BufFn = unsafe extern "C" fn(*mut c_void) -> *mut c_char;
type LenFn = unsafe extern "C" fn(*mut c_void) -> c_int;

/// The loaded library and its functions. The function pointers stay valid as long as
/// `_lib` lives, which is as long as this struct.
pub(crate) struct Library {
    new_sdk: NewSdkFn,
    init: InitFn,
    get_chat_data: GetChatDataFn,
    decrypt_data: DecryptDataFn,
    get_media_data: GetMediaDataFn,
    destroy_sdk: DestroyFn,
    new_slice: NewFn,
    free_slice: DestroyFn,
    slice_content: BufFn,
    slice_len: LenFn,
    new_media: NewFn,
    free_media: DestroyFn,
    media_index: BufFn,
    media_data: BufFn,
    media_index_len: LenFn,
    media_data_len: LenFn,
    media_finished: LenFn,
    _lib: libloading::Library,
}

fn supported_platform() -> bool {
    cfg!(any(
        all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ),
        all(target_os = "windows", target_arch = "x86_64"),
    ))
}

impl Library {
    pub(crate) fn load(path: &Path) -> FinanceResult<Arc<Library>> {
        if !supported_platform() {
            return Err(FinanceError::UnsupportedPlatform {
                os: std::env::consts::OS,
                arch: std::env::consts::ARCH,
            });
        }
        let load_error = |reason: String| FinanceError::Load {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(load_error("no such file".into()));
        }
        // SAFETY: loading runs the library's initialisers; the user chose this library as
        // WeCom's Finance SDK.
        let lib =
            unsafe { libloading::Library::new(path) }.map_err(|e| load_error(e.to_string()))?;
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the types above are those of WeCom's header WeWorkFinanceSdk_C.h.
                *unsafe { lib.get($name) }.map_err(|e| {
                    load_error(format!(
                        "missing function {}: {e}",
                        String::from_utf8_lossy(&$name[..$name.len() - 1])
                    ))
                })?
            };
        }
        Ok(Arc::new(Library {
            new_sdk: sym!(b"NewSdk\0"),
            init: sym!(b"Init\0"),
            get_chat_data: sym!(b"GetChatData\0"),
            decrypt_data: sym!(b"DecryptData\0"),
            get_media_data: sym!(b"GetMediaData\0"),
            destroy_sdk: sym!(b"DestroySdk\0"),
            new_slice: sym!(b"NewSlice\0"),
            free_slice: sym!(b"FreeSlice\0"),
            slice_content: sym!(b"GetContentFromSlice\0"),
            slice_len: sym!(b"GetSliceLen\0"),
            new_media: sym!(b"NewMediaData\0"),
            free_media: sym!(b"FreeMediaData\0"),
            media_index: sym!(b"GetOutIndexBuf\0"),
            media_data: sym!(b"GetData\0"),
            media_index_len: sym!(b"GetIndexLen\0"),
            media_data_len: sym!(b"GetDataLen\0"),
            media_finished: sym!(b"IsMediaDataFinish\0"),
            _lib: lib,
        }))
    }
}

fn cstring(what: &str, value: &str) -> FinanceResult<CString> {
    CString::new(value)
        .map_err(|_| FinanceError::InvalidArgument(format!("{what} contains a NUL byte")))
}

fn check(call: &'static str, code: c_int) -> FinanceResult<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(FinanceError::Sdk {
            call,
            code: SdkCode(code),
        })
    }
}

/// Copies `len` bytes at `ptr` (nothing when null or not positive).
///
/// SAFETY: `ptr` must point to at least `len` readable bytes when non-null.
unsafe fn copy_bytes(ptr: *const c_char, len: c_int) -> Vec<u8> {
    match usize::try_from(len) {
        Ok(len) if len > 0 && !ptr.is_null() => {
            unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }.to_vec()
        }
        _ => Vec::new(),
    }
}

/// A `Slice_t` from `NewSlice`, freed by `FreeSlice` exactly once, on drop.
struct SliceGuard<'a> {
    lib: &'a Library,
    ptr: *mut c_void,
}

impl<'a> SliceGuard<'a> {
    fn new(lib: &'a Library) -> FinanceResult<Self> {
        // SAFETY: NewSlice takes no argument and returns an owned slice or null.
        let ptr = unsafe { (lib.new_slice)() };
        if ptr.is_null() {
            return Err(FinanceError::Worker("NewSlice returned null".into()));
        }
        Ok(SliceGuard { lib, ptr })
    }

    fn bytes(&self) -> Vec<u8> {
        // SAFETY: the slice is live; the SDK guarantees `len` bytes at its content.
        unsafe {
            let buf = (self.lib.slice_content)(self.ptr);
            let len = (self.lib.slice_len)(self.ptr);
            copy_bytes(buf, len)
        }
    }
}

impl Drop for SliceGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by NewSlice, freed only here.
        unsafe { (self.lib.free_slice)(self.ptr) }
    }
}

/// A `MediaData_t` from `NewMediaData`, freed by `FreeMediaData` exactly once, on drop.
struct MediaGuard<'a> {
    lib: &'a Library,
    ptr: *mut c_void,
}

impl Drop for MediaGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: allocated by NewMediaData, freed only here.
        unsafe { (self.lib.free_media)(self.ptr) }
    }
}

/// One piece of a media file and where the next one starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaChunk {
    /// The bytes of this piece.
    #[serde(with = "super::worker::base64_bytes")]
    pub data: Vec<u8>,
    /// The `indexbuf` to pass for the next piece.
    pub next_index: String,
    /// Whether this was the last piece.
    pub finished: bool,
}

/// An initialised SDK object (`NewSdk` + `Init`), destroyed on drop.
pub(crate) struct RawSdk {
    lib: Arc<Library>,
    ptr: *mut c_void,
}

// SAFETY: the handle is an opaque heap object; `FinanceSdk` uses it from one thread at a
// time (behind a mutex), which is how WeCom's own samples use it.
unsafe impl Send for RawSdk {}

impl RawSdk {
    pub(crate) fn new(lib: Arc<Library>, corp_id: &str, secret: &str) -> FinanceResult<Self> {
        let corp_id = cstring("corp id", corp_id)?;
        let secret = cstring("archive secret", secret)?;
        // SAFETY: NewSdk returns an owned object or null.
        let ptr = unsafe { (lib.new_sdk)() };
        if ptr.is_null() {
            return Err(FinanceError::Worker("NewSdk returned null".into()));
        }
        let sdk = RawSdk { lib, ptr };
        // SAFETY: live handle and NUL-terminated strings that outlive the call.
        check("Init", unsafe {
            (sdk.lib.init)(sdk.ptr, corp_id.as_ptr(), secret.as_ptr())
        })?;
        Ok(sdk)
    }

    pub(crate) fn get_chat_data(
        &mut self,
        seq: u64,
        limit: u32,
        proxy: &str,
        password: &str,
        timeout: c_int,
    ) -> FinanceResult<Vec<u8>> {
        let proxy = cstring("proxy", proxy)?;
        let password = cstring("proxy password", password)?;
        let slice = SliceGuard::new(&self.lib)?;
        // SAFETY: live handle and slice, NUL-terminated strings that outlive the call.
        check("GetChatData", unsafe {
            (self.lib.get_chat_data)(
                self.ptr,
                seq,
                limit,
                proxy.as_ptr(),
                password.as_ptr(),
                timeout,
                slice.ptr,
            )
        })?;
        Ok(slice.bytes())
    }

    pub(crate) fn get_media_chunk(
        &mut self,
        index: &str,
        sdkfileid: &str,
        proxy: &str,
        password: &str,
        timeout: c_int,
    ) -> FinanceResult<MediaChunk> {
        let index = cstring("indexbuf", index)?;
        let fileid = cstring("sdkfileid", sdkfileid)?;
        let proxy = cstring("proxy", proxy)?;
        let password = cstring("proxy password", password)?;
        // SAFETY: NewMediaData returns an owned object or null.
        let ptr = unsafe { (self.lib.new_media)() };
        if ptr.is_null() {
            return Err(FinanceError::Worker("NewMediaData returned null".into()));
        }
        let media = MediaGuard {
            lib: &self.lib,
            ptr,
        };
        // SAFETY: live handle and media object, strings that outlive the call.
        check("GetMediaData", unsafe {
            (self.lib.get_media_data)(
                self.ptr,
                index.as_ptr(),
                fileid.as_ptr(),
                proxy.as_ptr(),
                password.as_ptr(),
                timeout,
                media.ptr,
            )
        })?;
        // SAFETY: the media object is live and filled by a successful call.
        unsafe {
            let data = copy_bytes(
                (self.lib.media_data)(media.ptr),
                (self.lib.media_data_len)(media.ptr),
            );
            let next = copy_bytes(
                (self.lib.media_index)(media.ptr),
                (self.lib.media_index_len)(media.ptr),
            );
            Ok(MediaChunk {
                data,
                next_index: String::from_utf8_lossy(&next).into_owned(),
                finished: (self.lib.media_finished)(media.ptr) != 0,
            })
        }
    }
}

impl Drop for RawSdk {
    fn drop(&mut self) {
        // SAFETY: created by NewSdk, destroyed only here.
        unsafe { (self.lib.destroy_sdk)(self.ptr) }
    }
}

/// `DecryptData`: needs no SDK handle, only the library.
pub(crate) fn decrypt_data(lib: &Library, key: &str, message: &str) -> FinanceResult<Vec<u8>> {
    let key = cstring("decrypted random key", key)?;
    let message = cstring("encrypt_chat_msg", message)?;
    let slice = SliceGuard::new(lib)?;
    // SAFETY: live slice, NUL-terminated strings that outlive the call.
    check("DecryptData", unsafe {
        (lib.decrypt_data)(key.as_ptr(), message.as_ptr(), slice.ptr)
    })?;
    Ok(slice.bytes())
}

/// Moves the process's stdout to a private descriptor and points fd 1 at stderr, so that
/// whatever the native library prints cannot corrupt the worker's frames.
#[cfg(unix)]
pub(crate) fn take_stdout() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain descriptor calls; the duplicated descriptor is owned by the File.
    unsafe {
        let private = libc::dup(1);
        if private < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(private))
    }
}

/// Elsewhere stdout is used as it is.
#[cfg(not(unix))]
pub(crate) fn take_stdout() -> std::io::Result<std::fs::File> {
    Err(std::io::Error::other("the worker runs on Unix only"))
}
