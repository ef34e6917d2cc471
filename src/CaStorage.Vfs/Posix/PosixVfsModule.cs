using System.Buffers;
using CaStorage.Core;
using CaStorage.Core.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace CaStorage.Vfs.Posix;

/// <summary>
/// The opaque module over a local (or shared) Linux directory, after Samba's vfs_default.c.
/// Path safety: wire paths go through <see cref="PathSafety"/>, are resolved component by component inside the
/// root (case-insensitive fallback, symlinks only when they stay inside the root), and every final open,
/// create, rename and unlink is done relative to a directory fd verified to be inside the root, with O_NOFOLLOW.
/// DOS attributes and creation times live in "user.DOSATTRIB" (Samba's format, <see cref="DosAttribXattr"/>),
/// stored security descriptors in "user.castorage.ntacl", EAs in "user.&lt;NAME&gt;". FileId is the inode number.
/// The module never truncates on Overwrite/Supersede: the caller does that after its share-mode checks.
/// </summary>
public sealed partial class PosixVfsModule : OpaqueVfsModule
{
    public const string ModuleName = "posix";
    public static readonly IReadOnlyCollection<string> OptionNames = [];

    internal const string NtAclXattr = "user.castorage.ntacl";

    /// <summary>The attributes a client sets at create or with FileBasicInformation.</summary>
    private const NtFileAttributes StoredAttributes = NtFileAttributes.ReadOnly | NtFileAttributes.Hidden | NtFileAttributes.System
        | NtFileAttributes.Archive | NtFileAttributes.Temporary | NtFileAttributes.Offline | NtFileAttributes.NotContentIndexed;

    /// <summary>
    /// What user.DOSATTRIB may carry: the above plus SparseFile, which only FSCTL_SET_SPARSE changes (a create or a
    /// SET_INFO asking for it is ignored, as on Windows and Samba).
    /// </summary>
    private const NtFileAttributes PersistedAttributes = StoredAttributes | NtFileAttributes.SparseFile;

    private const int CopyChunk = 1 << 20;

