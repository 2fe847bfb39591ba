//! Memory, status and error plumbing shared by every export.

use macrid_core::{Error, Result};
use std::alloc::{alloc, dealloc, Layout};
use std::cell::RefCell;

/// Alignment of every allocation handed to the host: enough for f64/u64 arrays.
const ALIGN: usize = 8;

/// Version of this ABI; the TS loader refuses a module whose version differs.
pub const ABI_VERSION: u32 = 1;

thread_local! {
    static LAST_ERROR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static BUFFERS: RefCell<Vec<Option<Vec<u8>>>> = const { RefCell::new(Vec::new()) };
}

#[no_mangle]
pub extern "C" fn mv_abi_version() -> u32 {
    ABI_VERSION
}

/// Allocates `size` bytes aligned to 8; returns 0 when out of memory. A size of 0 allocates 1 byte so
/// that every successful call returns a distinct, freeable pointer.
#[no_mangle]
pub extern "C" fn mv_alloc(size: usize) -> *mut u8 {
    match Layout::from_size_align(size.max(1), ALIGN) {
        // SAFETY: the layout has non-zero size.
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Frees memory from [`mv_alloc`]; `size` must be the size passed to it.
///
/// # Safety
/// `ptr` must come from `mv_alloc(size)` and not have been freed.
#[no_mangle]
pub unsafe extern "C" fn mv_free(ptr: *mut u8, size: usize) {
    if ptr.is_null() {
        return;
    }
    if let Ok(layout) = Layout::from_size_align(size.max(1), ALIGN) {
        dealloc(ptr, layout);
    }
}

#[no_mangle]
pub extern "C" fn mv_last_error_ptr() -> *const u8 {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

#[no_mangle]
pub extern "C" fn mv_last_error_len() -> usize {
    LAST_ERROR.with(|e| e.borrow().len())
}

/// Deliberately traps (executes `unreachable`). Used by tests to check that a trap is reported as a
/// typed error and that the instance is rebuilt afterwards.
#[no_mangle]
pub extern "C" fn mv_debug_trap() {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// Length of an owned result buffer (see [`put_buffer`]); 0 for an unknown handle.
#[no_mangle]
pub extern "C" fn mv_buf_len(handle: u32) -> usize {
    BUFFERS.with(|b| {
        b.borrow()
            .get(handle as usize)
            .and_then(|x| x.as_ref().map(|v| v.len()))
            .unwrap_or(0)
    })
}

/// Pointer to an owned result buffer's bytes; valid until [`mv_buf_free`] or the next allocation.
#[no_mangle]
pub extern "C" fn mv_buf_ptr(handle: u32) -> *const u8 {
    BUFFERS.with(|b| {
        b.borrow()
            .get(handle as usize)
            .and_then(|x| x.as_ref().map(|v| v.as_ptr()))
            .unwrap_or(std::ptr::null())
    })
}

#[no_mangle]
pub extern "C" fn mv_buf_free(handle: u32) {
    BUFFERS.with(|b| {
        if let Some(slot) = b.borrow_mut().get_mut(handle as usize) {
            *slot = None;
        }
    })
}

/// Stores a variable-sized result and returns its handle (handles are reused after free).
pub fn put_buffer(bytes: Vec<u8>) -> u32 {
    BUFFERS.with(|b| {
        let mut b = b.borrow_mut();
        if let Some(i) = b.iter().position(|x| x.is_none()) {
            b[i] = Some(bytes);
            i as u32
        } else {
            b.push(Some(bytes));
            (b.len() - 1) as u32
        }
    })
}

/// Converts a core result into a status code, recording the message of an error.
pub fn status(r: Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => set_error(e),
    }
}

pub fn set_error(e: Error) -> i32 {
    LAST_ERROR.with(|le| {
        let mut le = le.borrow_mut();
        le.clear();
        le.extend_from_slice(e.message.as_bytes());
    });
    e.kind.code()
}

/// Borrows `len` elements at `ptr`; a zero length yields an empty slice whatever the pointer.
///
/// # Safety
/// For `len > 0`, `ptr` must point to `len` initialized, aligned elements that outlive the borrow.
pub unsafe fn slice<'a, T>(ptr: *const T, len: usize) -> &'a [T] {
    if len == 0 || ptr.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts(ptr, len)
    }
}

/// Mutable counterpart of [`slice`].
///
/// # Safety
/// As [`slice`], and the memory must not be aliased during the borrow.
pub unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize) -> &'a mut [T] {
    if len == 0 || ptr.is_null() {
        &mut []
    } else {
        std::slice::from_raw_parts_mut(ptr, len)
    }
}

/// `None` for a null pointer (an absent optional array), else [`slice`].
///
/// # Safety
/// A non-null `ptr` must satisfy [`slice`]'s requirements.
pub unsafe fn opt<'a, T>(ptr: *const T, len: usize) -> Option<&'a [T]> {
    if ptr.is_null() {
        None
    } else {
        Some(slice(ptr, len))
    }
}

/// Mutable counterpart of [`opt`].
///
/// # Safety
/// A non-null `ptr` must satisfy [`slice_mut`]'s requirements.
pub unsafe fn opt_mut<'a, T>(ptr: *mut T, len: usize) -> Option<&'a mut [T]> {
    if ptr.is_null() {
        None
    } else {
        Some(slice_mut(ptr, len))
    }
}

/// The CSR matrix `name` (`rows × cols`) from its C-ABI parts: `indptr` rows+1, `indices` nnz,
/// checked by `CsrRef::new` (errors name `name`).
///
/// # Safety
/// `indptr` must point to `rows + 1` elements and `indices` to `nnz` (see [`slice`]).
pub unsafe fn csr<'a>(
    name: &str,
    indptr: *const u32,
    rows: usize,
    indices: *const u32,
    nnz: usize,
    cols: usize,
) -> macrid_core::Result<macrid_core::csr::CsrRef<'a>> {
    macrid_core::csr::CsrRef::new(name, slice(indptr, rows + 1), slice(indices, nnz), cols)
}
