using CaStorage.Core;

namespace CaStorage.Vfs;

/// <summary>
/// The last module of a stack (Samba's SMB_VFS_LAYER_OPAQUE): implements every operation and calls nothing
/// beyond itself. Every member is abstract, so the compiler does what smb_vfs_assert_all_fns does at run time.
/// </summary>
public abstract class OpaqueVfsModule : IVfsOperations
{
    public abstract ValueTask<NtStatus> ConnectAsync(VfsTreeContext tree, CancellationToken ct);
    public abstract ValueTask DisconnectAsync(VfsTreeContext tree);
    public abstract ValueTask<VfsResult<VfsFsInfo>> GetFsInfoAsync(VfsTreeContext tree, CancellationToken ct);
    public abstract ValueTask<VfsResult<VfsFileInfo>> StatAsync(VfsTreeContext tree, string path, CancellationToken ct);
    public abstract ValueTask<VfsResult<VfsOpenResult>> OpenAsync(VfsTreeContext tree, VfsOpenRequest request, CancellationToken ct);
    public abstract ValueTask CloseAsync(VfsFile file);
    public abstract ValueTask<VfsResult<int>> ReadAsync(VfsFile file, long offset, Memory<byte> buffer, CancellationToken ct);
    public abstract ValueTask<VfsResult<int>> WriteAsync(VfsFile file, long offset, ReadOnlyMemory<byte> data, bool writeThrough, CancellationToken ct);
    public abstract ValueTask<NtStatus> FlushAsync(VfsFile file, CancellationToken ct);
    public abstract ValueTask<VfsResult<VfsFileInfo>> FstatAsync(VfsFile file, CancellationToken ct);
    public abstract ValueTask<NtStatus> SetEndOfFileAsync(VfsFile file, long length, CancellationToken ct);
    public abstract ValueTask<NtStatus> SetAllocationSizeAsync(VfsFile file, long size, CancellationToken ct);
    public abstract ValueTask<NtStatus> SetBasicInfoAsync(VfsFile file, VfsBasicInfo info, CancellationToken ct);
    public abstract ValueTask<VfsResult<IReadOnlyList<VfsDirEntry>>> EnumerateAsync(VfsFile directory, CancellationToken ct);
    public abstract ValueTask<NtStatus> RenameAsync(VfsFile file, string newPath, bool replaceIfExists, CancellationToken ct);
    public abstract ValueTask<NtStatus> RenamePathAsync(VfsTreeContext tree, string oldPath, string newPath, bool replaceIfExists, CancellationToken ct);
    public abstract ValueTask<NtStatus> UnlinkAsync(VfsTreeContext tree, string path, bool isDirectory, CancellationToken ct);
    public abstract ValueTask<VfsResult<byte[]>> GetSecurityAsync(VfsFile file, uint securityInformation, CancellationToken ct);
    public abstract ValueTask<NtStatus> SetSecurityAsync(VfsFile file, uint securityInformation, ReadOnlyMemory<byte> descriptor, CancellationToken ct);
    public abstract ValueTask<VfsResult<IReadOnlyList<VfsStreamInfo>>> ListStreamsAsync(VfsFile file, CancellationToken ct);
    public abstract ValueTask<VfsResult<IReadOnlyList<VfsEa>>> GetEasAsync(VfsFile file, CancellationToken ct);
    public abstract ValueTask<NtStatus> SetEasAsync(VfsFile file, IReadOnlyList<VfsEa> eas, CancellationToken ct);
    public abstract ValueTask<VfsResult<long>> CopyRangeAsync(VfsFile source, long sourceOffset, VfsFile target, long targetOffset, long length, CancellationToken ct);
    public abstract ValueTask<NtStatus> SetSparseAsync(VfsFile file, bool sparse, CancellationToken ct);
    public abstract ValueTask<VfsResult<IReadOnlyList<VfsAllocatedRange>>> QueryAllocatedRangesAsync(VfsFile file, long offset, long length, CancellationToken ct);
    public abstract ValueTask<NtStatus> ZeroRangeAsync(VfsFile file, long offset, long length, CancellationToken ct);
    public abstract ValueTask<VfsResult<byte>> PlacementTagAsync(VfsFile file, byte proposed, CancellationToken ct);
    public abstract ValueTask<VfsResult<byte>> PlacementTagAsync(VfsTreeContext tree, string path, byte proposed, CancellationToken ct);
    public abstract bool SupportsDurableReopen { get; }
}