    private readonly string _configuredRoot;
    private readonly string _shareName;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public PosixVfsModule(VfsModuleContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!OperatingSystem.IsLinux()) throw new VfsConfigurationException("the posix VFS module runs on Linux only");
        if (string.IsNullOrWhiteSpace(context.RootPath) || !Path.IsPathRooted(context.RootPath))
            throw new VfsConfigurationException($"share '{context.ShareName}': the posix module needs an absolute root path, got '{context.RootPath}'");
        _configuredRoot = context.RootPath;
        _shareName = context.ShareName;
        _logger = context.LoggerFactory.CreateLogger<PosixVfsModule>();
        _time = context.TimeProvider;
    }

    public override bool SupportsDurableReopen => true;

    public override ValueTask<NtStatus> ConnectAsync(VfsTreeContext tree, CancellationToken ct) =>
        ValueTask.FromResult(ct.IsCancellationRequested ? NtStatus.Cancelled : TryGetRoot(out _));

    public override ValueTask DisconnectAsync(VfsTreeContext tree) => ValueTask.CompletedTask;

    // ---------------------------------------------------------------- open / close

    public override ValueTask<VfsResult<VfsOpenResult>> OpenAsync(VfsTreeContext tree, VfsOpenRequest request, CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromResult<VfsResult<VfsOpenResult>>(NtStatus.Cancelled);
        try
        {
            return ValueTask.FromResult(Open(tree, request));
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return ValueTask.FromResult<VfsResult<VfsOpenResult>>(MapException(ex));
        }
    }

    private VfsResult<VfsOpenResult> Open(VfsTreeContext tree, VfsOpenRequest request)
    {
        var wantDir = (request.Options & CreateOptions.DirectoryFile) != 0;
        var wantFile = (request.Options & CreateOptions.NonDirectoryFile) != 0;
        if (wantDir && wantFile) return NtStatus.InvalidParameter;
        if (request.Disposition > CreateDisposition.OverwriteIf) return NtStatus.InvalidParameter;
        // MS-FSA 2.1.5.1: a directory can only be opened or created, never overwritten or superseded.
        if (wantDir && request.Disposition is not (CreateDisposition.Open or CreateDisposition.Create or CreateDisposition.OpenIf))
            return NtStatus.InvalidParameter;

        var status = TryGetRoot(out var root);
        if (status != NtStatus.Success) return status;
        status = PathSafety.TryParse(request.Path, out var path);
        if (status != NtStatus.Success) return status;
        if (path.DefaultStream && wantDir) return NtStatus.NotADirectory;

        // A create can lose a race with another creator; OpenIf/OverwriteIf/Supersede then open what won.
        for (var attempt = 0; attempt < 4; attempt++)
        {
            status = Resolve(root, path, out var r);
            if (status != NtStatus.Success) return status;
            if (path.IsStream) return OpenStream(tree, root, path, r, request, wantDir);
            if (r.Exists) return OpenExisting(tree, root, r, request, wantDir, wantFile);
            if (request.Disposition is CreateDisposition.Open or CreateDisposition.Overwrite) return NtStatus.ObjectNameNotFound;
            var created = Create(tree, root, r, request, wantDir);
            if (created.Status == NtStatus.ObjectNameCollision && request.Disposition != CreateDisposition.Create) continue;
            return created;
        }
        return NtStatus.ObjectNameCollision;
    }

    private VfsResult<VfsOpenResult> OpenExisting(VfsTreeContext tree, string root, Resolution r, VfsOpenRequest request, bool wantDir, bool wantFile)
    {
        var disposition = request.Disposition;
        if (disposition == CreateDisposition.Create) return NtStatus.ObjectNameCollision;
        var truncating = disposition is CreateDisposition.Overwrite or CreateDisposition.OverwriteIf or CreateDisposition.Supersede;

        if (r.IsDirectory)
        {
            if (wantFile || r.DefaultStream) return NtStatus.FileIsADirectory;
            if (truncating) return wantDir ? NtStatus.InvalidParameter : NtStatus.FileIsADirectory;
            var dirStatus = OpenObject(root, r, LibC.O_RDONLY | LibC.O_DIRECTORY, out var dfd);
            if (dirStatus != NtStatus.Success) return dirStatus;
            dirStatus = AuthorizeExisting(tree, root, r, dfd, isDirectory: true, request, truncating: false, out var dirGranted, out var dirMaximal);
            if (dirStatus != NtStatus.Success)
            {
                LibC.Close(dfd);
                return dirStatus;
            }
            return WithAccess(Finish(tree, r, dfd, isDirectory: true, writable: false, writeThrough: false, CreateAction.Opened), dirGranted, dirMaximal);
        }

        if (wantDir) return NtStatus.NotADirectory;
        var access = request.Access.MapGeneric();
        var writeData = (access & (AccessMask.FileWriteData | AccessMask.FileAppendData)) != 0;
        var maxAllowed = (access & AccessMask.MaximumAllowed) != 0;
        var writable = writeData || truncating || maxAllowed;
        var status = OpenObject(root, r, writable ? LibC.O_RDWR : LibC.O_RDONLY, out var fd);
        if (status != NtStatus.Success && maxAllowed && !writeData && !truncating && status is NtStatus.AccessDenied or NtStatus.MediaWriteProtected)
        {
            writable = false;
            status = OpenObject(root, r, LibC.O_RDONLY, out fd);
        }
        if (status != NtStatus.Success) return status;

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            AccessMask granted, maximal;
            if (request.Reclaim) (granted, maximal) = (access, access);
            else status = AuthorizeExisting(tree, root, r, fd, isDirectory: false, request, truncating, out granted, out maximal);
            if (status != NtStatus.Success) return status;
            if (maxAllowed) writable &= (granted & (AccessMask.FileWriteData | AccessMask.FileAppendData)) != 0 || truncating;
            var attributes = EffectiveAttributes(fd, r.IsRoot);
            if ((attributes & NtFileAttributes.ReadOnly) != 0 && !request.Reclaim)
            {
                // MS-FSA 2.1.5.1.2.1: a read-only file cannot be opened for writing data or overwritten,
                // nor opened delete-on-close.
                if (writeData || truncating) return NtStatus.AccessDenied;
                if ((request.Options & CreateOptions.DeleteOnClose) != 0) return NtStatus.CannotDelete;
                if (maxAllowed && writable) writable = false;
            }
            if (truncating)
            {
                // Overwriting a hidden or system file must keep those attributes.
                if (((attributes & NtFileAttributes.Hidden) != 0 && (request.Attributes & NtFileAttributes.Hidden) == 0)
                    || ((attributes & NtFileAttributes.System) != 0 && (request.Attributes & NtFileAttributes.System) == 0))
                {
                    return NtStatus.AccessDenied;
                }
            }
            var action = disposition switch
            {
                CreateDisposition.Supersede => CreateAction.Superseded,
                CreateDisposition.Overwrite or CreateDisposition.OverwriteIf => CreateAction.Overwritten,
                _ => CreateAction.Opened,
            };
            var result = Finish(tree, r, handle, isDirectory: false, writable, (request.Options & CreateOptions.WriteThrough) != 0, action);
            handle = null;
            return WithAccess(result, granted, maximal);
        }
        finally
        {
            handle?.Dispose();
        }
    }

    private VfsResult<VfsOpenResult> Create(VfsTreeContext tree, string root, Resolution r, VfsOpenRequest request, bool wantDir)
    {
        var requested = request.Attributes;
        var status = OpenVerifiedDirectory(root, r.ParentReal, out var pfd);
        if (status != NtStatus.Success) return status;
        int fd;
        NtFileAttributes attributes;
        NewObjectSecurity security;
        try
        {
            if (wantDir)
            {
                if (request.Disposition is not (CreateDisposition.Create or CreateDisposition.OpenIf)) return NtStatus.InvalidParameter;
                if ((requested & NtFileAttributes.Temporary) != 0) return NtStatus.InvalidParameter;
                status = AuthorizeCreate(tree, pfd, isDirectory: true, request, out security);
                if (status != NtStatus.Success) return status;
                if (LibC.MkdirAt(pfd, r.EntryName, 0x1FF) != 0) return CreateError(LibC.Errno);
                fd = LibC.OpenAt(pfd, r.EntryName, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NOFOLLOW | LibC.O_CLOEXEC, 0);
                if (fd < 0) return CreateError(LibC.Errno);
                attributes = (requested & StoredAttributes) | NtFileAttributes.Directory;
            }
            else
            {
                if ((requested & NtFileAttributes.ReadOnly) != 0 && (request.Options & CreateOptions.DeleteOnClose) != 0) return NtStatus.CannotDelete;
                status = AuthorizeCreate(tree, pfd, isDirectory: false, request, out security);
                if (status != NtStatus.Success) return status;
                fd = LibC.OpenAt(pfd, r.EntryName,
                    LibC.O_CREAT | LibC.O_EXCL | LibC.O_RDWR | LibC.O_NOFOLLOW | LibC.O_CLOEXEC | LibC.O_NOCTTY, 0x1B6);
                if (fd < 0) return CreateError(LibC.Errno);
                attributes = (requested & StoredAttributes) | NtFileAttributes.Archive;
                if (request.AllocationSize > 0) LibC.FAllocate(fd, LibC.FALLOC_FL_KEEP_SIZE, 0, request.AllocationSize);
            }
        }
        finally
        {
            LibC.Close(pfd);
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var err = LibC.FSetXattr(fd, DosAttribXattr.Name, DosAttribXattr.Encode((uint)attributes, _time.GetUtcNow().ToFileTime()));
            if (err != 0) VfsLog.XattrFailed(_logger, DosAttribXattr.Name, _shareName, r.ShareRelative, err);
            StoreNewDescriptor(tree, r, fd, wantDir, security, request, out var granted, out var maximal);
            var result = Finish(tree, r, handle, wantDir, writable: !wantDir, (request.Options & CreateOptions.WriteThrough) != 0, CreateAction.Created);
            handle = null;
            return WithAccess(result, granted, maximal);
        }
        finally
        {
            handle?.Dispose();
        }
    }

    private static NtStatus CreateError(int errno) => errno switch
    {
        PosixErrno.EEXIST => NtStatus.ObjectNameCollision,
        PosixErrno.ENOENT or PosixErrno.ENOTDIR => NtStatus.ObjectPathNotFound,
        PosixErrno.ELOOP => NtStatus.ObjectNameCollision,
        _ => NtStatusMap.FromErrno(errno),
    };

    /// <summary>Opens an existing object (file, directory or root) without following a final symlink.</summary>
    private NtStatus OpenObject(string root, Resolution r, int accessFlags, out int fd)
    {
        var flags = accessFlags | LibC.O_NOFOLLOW | LibC.O_CLOEXEC | LibC.O_NOCTTY | LibC.O_NONBLOCK;
        if (r.IsRoot || r.RealPath == root)
        {
            fd = LibC.Open(root, flags, 0);
            if (fd < 0) return NtStatusMap.FromErrno(LibC.Errno);
            if (!IsFdWithinRoot(fd, root)) { LibC.Close(fd); fd = -1; return NtStatus.AccessDenied; }
            return NtStatus.Success;
        }
        // For a symlink entry, open its (verified, in-root) target by its own parent and name.
        var (parent, name) = Split(r.RealPath);
        var status = OpenVerifiedDirectory(root, parent, out var pfd);
        if (status != NtStatus.Success) { fd = -1; return status; }
        try
        {
            fd = LibC.OpenAt(pfd, name, flags, 0);
            if (fd >= 0) return NtStatus.Success;
            var err = LibC.Errno;
            return err switch
            {
                PosixErrno.ENOENT or PosixErrno.ELOOP => NtStatus.ObjectNameNotFound, // vanished or swapped for a symlink
                PosixErrno.ENOTDIR => NtStatus.NotADirectory,
                PosixErrno.EISDIR => NtStatus.FileIsADirectory,
                _ => NtStatusMap.FromErrno(err),
            };
        }
        finally
        {
            LibC.Close(pfd);
        }
    }

    private VfsResult<VfsOpenResult> Finish(VfsTreeContext tree, Resolution r, int fd, bool isDirectory, bool writable, bool writeThrough, CreateAction action)
    {
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            var result = Finish(tree, r, handle, isDirectory, writable, writeThrough, action);
            handle = null;
            return result;
        }
        finally
        {
            handle?.Dispose();
        }
    }

    // Takes ownership of the handle only on success.
    private VfsResult<VfsOpenResult> Finish(VfsTreeContext tree, Resolution r, SafeFileHandle handle, bool isDirectory, bool writable, bool writeThrough, CreateAction action)
    {
        var fd = (int)handle.DangerousGetHandle();
        var err = LibC.Fstat(fd, out var st);
        if (err != 0) return NtStatusMap.FromErrno(err);
        if (isDirectory ? !st.IsDirectory : !st.IsRegular) return NtStatus.ObjectNameNotFound;
        var file = new VfsFile(tree, r.ShareRelative, isDirectory, st.Inode);
        file.SetExtension(this, new PosixOpenFile(handle, isDirectory, r.IsRoot, writable && !isDirectory, writeThrough, r.RealPath));
        return VfsResult<VfsOpenResult>.Ok(new VfsOpenResult(file, action));
    }

    private static VfsResult<VfsOpenResult> WithAccess(VfsResult<VfsOpenResult> result, AccessMask granted, AccessMask maximal) =>
        result.IsSuccess ? VfsResult<VfsOpenResult>.Ok(result.Value! with { GrantedAccess = granted, MaximalAccess = maximal }) : result;

    public override ValueTask CloseAsync(VfsFile file)
    {
        var ext = file.TryGetExtension<PosixOpenFile>(this);
        if (ext is not null)
        {
            file.RemoveExtension(this);
            ext.Handle.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    // ---------------------------------------------------------------- data

    public override async ValueTask<VfsResult<int>> ReadAsync(VfsFile file, long offset, Memory<byte> buffer, CancellationToken ct)
    {
        var ext = file.TryGetExtension<PosixOpenFile>(this);
        if (ext is null) return NtStatus.InvalidHandle;
        if (ext.IsDirectory) return NtStatus.InvalidDeviceRequest;
        if (offset < 0) return NtStatus.InvalidParameter;
        if (ct.IsCancellationRequested) return NtStatus.Cancelled;
        try
        {
            return await ReadAnyAsync(ext, offset, buffer, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return MapException(ex);
        }
    }

    public override async ValueTask<VfsResult<int>> WriteAsync(VfsFile file, long offset, ReadOnlyMemory<byte> data, bool writeThrough, CancellationToken ct)
    {
        var ext = file.TryGetExtension<PosixOpenFile>(this);
        if (ext is null) return NtStatus.InvalidHandle;
        if (ext.IsDirectory) return NtStatus.InvalidDeviceRequest;
        if (!ext.Writable) return NtStatus.AccessDenied;
        if (offset < 0) return NtStatus.InvalidParameter;
        if (ct.IsCancellationRequested) return NtStatus.Cancelled;
        try
        {
            if (ext.StreamXattr is not null) return WriteStream(ext, offset, data.Span);
            await ext.WriteTurn.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await RandomAccess.WriteAsync(ext.Handle, data, offset, ct).ConfigureAwait(false);
            }
            finally
            {
                ext.WriteTurn.Release();
            }
            if (writeThrough || ext.WriteThrough)
            {
                var err = ext.WithFd(fd => LibC.FDataSync(fd) == 0 ? 0 : LibC.Errno);
                if (err != 0) return NtStatusMap.FromErrno(err);
            }
            return VfsResult<int>.Ok(data.Length);
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return MapException(ex);
        }
    }

    public override ValueTask<NtStatus> FlushAsync(VfsFile file, CancellationToken ct) =>
        WithFile(file, ct, ext => ext.WithFd(fd => LibC.FSync(fd) == 0 ? NtStatus.Success : NtStatusMap.FromErrno(LibC.Errno)));

    public override ValueTask<NtStatus> SetEndOfFileAsync(VfsFile file, long length, CancellationToken ct) =>
        WithFile(file, ct, ext =>
        {
            if (ext.IsDirectory || length < 0) return NtStatus.InvalidParameter;
            if (ext.StreamXattr is not null) return SetStreamLength(ext, length, shrinkOnly: false);
            if (!ext.Writable) return NtStatus.AccessDenied;
            return ext.WithFd(fd => LibC.FTruncate(fd, length) == 0 ? NtStatus.Success : NtStatusMap.FromErrno(LibC.Errno));
        });

    public override ValueTask<NtStatus> SetAllocationSizeAsync(VfsFile file, long size, CancellationToken ct) =>
        WithFile(file, ct, ext =>
        {
            if (ext.IsDirectory || size < 0) return NtStatus.InvalidParameter;
            if (ext.StreamXattr is not null) return SetStreamLength(ext, size, shrinkOnly: true);
            if (!ext.Writable) return NtStatus.AccessDenied;
            return ext.WithFd(fd =>
            {
                var err = LibC.Fstat(fd, out var st);
                if (err != 0) return NtStatusMap.FromErrno(err);
                if (size < st.Size) return LibC.FTruncate(fd, size) == 0 ? NtStatus.Success : NtStatusMap.FromErrno(LibC.Errno);
                // Growing the allocation keeps EOF; file systems without fallocate simply allocate on write.
                if (size > 0 && LibC.FAllocate(fd, LibC.FALLOC_FL_KEEP_SIZE, 0, size) != 0)
                {
                    var e = LibC.Errno;
                    if (e is not (PosixErrno.EOPNOTSUPP or PosixErrno.ENOSYS)) return NtStatusMap.FromErrno(e);
                }
                return NtStatus.Success;
            });
        });

    public override async ValueTask<VfsResult<long>> CopyRangeAsync(VfsFile source, long sourceOffset, VfsFile target, long targetOffset, long length, CancellationToken ct)
    {
        var src = source.TryGetExtension<PosixOpenFile>(this);
        var dst = target.TryGetExtension<PosixOpenFile>(this);
        if (src is null || dst is null) return NtStatus.InvalidHandle;
        if (src.IsDirectory || dst.IsDirectory) return NtStatus.InvalidDeviceRequest;
        if (!dst.Writable) return NtStatus.AccessDenied;
        if (sourceOffset < 0 || targetOffset < 0 || length < 0) return NtStatus.InvalidParameter;
        if (src.StreamXattr is not null || dst.StreamXattr is not null)
        {
            try
            {
                return await CopyWithStreamsAsync(src, sourceOffset, dst, targetOffset, length, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsExpected(ex))
            {
                return MapException(ex);
            }
        }
        long copied = 0;
        try
        {
            // copy_file_range first (reflink/server-side on capable file systems), in chunks so cancel is honoured.
            var fallback = false;
            while (copied < length && !fallback)
            {
                if (ct.IsCancellationRequested) return NtStatus.Cancelled;
                var chunk = Math.Min(length - copied, 8L * CopyChunk);
                long inOff = sourceOffset + copied, outOff = targetOffset + copied;
                int err = 0;
                var n = src.WithFd(sfd => dst.WithFd(tfd => LibC.CopyFileRange(sfd, ref inOff, tfd, ref outOff, chunk, out err)));
                if (n < 0)
                {
                    if (err is PosixErrno.EXDEV or PosixErrno.EINVAL or PosixErrno.ENOSYS or PosixErrno.EOPNOTSUPP or PosixErrno.EBADF) { fallback = true; break; }
                    return NtStatusMap.FromErrno(err);
                }
                if (n == 0) return VfsResult<long>.Ok(copied); // end of source
                copied += n;
            }
            if (fallback)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(CopyChunk);
                try
                {
                    while (copied < length)
                    {
                        var want = (int)Math.Min(length - copied, buffer.Length);
                        var n = await RandomAccess.ReadAsync(src.Handle, buffer.AsMemory(0, want), sourceOffset + copied, ct).ConfigureAwait(false);
                        if (n == 0) break;
                        await RandomAccess.WriteAsync(dst.Handle, buffer.AsMemory(0, n), targetOffset + copied, ct).ConfigureAwait(false);
                        copied += n;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
            if (dst.WriteThrough)
            {
                var err = dst.WithFd(fd => LibC.FDataSync(fd) == 0 ? 0 : LibC.Errno);
                if (err != 0) return NtStatusMap.FromErrno(err);
            }
            return VfsResult<long>.Ok(copied);
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return MapException(ex);
        }
    }

    // ---------------------------------------------------------------- helpers

    private ValueTask<NtStatus> WithFile(VfsFile file, CancellationToken ct, Func<PosixOpenFile, NtStatus> op)
    {
        var ext = file.TryGetExtension<PosixOpenFile>(this);
        if (ext is null) return ValueTask.FromResult(NtStatus.InvalidHandle);
        if (ct.IsCancellationRequested) return ValueTask.FromResult(NtStatus.Cancelled);
        try
        {
            return ValueTask.FromResult(op(ext));
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return ValueTask.FromResult(MapException(ex));
        }
    }

    private ValueTask<VfsResult<T>> WithFile<T>(VfsFile file, CancellationToken ct, Func<PosixOpenFile, VfsResult<T>> op)
    {
        var ext = file.TryGetExtension<PosixOpenFile>(this);
        if (ext is null) return ValueTask.FromResult<VfsResult<T>>(NtStatus.InvalidHandle);
        if (ct.IsCancellationRequested) return ValueTask.FromResult<VfsResult<T>>(NtStatus.Cancelled);
        try
        {
            return ValueTask.FromResult(op(ext));
        }
        catch (Exception ex) when (IsExpected(ex))
        {
            return ValueTask.FromResult<VfsResult<T>>(MapException(ex));
        }
    }

    private static bool IsExpected(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or ObjectDisposedException or OperationCanceledException or NotSupportedException;

    private static NtStatus MapException(Exception ex) => ex switch
    {
        ObjectDisposedException => NtStatus.FileClosed,
        NotSupportedException => NtStatus.InvalidDeviceRequest,
        _ => NtStatusMap.FromException(ex),
    };
}
