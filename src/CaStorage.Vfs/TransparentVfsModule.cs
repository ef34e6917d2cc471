using CaStorage.Core;

namespace CaStorage.Vfs;

/// <summary>
/// A module that sits above another (Samba's SMB_VFS_LAYER_TRANSPARENT): every operation passes to
/// <see cref="Next"/> unless overridden. A module that refuses an operation overrides it to return a status.
/// </summary>
public abstract class TransparentVfsModule : IVfsOperations
{
    private IVfsOperations? _next;

    /// <summary>The module below this one; set once by <see cref="VfsStackBuilder"/>.</summary>
    protected IVfsOperations Next => _next ?? throw new InvalidOperationException($"{GetType().Name} is not part of a VFS stack");

    internal void AttachNext(IVfsOperations next)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (ReferenceEquals(next, this)) throw new ArgumentException("a module cannot be its own next module", nameof(next));
        if (Interlocked.CompareExchange(ref _next, next, null) is not null)
            throw new InvalidOperationException($"{GetType().Name} is already attached to a VFS stack");
    }

    public virtual ValueTask<NtStatus> ConnectAsync(VfsTreeContext tree, CancellationToken ct) => Next.ConnectAsync(tree, ct);
    public virtual ValueTask DisconnectAsync(VfsTreeContext tree) => Next.DisconnectAsync(tree);
    public virtual ValueTask<VfsResult<VfsFsInfo>> GetFsInfoAsync(VfsTreeContext tree, CancellationToken ct) => Next.GetFsInfoAsync(tree, ct);
    public virtual ValueTask<VfsResult<VfsFileInfo>> StatAsync(VfsTreeContext tree, string path, CancellationToken ct) => Next.StatAsync(tree, path, ct);
    public virtual ValueTask<VfsResult<VfsOpenResult>> OpenAsync(VfsTreeContext tree, VfsOpenRequest request, CancellationToken ct) => Next.OpenAsync(tree, request, ct);
    public virtual ValueTask CloseAsync(VfsFile file) => Next.CloseAsync(file);
    public virtual ValueTask<VfsResult<int>> ReadAsync(VfsFile file, long offset, Memory<byte> buffer, CancellationToken ct) => Next.ReadAsync(file, offset, buffer, ct);
    public virtual ValueTask<VfsResult<int>> WriteAsync(VfsFile file, long offset, ReadOnlyMemory<byte> data, bool writeThrough, CancellationToken ct) => Next.WriteAsync(file, offset, data, writeThrough, ct);
    public virtual ValueTask<NtStatus> FlushAsync(VfsFile file, CancellationToken ct) => Next.FlushAsync(file, ct);
    public virtual ValueTask<VfsResult<VfsFileInfo>> FstatAsync(VfsFile file, CancellationToken ct) => Next.FstatAsync(file, ct);
    public virtual ValueTask<NtStatus> SetEndOfFileAsync(VfsFile file, long length, CancellationToken ct) => Next.SetEndOfFileAsync(file, length, ct);
    public virtual ValueTask<NtStatus> SetAllocationSizeAsync(VfsFile file, long size, CancellationToken ct) => Next.SetAllocationSizeAsync(file, size, ct);
    public virtual ValueTask<NtStatus> SetBasicInfoAsync(VfsFile file, VfsBasicInfo info, CancellationToken ct) => Next.SetBasicInfoAsync(file, info, ct);
    public virtual ValueTask<VfsResult<IReadOnlyList<VfsDirEntry>>> EnumerateAsync(VfsFile directory, CancellationToken ct) => Next.EnumerateAsync(directory, ct);
    public virtual ValueTask<NtStatus> RenameAsync(VfsFile file, string newPath, bool replaceIfExists, CancellationToken ct) => Next.RenameAsync(file, newPath, replaceIfExists, ct);
    public virtual ValueTask<NtStatus> RenamePathAsync(VfsTreeContext tree, string oldPath, string newPath, bool replaceIfExists, CancellationToken ct) => Next.RenamePathAsync(tree, oldPath, newPath, replaceIfExists, ct);
    public virtual ValueTask<NtStatus> UnlinkAsync(VfsTreeContext tree, string path, bool isDirectory, CancellationToken ct) => Next.UnlinkAsync(tree, path, isDirectory, ct);
    public virtual ValueTask<VfsResult<byte[]>> GetSecurityAsync(VfsFile file, uint securityInformation, CancellationToken ct) => Next.GetSecurityAsync(file, securityInformation, ct);
    public virtual ValueTask<NtStatus> SetSecurityAsync(VfsFile file, uint securityInformation, ReadOnlyMemory<byte> descriptor, CancellationToken ct) => Next.SetSecurityAsync(file, securityInformation, descriptor, ct);
    public virtual ValueTask<VfsResult<IReadOnlyList<VfsStreamInfo>>> ListStreamsAsync(VfsFile file, CancellationToken ct) => Next.ListStreamsAsync(file, ct);
    public virtual ValueTask<VfsResult<IReadOnlyList<VfsEa>>> GetEasAsync(VfsFile file, CancellationToken ct) => Next.GetEasAsync(file, ct);
    public virtual ValueTask<NtStatus> SetEasAsync(VfsFile file, IReadOnlyList<VfsEa> eas, CancellationToken ct) => Next.SetEasAsync(file, eas, ct);
    public virtual ValueTask<VfsResult<long>> CopyRangeAsync(VfsFile source, long sourceOffset, VfsFile target, long targetOffset, long length, CancellationToken ct) => Next.CopyRangeAsync(source, sourceOffset, target, targetOffset, length, ct);
    public virtual ValueTask<NtStatus> SetSparseAsync(VfsFile file, bool sparse, CancellationToken ct) => Next.SetSparseAsync(file, sparse, ct);
    public virtual ValueTask<VfsResult<IReadOnlyList<VfsAllocatedRange>>> QueryAllocatedRangesAsync(VfsFile file, long offset, long length, CancellationToken ct) => Next.QueryAllocatedRangesAsync(file, offset, length, ct);
    public virtual ValueTask<NtStatus> ZeroRangeAsync(VfsFile file, long offset, long length, CancellationToken ct) => Next.ZeroRangeAsync(file, offset, length, ct);
    public virtual ValueTask<VfsResult<byte>> PlacementTagAsync(VfsFile file, byte proposed, CancellationToken ct) => Next.PlacementTagAsync(file, proposed, ct);
    public virtual ValueTask<VfsResult<byte>> PlacementTagAsync(VfsTreeContext tree, string path, byte proposed, CancellationToken ct) => Next.PlacementTagAsync(tree, path, proposed, ct);
    public virtual bool SupportsDurableReopen => Next.SupportsDurableReopen;
}
