using CaStorage.Core;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// Sparse files, after Samba's vfs_default (file_set_sparse, fsctl_qar, fsctl_zero_data):
/// <list type="bullet">
/// <item>The sparse flag is FILE_ATTRIBUTE_SPARSE_FILE in user.DOSATTRIB. Linux files are always able to hold
///   holes; the flag only decides what QUERY_ALLOCATED_RANGES reports and whether zeroing deallocates.</item>
/// <item>Allocated ranges of a sparse file come from lseek SEEK_DATA/SEEK_HOLE; a non-sparse file reports the
///   whole (clipped) range, as NTFS does.</item>
/// <item>Zeroing punches a hole (fallocate PUNCH_HOLE|KEEP_SIZE) in a sparse file; a non-sparse file is zeroed in
///   place (ZERO_RANGE, or punch and allocate again). Where the file system has neither, zeros are written.</item>
/// </list>
/// </summary>
public sealed partial class PosixVfsModule
{
    private const int ZeroChunk = 64 * 1024;
    private static readonly byte[] s_zeros = new byte[ZeroChunk];

    public override ValueTask<NtStatus> SetSparseAsync(VfsFile file, bool sparse, CancellationToken ct) =>
        WithFile(file, ct, ext =>
        {
            // MS-FSA 2.1.5.10.34: FSCTL_SET_SPARSE on a directory is STATUS_INVALID_PARAMETER.
            if (ext.IsDirectory) return NtStatus.InvalidParameter;
            if (ext.StreamXattr is not null) return NtStatus.Success; // a stream's data is never sparse: nothing to change
            return ext.WithFd(fd =>
            {
                var err = LibC.Fstat(fd, out var st);
                if (err != 0) return NtStatusMap.FromErrno(err);
                var current = BuildInfo(st, LibC.FGetXattr(fd, DosAttribXattr.Name, out _), ext.IsRoot);
                var isSparse = (current.Attributes & NtFileAttributes.SparseFile) != 0;
                if (isSparse == sparse) return NtStatus.Success;
                var attributes = current.Attributes & PersistedAttributes;
                attributes = sparse ? attributes | NtFileAttributes.SparseFile : attributes & ~NtFileAttributes.SparseFile;
                err = LibC.FSetXattr(fd, DosAttribXattr.Name, DosAttribXattr.Encode((uint)attributes, current.CreationTime));
                return err == 0 ? NtStatus.Success : NtStatusMap.FromErrno(err);
            });
        });

    public override ValueTask<VfsResult<IReadOnlyList<VfsAllocatedRange>>> QueryAllocatedRangesAsync(VfsFile file, long offset, long length, CancellationToken ct) =>
        WithFile<IReadOnlyList<VfsAllocatedRange>>(file, ct, ext =>
        {
            if (ext.IsDirectory) return NtStatus.InvalidParameter;
            // MS-FSA 2.1.5.10.22: negative values, or an end past MAXLONGLONG, are STATUS_INVALID_PARAMETER.
            if (offset < 0 || length < 0 || offset > long.MaxValue - length) return NtStatus.InvalidParameter;
            return ext.WithFd<VfsResult<IReadOnlyList<VfsAllocatedRange>>>(fd =>
            {
                if (ext.StreamXattr is not null)
                {
                    var info = StreamInfo(fd, ext.StreamXattr, ext.IsRoot);
                    if (!info.IsSuccess) return info.Status;
                    var size = info.Value!.EndOfFile;
                    if (length == 0 || offset >= size) return VfsResult<IReadOnlyList<VfsAllocatedRange>>.Ok([]);
                    return VfsResult<IReadOnlyList<VfsAllocatedRange>>.Ok([new VfsAllocatedRange(offset, Math.Min(size, offset + length) - offset)]);
                }
                var err = LibC.Fstat(fd, out var st);
                if (err != 0) return NtStatusMap.FromErrno(err);
                if (length == 0 || offset >= st.Size) return VfsResult<IReadOnlyList<VfsAllocatedRange>>.Ok([]);
                var end = Math.Min(st.Size, offset + length);
                if (!IsSparse(fd, ext.IsRoot, st)) return VfsResult<IReadOnlyList<VfsAllocatedRange>>.Ok([new VfsAllocatedRange(offset, end - offset)]);
                return SeekRanges(fd, offset, end, ct);
            });
        });

    /// <summary>Walks data and holes of [offset, end) with SEEK_DATA / SEEK_HOLE.</summary>
    private static VfsResult<IReadOnlyList<VfsAllocatedRange>> SeekRanges(int fd, long offset, long end, CancellationToken ct)
    {
        var ranges = new List<VfsAllocatedRange>();
        var pos = offset;
        while (pos < end)
        {
            if (ct.IsCancellationRequested) return NtStatus.Cancelled;
            var data = LibC.LSeek(fd, pos, LibC.SEEK_DATA);
            if (data < 0)
            {
                var e = LibC.Errno;
                if (e == PosixErrno.ENXIO) break; // no data at or after pos
                // A file system without SEEK_DATA: everything up to the end is data.
                if (e is PosixErrno.EINVAL or PosixErrno.EOPNOTSUPP) { ranges.Add(new VfsAllocatedRange(pos, end - pos)); break; }
                return NtStatusMap.FromErrno(e);
            }
            if (data >= end) break;
            var hole = LibC.LSeek(fd, data, LibC.SEEK_HOLE);
            if (hole < 0)
            {
                var e = LibC.Errno;
                if (e != PosixErrno.ENXIO) return NtStatusMap.FromErrno(e);
                hole = end;
            }
            hole = Math.Min(hole, end);
            if (hole <= data) break;
            ranges.Add(new VfsAllocatedRange(data, hole - data));
            pos = hole;
        }
        return VfsResult<IReadOnlyList<VfsAllocatedRange>>.Ok(ranges);
    }

