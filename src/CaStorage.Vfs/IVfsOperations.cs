using CaStorage.Core;

namespace CaStorage.Vfs;

/// <summary>
/// The operation set of a VFS module (ARCHITECTURE §4, after Samba's vfs_fn_pointers).
/// Every operation is async and cancellable; expected failures are returned as statuses.
/// </summary>
public interface IVfsOperations
{
    ValueTask<NtStatus> ConnectAsync(VfsTreeContext tree, CancellationToken ct);
    ValueTask DisconnectAsync(VfsTreeContext tree);

    ValueTask<VfsResult<VfsFsInfo>> GetFsInfoAsync(VfsTreeContext tree, CancellationToken ct);

    /// <summary>Metadata by path (no handle); ObjectNameNotFound / ObjectPathNotFound when absent.</summary>
    ValueTask<VfsResult<VfsFileInfo>> StatAsync(VfsTreeContext tree, string path, CancellationToken ct);

    ValueTask<VfsResult<VfsOpenResult>> OpenAsync(VfsTreeContext tree, VfsOpenRequest request, CancellationToken ct);
    ValueTask CloseAsync(VfsFile file);

    ValueTask<VfsResult<int>> ReadAsync(VfsFile file, long offset, Memory<byte> buffer, CancellationToken ct);
    ValueTask<VfsResult<int>> WriteAsync(VfsFile file, long offset, ReadOnlyMemory<byte> data, bool writeThrough, CancellationToken ct);
    ValueTask<NtStatus> FlushAsync(VfsFile file, CancellationToken ct);

    ValueTask<VfsResult<VfsFileInfo>> FstatAsync(VfsFile file, CancellationToken ct);
    ValueTask<NtStatus> SetEndOfFileAsync(VfsFile file, long length, CancellationToken ct);
    ValueTask<NtStatus> SetAllocationSizeAsync(VfsFile file, long size, CancellationToken ct);
    ValueTask<NtStatus> SetBasicInfoAsync(VfsFile file, VfsBasicInfo info, CancellationToken ct);

    /// <summary>All entries of an open directory except "." and "..", in a stable order.</summary>
    ValueTask<VfsResult<IReadOnlyList<VfsDirEntry>>> EnumerateAsync(VfsFile directory, CancellationToken ct);

    /// <summary>Renames an open file to a new share-relative path.</summary>
    ValueTask<NtStatus> RenameAsync(VfsFile file, string newPath, bool replaceIfExists, CancellationToken ct);

    /// <summary>
    /// Renames a file or directory by share-relative path, without an open handle (Samba's renameat by name).
    /// Used by modules that move files themselves (recycle). ObjectNameCollision when the target exists and
    /// replaceIfExists is false; a symlink is renamed as itself, never its target.
    /// </summary>
    ValueTask<NtStatus> RenamePathAsync(VfsTreeContext tree, string oldPath, string newPath, bool replaceIfExists, CancellationToken ct);

    /// <summary>Removes a file or empty directory by share-relative path (delete-on-close at last close).</summary>
    ValueTask<NtStatus> UnlinkAsync(VfsTreeContext tree, string path, bool isDirectory, CancellationToken ct);

    /// <summary>Self-relative security descriptor (MS-DTYP 2.4.6) for the requested SECURITY_INFORMATION bits.</summary>
    ValueTask<VfsResult<byte[]>> GetSecurityAsync(VfsFile file, uint securityInformation, CancellationToken ct);
    ValueTask<NtStatus> SetSecurityAsync(VfsFile file, uint securityInformation, ReadOnlyMemory<byte> descriptor, CancellationToken ct);

    ValueTask<VfsResult<IReadOnlyList<VfsStreamInfo>>> ListStreamsAsync(VfsFile file, CancellationToken ct);

    ValueTask<VfsResult<IReadOnlyList<VfsEa>>> GetEasAsync(VfsFile file, CancellationToken ct);
    ValueTask<NtStatus> SetEasAsync(VfsFile file, IReadOnlyList<VfsEa> eas, CancellationToken ct);

    /// <summary>Server-side copy of a range (FSCTL_SRV_COPYCHUNK); returns bytes copied.</summary>
    ValueTask<VfsResult<long>> CopyRangeAsync(VfsFile source, long sourceOffset, VfsFile target, long targetOffset, long length, CancellationToken ct);

    /// <summary>
    /// Sets or clears FILE_ATTRIBUTE_SPARSE_FILE (FSCTL_SET_SPARSE, MS-FSCC 2.3.64). The flag is kept with the DOS
    /// attributes; setting it to its current value succeeds without change. A directory is InvalidParameter.
    /// </summary>
    ValueTask<NtStatus> SetSparseAsync(VfsFile file, bool sparse, CancellationToken ct);

    /// <summary>
    /// The allocated ranges within [offset, offset + length), clipped to the end of file, in ascending order and
    /// merged where adjacent (FSCTL_QUERY_ALLOCATED_RANGES, MS-FSCC 2.3.40). A file that is not sparse reports the
    /// whole clipped range as allocated. Negative or overflowing arguments are InvalidParameter.
    /// </summary>
    ValueTask<VfsResult<IReadOnlyList<VfsAllocatedRange>>> QueryAllocatedRangesAsync(VfsFile file, long offset, long length, CancellationToken ct);

    /// <summary>
    /// Zeroes [offset, offset + length) without changing the file size (FSCTL_SET_ZERO_DATA, MS-FSCC 2.3.67): a
    /// sparse file's range is deallocated where the file system can, a non-sparse file stays allocated. Bytes past
    /// the end of file are left alone. Needs a handle opened for writing data.
    /// </summary>
    ValueTask<NtStatus> ZeroRangeAsync(VfsFile file, long offset, long length, CancellationToken ct);

    /// <summary>
    /// The file's placement tag: one byte kept with the file, never shown as an EA, that a cluster's state tier uses for
    /// the file's home shard. The first caller's <paramref name="proposed"/> is kept, atomically against every node
    /// sharing the file system; each later caller gets that byte. NotSupported (or another failure) when the file system
    /// cannot keep it: the caller then places the file by its id, as every node does.
    /// </summary>
    ValueTask<VfsResult<byte>> PlacementTagAsync(VfsFile file, byte proposed, CancellationToken ct);

    /// <summary>The placement tag of a file by share-relative path, for a file the caller has not opened (a rename's target).</summary>
    ValueTask<VfsResult<byte>> PlacementTagAsync(VfsTreeContext tree, string path, byte proposed, CancellationToken ct);

    /// <summary>True when this module can reopen a file by its persistent identity on any node (CA shares).</summary>
    bool SupportsDurableReopen { get; }
}
