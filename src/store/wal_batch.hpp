// A SQLite VFS that writes a transaction's WAL frames together instead of two writes per page.
//
// SQLite appends each frame of a commit to the WAL file with two writes, its 24-byte header then
// its page: ~150-240 system calls for a collector request of 512 spans; the commit took ~560 us
// of a ~2.7 ms request, while the request thread and the client wait for it. This VFS forwards
// everything to the default one, except that it gathers a transaction's frames (each frame
// header and the page after it, as SQLite writes them) in memory and writes them together, in
// writes of 64 KiB (~350 us per commit):
//   - when the commit frame's page has been written (the frame header says so: bytes 4-7, the
//     database size after the commit, are not zero;
//     https://www.sqlite.org/fileformat2.html#walformat), inside that same xWrite, so that a failed
//     write fails the commit, which SQLite then rolls back, and the frames are in the file before
//     SQLite publishes the commit to other connections (it does so after the write returns);
//   - before anything that looks at the file (read, size, truncate, sync, file controls, close),
//     before any other write (the WAL header, or in place), and past 4 MiB gathered.
// Any write that is not a frame header or its page goes to the file as it is. So other
// connections (readers, the checkpointer, other processes) never see a commit whose frames are
// not in the file, and a commit has reached the operating system when COMMIT returns: a killed
// process loses nothing it committed, as with the default VFS.
#pragma once

namespace skein::store {

/// The VFS's name, registered on first use (not as the default); null if it could not be.
const char* wal_batch_vfs();

}  // namespace skein::store