    public override async ValueTask<NtStatus> ZeroRangeAsync(VfsFile file, long offset, long length, CancellationToken ct)
    {
        var ext = file.TryGetExtension<PosixOpenFile>(this);
        if (ext is null) return NtStatus.InvalidHandle;
        if (ext.IsDirectory) return NtStatus.InvalidParameter;
        if (offset < 0 || length < 0) return NtStatus.InvalidParameter;
        if (!ext.Writable) return NtStatus.AccessDenied;
        if (ct.IsCancellationRequested) return NtStatus.Cancelled;
        if (length == 0) return NtStatus.Success;
        if (ext.StreamXattr is not null) return ZeroStream(ext, offset, length);
        try
        {
            // Zero only what lies before the end of file: past it there is nothing to zero, and the size stays.
            var (status, end, sparse) = ext.WithFd(fd =>
            {
                var err = LibC.Fstat(fd, out var st);
                if (err != 0) return (NtStatusMap.FromErrno(err), 0L, false);
                return (NtStatus.Success, Math.Min(st.Size, offset > long.MaxValue - length ? long.MaxValue : offset + length), IsSparse(fd, ext.IsRoot, st));
            });
            if (status != NtStatus.Success) return status;
            if (end <= offset) return NtStatus.Success;
            var count = end - offset;

            var zeroed = ext.WithFd(fd => sparse ? PunchHole(fd, offset, count) : ZeroInPlace(fd, offset, count));
            if (zeroed == ZeroUnsupported)
            {
                for (var done = 0L; done < count;)
                {
                    var n = (int)Math.Min(ZeroChunk, count - done);
                    await RandomAccess.WriteAsync(ext.Handle, s_zeros.AsMemory(0, n), offset + done, ct).ConfigureAwait(false);
                    done += n;
                }
            }
            else if (zeroed != 0)
            {
                return NtStatusMap.FromErrno(zeroed);
            }
            if (ext.WriteThrough)
            {
                var err = ext.WithFd(fd => LibC.FDataSync(fd) == 0 ? 0 : LibC.Errno);
                if (err != 0) return NtStatusMap.FromErrno(err);
            }
            return NtStatus.Success;
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return MapException(ex);
        }
    }

    /// <summary>Result of the fallocate helpers: 0 when done, this when the file system cannot, else an errno.</summary>
    private const int ZeroUnsupported = -1;

    private static int PunchHole(int fd, long offset, long count)
    {
        if (LibC.FAllocate(fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, count) == 0) return 0;
        var e = LibC.Errno;
        return IsUnsupported(e) ? ZeroUnsupported : e;
    }

    /// <summary>Zeroes a range of a non-sparse file and leaves it allocated (Samba's "strict allocate" behaviour).</summary>
    private static int ZeroInPlace(int fd, long offset, long count)
    {
        if (LibC.FAllocate(fd, LibC.FALLOC_FL_ZERO_RANGE | LibC.FALLOC_FL_KEEP_SIZE, offset, count) == 0) return 0;
        var e = LibC.Errno;
        if (!IsUnsupported(e)) return e;
        var punched = PunchHole(fd, offset, count);
        if (punched != 0) return punched;
        // Allocate the punched range again; a file system that cannot simply allocates on the next write.
        if (LibC.FAllocate(fd, LibC.FALLOC_FL_KEEP_SIZE, offset, count) == 0) return 0;
        e = LibC.Errno;
        return IsUnsupported(e) ? 0 : e;
    }

    private static bool IsUnsupported(int errno) => errno is PosixErrno.EOPNOTSUPP or PosixErrno.ENOSYS or PosixErrno.EINVAL;

    private static bool IsSparse(int fd, bool isRoot, in StatxInfo st) =>
        (BuildInfo(st, LibC.FGetXattr(fd, DosAttribXattr.Name, out _), isRoot).Attributes & NtFileAttributes.SparseFile) != 0;

    private NtStatus ZeroStream(PosixOpenFile ext, long offset, long length)
    {
        var info = ext.WithFd(fd => StreamInfo(fd, ext.StreamXattr!, ext.IsRoot));
        if (!info.IsSuccess) return info.Status;
        var end = Math.Min(info.Value!.EndOfFile, offset > long.MaxValue - length ? long.MaxValue : offset + length);
        return end <= offset ? NtStatus.Success : WriteStream(ext, offset, new byte[end - offset]).Status;
    }
}
