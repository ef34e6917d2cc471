using System.Text;
using CaStorage.Core;
using Microsoft.Win32.SafeHandles;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// Named data streams, after Samba's vfs_streams_xattr (so a share can move between Samba and CaStorage):
/// <list type="bullet">
/// <item>The data of "file:name" lives in the xattr "user.DosStream.name:$DATA" of the base file, stored with one
///   trailing NUL as Samba does (an xattr of n + 1 bytes is a stream of n bytes).</item>
/// <item>Stream names match case-insensitively; the creator's spelling is kept.</item>
/// <item>A stream open holds an fd of the base file: times, attributes, security and EAs are the base file's;
///   reads, writes and the end of file work on the xattr value. The size limit is the file system's xattr value
///   limit (64 KiB at most, about 4 KiB on ext4): a write beyond it is DiskFull.</item>
/// <item>Creating a stream of a missing file creates the file too (as Windows does); creating or overwriting a
///   stream needs FILE_WRITE_DATA on the base file. Deleting a stream removes only its xattr; deleting the file
///   removes everything with the inode.</item>
/// </list>
/// Writers of one stream are serialized by a module-wide lock: the xattr is rewritten whole on every change.
/// </summary>
public sealed partial class PosixVfsModule
{
    internal const string StreamXattrPrefix = "user.DosStream.";
    internal const string StreamXattrSuffix = ":$DATA";

    /// <summary>XATTR_SIZE_MAX: no file system takes a larger value, so larger streams fail before any allocation.</summary>
    private const int MaxStreamSize = 65536 - 1;

    /// <summary>XATTR_NAME_MAX.</summary>
    private const int MaxXattrNameBytes = 255;

    private readonly Lock _streamLock = new();

    private static string StreamXattr(string name) => StreamXattrPrefix + name + StreamXattrSuffix;

    /// <summary>The stream's name as stored, from a "user.DosStream.&lt;name&gt;:$DATA" xattr name, or null.</summary>
    private static string? StreamNameOf(string xattr) =>
        xattr.Length > StreamXattrPrefix.Length + StreamXattrSuffix.Length
        && xattr.StartsWith(StreamXattrPrefix, StringComparison.Ordinal)
        && xattr.EndsWith(StreamXattrSuffix, StringComparison.Ordinal)
            ? xattr[StreamXattrPrefix.Length..^StreamXattrSuffix.Length]
            : null;

    /// <summary>The xattr holding stream <paramref name="name"/> (matched case-insensitively), or null (errno set on failure).</summary>
    private static string? FindStreamXattr(int fd, string name, out int errno)
    {
        var names = LibC.FListXattr(fd, out errno);
        if (names is null) return null;
        string? best = null;
        foreach (var x in names)
        {
            var n = StreamNameOf(x);
            if (n is null || !n.Equals(name, StringComparison.OrdinalIgnoreCase)) continue;
            if (best is null || string.CompareOrdinal(x, best) < 0) best = x;
        }
        return best;
    }

    private static VfsResult<byte[]> GetStreamValue(int fd, string xattr)
    {
        var value = LibC.FGetXattr(fd, xattr, out var err);
        if (value is null) return err == PosixErrno.ENODATA ? NtStatus.FileDeleted : NtStatusMap.FromErrno(err);
        return VfsResult<byte[]>.Ok(value.Length > 0 ? value[..^1] : value); // drop Samba's trailing NUL
    }

    private static NtStatus SetStreamValue(int fd, string xattr, ReadOnlySpan<byte> data, int flags = LibC.XATTR_REPLACE)
    {
        if (data.Length > MaxStreamSize) return NtStatus.DiskFull;
        var stored = new byte[data.Length + 1];
        data.CopyTo(stored);
        var err = LibC.FSetXattr(fd, xattr, stored, flags);
        return err switch
        {
            0 => NtStatus.Success,
            7 /* E2BIG */ or 28 /* ENOSPC */ or PosixErrno.ERANGE => NtStatus.DiskFull,
            PosixErrno.ENODATA => NtStatus.FileDeleted,
            PosixErrno.EEXIST => NtStatus.ObjectNameCollision,
            _ => NtStatusMap.FromErrno(err),
        };
    }

    // ---------------------------------------------------------------- open

