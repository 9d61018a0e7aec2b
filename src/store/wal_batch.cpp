// See wal_batch.hpp.
#include "wal_batch.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace skein::store {
namespace {

constexpr std::size_t kFrameHeader = 24, kMaxGathered = 4u << 20, kWriteBytes = 64u << 10;
constexpr sqlite3_int64 kWalHeader = 32;  // the WAL file's header, before its first frame

sqlite3_vfs* g_base = nullptr;  // the default VFS, which does the work

// A WAL file: the base VFS's file (right after this struct) and the writes gathered for it.
struct WalFile {
  sqlite3_file base;  // must be first: SQLite sees a sqlite3_file
  sqlite3_file* real;
  std::string* gathered;  // bytes from offset `at`
  sqlite3_int64 at = 0;
  bool page_next = false;    // the last write was a frame header: its page comes next
  bool commit_next = false;  // ... of a commit frame
};

int flush(WalFile* f) {
  std::string& g = *f->gathered;
  int rc = SQLITE_OK;
  // In writes of 64 KiB: the unix VFS writes at most 128 KiB - 1 bytes per call (a page is at
  // most 64 KiB) and takes a write of a multiple of 128 KiB for a full disk.
  for (std::size_t done = 0; rc == SQLITE_OK && done < g.size(); done += kWriteBytes) {
    const std::size_t n = std::min(kWriteBytes, g.size() - done);
    rc = f->real->pMethods->xWrite(f->real, g.data() + done, static_cast<int>(n),
                                   f->at + static_cast<sqlite3_int64>(done));
  }
  g.clear();
  return rc;
}

WalFile* wal(sqlite3_file* p) {
  return reinterpret_cast<WalFile*>(p);
}

int wal_close(sqlite3_file* p) {
  WalFile* f = wal(p);
  const int flushed = flush(f);
  const int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  delete f->gathered;
  f->gathered = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int wal_read(sqlite3_file* p, void* out, int n, sqlite3_int64 off) {
  WalFile* f = wal(p);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xRead(f->real, out, n, off);
}

// Only the way SQLite writes frames is gathered: a 24-byte frame header, then its page right
// after it. Anything else (the WAL header, a write inside the frames already written...) flushes
// what is gathered and goes to the file as it is, except a write inside what is gathered (SQLite
// writes a page of the transaction again in place), which updates it.
int wal_write(sqlite3_file* p, const void* data, int n, sqlite3_int64 off) {
  WalFile* f = wal(p);
  std::string& g = *f->gathered;
  const sqlite3_int64 end = f->at + static_cast<sqlite3_int64>(g.size());
  const auto* bytes = static_cast<const char*>(data);
  const auto len = static_cast<std::size_t>(n);
  if (!g.empty() && off >= f->at && off + n <= end) {
    std::memcpy(g.data() + (off - f->at), bytes, len);
    return SQLITE_OK;
  }
  const bool header = len == kFrameHeader && off >= kWalHeader;
  const bool page = f->page_next && !g.empty() && off == end;
  f->page_next = false;
  if (!header && !page) {
    f->commit_next = false;
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    return f->real->pMethods->xWrite(f->real, data, n, off);
  }
  const bool new_run = g.empty() || off != end;
  if (new_run) {
    if (const int rc = flush(f); rc != SQLITE_OK) return rc;
    f->at = off;
  }
  g.append(bytes, len);
  if (header) {
    // Bytes 4-7: the database size after the commit for a commit frame, else 0.
    const auto* h = reinterpret_cast<const unsigned char*>(bytes);
    f->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
    f->page_next = true;
    // A commit frame's header that follows no frame of ours: a one-frame commit, or SQLite
    // rewriting the headers of this transaction's frames after reading each (their checksums,
    // when it wrote a page again in place): nothing may follow before the commit is published.
    if (f->commit_next && new_run) {
      f->commit_next = f->page_next = false;
      return flush(f);
    }
    return SQLITE_OK;
  }
  // After the commit frame's page: the whole commit to the file now, so that its failure is this
  // write's (the commit's) and it is in the file before SQLite publishes the commit.
  if (f->commit_next) {
    f->commit_next = false;
    return flush(f);
  }
  return g.size() >= kMaxGathered ? flush(f) : SQLITE_OK;
}

int wal_truncate(sqlite3_file* p, sqlite3_int64 size) {
  WalFile* f = wal(p);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xTruncate(f->real, size);
}

int wal_sync(sqlite3_file* p, int flags) {
  WalFile* f = wal(p);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xSync(f->real, flags);
}

int wal_file_size(sqlite3_file* p, sqlite3_int64* size) {
  WalFile* f = wal(p);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileSize(f->real, size);
}

int wal_lock(sqlite3_file* p, int lock) {
  return wal(p)->real->pMethods->xLock(wal(p)->real, lock);
}
int wal_unlock(sqlite3_file* p, int lock) {
  return wal(p)->real->pMethods->xUnlock(wal(p)->real, lock);
}
int wal_check_reserved(sqlite3_file* p, int* out) {
  return wal(p)->real->pMethods->xCheckReservedLock(wal(p)->real, out);
}
int wal_file_control(sqlite3_file* p, int op, void* arg) {
  WalFile* f = wal(p);
  if (const int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xFileControl(f->real, op, arg);
}
int wal_sector_size(sqlite3_file* p) {
  return wal(p)->real->pMethods->xSectorSize(wal(p)->real);
}
int wal_device_characteristics(sqlite3_file* p) {
  return wal(p)->real->pMethods->xDeviceCharacteristics(wal(p)->real);
}
// SQLite maps shared memory through the database file, never the WAL; forwarded all the same.
int wal_shm_map(sqlite3_file* p, int page, int size, int extend, void volatile** out) {
  return wal(p)->real->pMethods->xShmMap(wal(p)->real, page, size, extend, out);
}
int wal_shm_lock(sqlite3_file* p, int offset, int n, int flags) {
  return wal(p)->real->pMethods->xShmLock(wal(p)->real, offset, n, flags);
}
void wal_shm_barrier(sqlite3_file* p) {
  wal(p)->real->pMethods->xShmBarrier(wal(p)->real);
}
int wal_shm_unmap(sqlite3_file* p, int del) {
  return wal(p)->real->pMethods->xShmUnmap(wal(p)->real, del);
}

const sqlite3_io_methods kWalMethods = {
    2,  // no xFetch/xUnfetch: SQLite maps only the database file into memory
    wal_close,
    wal_read,
    wal_write,
    wal_truncate,
    wal_sync,
    wal_file_size,
    wal_lock,
    wal_unlock,
    wal_check_reserved,
    wal_file_control,
    wal_sector_size,
    wal_device_characteristics,
    wal_shm_map,
    wal_shm_lock,
    wal_shm_barrier,
    wal_shm_unmap,
    nullptr,
    nullptr};

// The struct SQLite allocates for each file: a WalFile followed by the base VFS's file.
constexpr int real_offset() {
  return static_cast<int>((sizeof(WalFile) + 15) / 16 * 16);
}

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  (void)vfs;
  if ((flags & SQLITE_OPEN_WAL) == 0)  // any other file is the base VFS's, in place
    return g_base->xOpen(g_base, name, file, flags, out_flags);
  auto* f = reinterpret_cast<WalFile*>(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + real_offset());
  f->real->pMethods = nullptr;
  f->gathered = new (std::nothrow) std::string;
  if (f->gathered == nullptr) return SQLITE_NOMEM;
  f->at = 0;
  f->page_next = false;
  f->commit_next = false;
  const int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || f->real->pMethods == nullptr) {
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    delete f->gathered;
    f->gathered = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// Everything else is the base VFS's.
int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) {
  return g_base->xDlOpen(g_base, name);
}
void vfs_dl_error(sqlite3_vfs*, int n, char* out) {
  g_base->xDlError(g_base, n, out);
}
void (*vfs_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_base->xDlSym(g_base, h, sym);
}
void vfs_dl_close(sqlite3_vfs*, void* h) {
  g_base->xDlClose(g_base, h);
}
int vfs_randomness(sqlite3_vfs*, int n, char* out) {
  return g_base->xRandomness(g_base, n, out);
}
int vfs_sleep(sqlite3_vfs*, int us) {
  return g_base->xSleep(g_base, us);
}
int vfs_current_time(sqlite3_vfs*, double* out) {
  return g_base->xCurrentTime(g_base, out);
}
int vfs_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

}  // namespace

const char* wal_batch_vfs() {
  static const char* name = []() -> const char* {
    g_base = sqlite3_vfs_find(nullptr);
    if (g_base == nullptr || g_base->iVersion < 2 || g_base->xCurrentTimeInt64 == nullptr)
      return nullptr;
    static sqlite3_vfs vfs{};
    vfs.iVersion = 2;
    vfs.szOsFile = real_offset() + g_base->szOsFile;
    vfs.mxPathname = g_base->mxPathname;
    vfs.zName = "skein-wal-batch";
    vfs.xOpen = vfs_open;
    vfs.xDelete = vfs_delete;
    vfs.xAccess = vfs_access;
    vfs.xFullPathname = vfs_full_pathname;
    vfs.xDlOpen = vfs_dl_open;
    vfs.xDlError = vfs_dl_error;
    vfs.xDlSym = vfs_dl_sym;
    vfs.xDlClose = vfs_dl_close;
    vfs.xRandomness = vfs_randomness;
    vfs.xSleep = vfs_sleep;
    vfs.xCurrentTime = vfs_current_time;
    vfs.xGetLastError = vfs_get_last_error;
    vfs.xCurrentTimeInt64 = vfs_current_time_int64;
    return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK ? vfs.zName : nullptr;
  }();
  return name;
}

}  // namespace skein::store