    private VfsResult<VfsOpenResult> OpenStream(VfsTreeContext tree, string root, VfsPath path, Resolution r, VfsOpenRequest request, bool wantDir)
    {
        var name = path.StreamName!;
        if (wantDir) return NtStatus.NotADirectory;
        if (Encoding.UTF8.GetByteCount(StreamXattr(name)) > MaxXattrNameBytes) return NtStatus.ObjectNameInvalid;
        var disposition = request.Disposition;

        if (!r.Exists)
        {
            if (disposition is CreateDisposition.Open or CreateDisposition.Overwrite) return NtStatus.ObjectNameNotFound;
            // Windows creates the base file with the stream.
            var created = Create(tree, root, r, request with
            {
                Disposition = CreateDisposition.Create,
                Options = request.Options & ~(CreateOptions.DeleteOnClose | CreateOptions.DirectoryFile),
            }, wantDir: false);
            if (created.IsSuccess) CloseAsync(created.Value!.File).AsTask().GetAwaiter().GetResult();
            else if (created.Status != NtStatus.ObjectNameCollision) return created.Status;
            var status0 = Resolve(root, path, out r);
            if (status0 != NtStatus.Success) return status0;
            if (!r.Exists) return NtStatus.ObjectNameNotFound;
        }

        var status = OpenObject(root, r, r.IsDirectory ? LibC.O_RDONLY | LibC.O_DIRECTORY : LibC.O_RDONLY, out var fd);
        if (status != NtStatus.Success) return status;
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var xattr = FindStreamXattr(fd, name, out var err);
            if (xattr is null && err != 0) return err == PosixErrno.EOPNOTSUPP ? NtStatus.ObjectNameNotFound : NtStatusMap.FromErrno(err);
            var exists = xattr is not null;
            if (exists && disposition == CreateDisposition.Create) return NtStatus.ObjectNameCollision;
            if (!exists && disposition is CreateDisposition.Open or CreateDisposition.Overwrite) return NtStatus.ObjectNameNotFound;
            var truncating = exists && disposition is CreateDisposition.Overwrite or CreateDisposition.OverwriteIf or CreateDisposition.Supersede;

            // Creating or overwriting a stream writes the file's data: FILE_WRITE_DATA on the base file.
            status = AuthorizeExisting(tree, root, r, fd, r.IsDirectory, request, truncating || !exists, out var granted, out var maximal);
            if (status != NtStatus.Success) return status;
            var access = request.Access.MapGeneric();
            var writeData = (access & (AccessMask.FileWriteData | AccessMask.FileAppendData)) != 0;
            var writable = writeData || truncating || ((access & AccessMask.MaximumAllowed) != 0
                && (granted & (AccessMask.FileWriteData | AccessMask.FileAppendData)) != 0);
            var attributes = EffectiveAttributes(fd, r.IsRoot);
            if ((attributes & NtFileAttributes.ReadOnly) != 0 && !r.IsDirectory)
            {
                if (writeData || truncating || !exists) return NtStatus.AccessDenied;
                if ((request.Options & CreateOptions.DeleteOnClose) != 0) return NtStatus.CannotDelete;
                writable = false;
            }

            CreateAction action;
            if (!exists)
            {
                xattr = StreamXattr(name);
                lock (_streamLock)
                {
                    status = SetStreamValue(fd, xattr, [], LibC.XATTR_CREATE);
                }
                if (status != NtStatus.Success) return status;
                action = CreateAction.Created;
                writable = true;
            }
            else
            {
                action = disposition switch
                {
                    CreateDisposition.Supersede => CreateAction.Superseded,
                    CreateDisposition.Overwrite or CreateDisposition.OverwriteIf => CreateAction.Overwritten,
                    _ => CreateAction.Opened,
                };
            }

            err = LibC.Fstat(fd, out var st);
            if (err != 0) return NtStatusMap.FromErrno(err);
            var stored = StreamNameOf(xattr!)!;
            var file = new VfsFile(tree, r.ShareRelative + ":" + stored, isDirectory: false, st.Inode) { StreamName = stored };
            file.SetExtension(this, new PosixOpenFile(handle, isDirectory: false, isRoot: false, writable,
                (request.Options & CreateOptions.WriteThrough) != 0, r.RealPath) { StreamXattr = xattr });
            handle = null;
            return VfsResult<VfsOpenResult>.Ok(new VfsOpenResult(file, action) { GrantedAccess = granted, MaximalAccess = maximal });
        }
        finally
        {
            handle?.Dispose();
        }
    }

    // ---------------------------------------------------------------- by path (stat, unlink)

    /// <summary>Runs <paramref name="op"/> with an fd of the base file and the stream's xattr name.</summary>
    private NtStatus WithStreamByPath(string root, Resolution r, string name, Func<int, string, NtStatus> op)
    {
        if (!r.Exists) return NtStatus.ObjectNameNotFound;
        var status = OpenObject(root, r, r.IsDirectory ? LibC.O_RDONLY | LibC.O_DIRECTORY : LibC.O_RDONLY, out var fd);
        if (status != NtStatus.Success) return status;
        try
        {
            var xattr = FindStreamXattr(fd, name, out var err);
            if (xattr is null) return err is 0 or PosixErrno.EOPNOTSUPP ? NtStatus.ObjectNameNotFound : NtStatusMap.FromErrno(err);
            return op(fd, xattr);
        }
        finally
        {
            LibC.Close(fd);
        }
    }

    private VfsResult<VfsFileInfo> StatStream(string root, Resolution r, string name)
    {
        VfsFileInfo? info = null;
        var status = WithStreamByPath(root, r, name, (fd, xattr) =>
        {
            var v = StreamInfo(fd, xattr, r.IsRoot);
            if (!v.IsSuccess) return v.Status;
            info = v.Value;
            return NtStatus.Success;
        });
        return status == NtStatus.Success ? VfsResult<VfsFileInfo>.Ok(info!) : status;
    }

    private NtStatus UnlinkStream(string root, Resolution r, string name) =>
        WithStreamByPath(root, r, name, (fd, xattr) =>
        {
            lock (_streamLock)
            {
                if (LibC.FRemoveXattr(fd, xattr) == 0) return NtStatus.Success;
                var err = LibC.Errno;
                return err == PosixErrno.ENODATA ? NtStatus.ObjectNameNotFound : NtStatusMap.FromErrno(err);
            }
        });

    /// <summary>A stream's metadata: the base file's times and attributes (never Directory), the stream's size.</summary>
    private static VfsResult<VfsFileInfo> StreamInfo(int fd, string xattr, bool isRoot)
    {
        var err = LibC.Fstat(fd, out var st);
        if (err != 0) return NtStatusMap.FromErrno(err);
        var value = GetStreamValue(fd, xattr);
        if (!value.IsSuccess) return value.Status;
        var info = BuildInfo(st, LibC.FGetXattr(fd, DosAttribXattr.Name, out _), isRoot);
        var attributes = info.Attributes & ~NtFileAttributes.Directory;
        if (attributes == NtFileAttributes.None) attributes = NtFileAttributes.Normal;
        long size = value.Value!.Length;
        return VfsResult<VfsFileInfo>.Ok(info with { EndOfFile = size, AllocationSize = (size + 4095) & ~4095L, Attributes = attributes });
    }

    // ---------------------------------------------------------------- data

    private static VfsResult<int> ReadStream(PosixOpenFile ext, long offset, Span<byte> buffer)
    {
        var value = ext.WithFd(fd => GetStreamValue(fd, ext.StreamXattr!));
        if (!value.IsSuccess) return value.Status;
        var data = value.Value!;
        if (offset >= data.Length) return VfsResult<int>.Ok(0);
        var n = (int)Math.Min(buffer.Length, data.Length - offset);
        data.AsSpan((int)offset, n).CopyTo(buffer);
        return VfsResult<int>.Ok(n);
    }

    private VfsResult<int> WriteStream(PosixOpenFile ext, long offset, ReadOnlySpan<byte> data)
    {
        if (offset > MaxStreamSize || data.Length > MaxStreamSize - offset) return NtStatus.DiskFull;
        var copy = data.ToArray();
        lock (_streamLock)
        {
            var status = ext.WithFd(fd =>
            {
                var value = GetStreamValue(fd, ext.StreamXattr!);
                if (!value.IsSuccess) return value.Status;
                var current = value.Value!;
                var next = new byte[Math.Max(current.Length, offset + copy.Length)];
                current.CopyTo(next, 0);
                copy.CopyTo(next, (int)offset);
                return SetStreamValue(fd, ext.StreamXattr!, next);
            });
            return status == NtStatus.Success ? VfsResult<int>.Ok(copy.Length) : status;
        }
    }

    private NtStatus SetStreamLength(PosixOpenFile ext, long length, bool shrinkOnly)
    {
        if (length < 0) return NtStatus.InvalidParameter;
        if (!ext.Writable) return NtStatus.AccessDenied;
        lock (_streamLock)
        {
            return ext.WithFd(fd =>
            {
                var value = GetStreamValue(fd, ext.StreamXattr!);
                if (!value.IsSuccess) return value.Status;
                var current = value.Value!;
                if (current.Length == length || (shrinkOnly && length > current.Length)) return NtStatus.Success;
                if (length > MaxStreamSize) return NtStatus.DiskFull;
                var next = new byte[length];
                current.AsSpan(0, (int)Math.Min(length, current.Length)).CopyTo(next);
                return SetStreamValue(fd, ext.StreamXattr!, next);
            });
        }
    }

    private async ValueTask<VfsResult<int>> ReadAnyAsync(PosixOpenFile ext, long offset, Memory<byte> buffer, CancellationToken ct) =>
        ext.StreamXattr is not null
            ? ReadStream(ext, offset, buffer.Span)
            : VfsResult<int>.Ok(await RandomAccess.ReadAsync(ext.Handle, buffer, offset, ct).ConfigureAwait(false));

    private async ValueTask<NtStatus> WriteAnyAsync(PosixOpenFile ext, long offset, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (ext.StreamXattr is not null) return WriteStream(ext, offset, data.Span).Status;
        await RandomAccess.WriteAsync(ext.Handle, data, offset, ct).ConfigureAwait(false);
        return NtStatus.Success;
    }

    /// <summary>Copy-chunk where either side is a stream: through a buffer.</summary>
    private async ValueTask<VfsResult<long>> CopyWithStreamsAsync(PosixOpenFile src, long sourceOffset, PosixOpenFile dst, long targetOffset, long length, CancellationToken ct)
    {
        var buffer = new byte[(int)Math.Min(Math.Max(length, 1), CopyChunk)];
        long copied = 0;
        while (copied < length)
        {
            if (ct.IsCancellationRequested) return NtStatus.Cancelled;
            var want = (int)Math.Min(length - copied, buffer.Length);
            var n = await ReadAnyAsync(src, sourceOffset + copied, buffer.AsMemory(0, want), ct).ConfigureAwait(false);
            if (!n.IsSuccess) return n.Status;
            if (n.Value == 0) break;
            var w = await WriteAnyAsync(dst, targetOffset + copied, buffer.AsMemory(0, n.Value), ct).ConfigureAwait(false);
            if (w != NtStatus.Success) return w;
            copied += n.Value;
        }
        return VfsResult<long>.Ok(copied);
    }

    // ---------------------------------------------------------------- listing

    private static VfsResult<IReadOnlyList<VfsStreamInfo>> ListStreams(int fd, bool isDirectory)
    {
        var list = new List<VfsStreamInfo>();
        if (!isDirectory)
        {
            var err = LibC.Fstat(fd, out var st);
            if (err != 0) return NtStatusMap.FromErrno(err);
            list.Add(new VfsStreamInfo("::$DATA", st.Size, st.Blocks * 512));
        }
        var names = LibC.FListXattr(fd, out var lerr);
        if (names is null) return lerr == PosixErrno.EOPNOTSUPP ? VfsResult<IReadOnlyList<VfsStreamInfo>>.Ok(list) : NtStatusMap.FromErrno(lerr);
        foreach (var x in names)
        {
            var n = StreamNameOf(x);
            if (n is null) continue;
            var value = LibC.FGetXattr(fd, x, out _);
            if (value is null) continue;
            long size = Math.Max(0, value.Length - 1);
            list.Add(new VfsStreamInfo(":" + n + StreamXattrSuffix, size, (size + 4095) & ~4095L));
        }
        return VfsResult<IReadOnlyList<VfsStreamInfo>>.Ok(list);
    }
}
