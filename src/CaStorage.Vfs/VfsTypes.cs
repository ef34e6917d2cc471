using CaStorage.Core;
using CaStorage.Core.Security;

namespace CaStorage.Vfs;

/// <summary>Metadata of a file or directory. Times are Windows FILETIME (100 ns since 1601, UTC).</summary>
public sealed record VfsFileInfo
{
    public required long CreationTime { get; init; }
    public required long LastAccessTime { get; init; }
    public required long LastWriteTime { get; init; }
    public required long ChangeTime { get; init; }
    public required long EndOfFile { get; init; }
    public required long AllocationSize { get; init; }
    /// <summary>DOS attributes as persisted (extended attribute) or derived; Directory set for directories.</summary>
    public required NtFileAttributes Attributes { get; init; }
    /// <summary>Stable id within the share (inode number): the FileId half of a FileKey.</summary>
    public required ulong FileId { get; init; }
    public uint NumberOfLinks { get; init; } = 1;
    public bool IsDirectory => (Attributes & NtFileAttributes.Directory) != 0;
}

/// <summary>One directory entry; the wire layer filters, orders and encodes.</summary>
public sealed record VfsDirEntry(string Name, VfsFileInfo Info);

public sealed record VfsFsInfo(long TotalBytes, long FreeBytes, long AvailableBytes, int BytesPerSector, int SectorsPerUnit,
    string FileSystemName, uint VolumeSerial, string VolumeLabel, long VolumeCreationTime);

/// <summary>
/// Create/open request as the state tier decided it. Path is share-relative as the client sent it
/// (backslashes, no leading separator; "" is the share root). Path safety is the opaque module's job.
/// The VFS never truncates on Overwrite/Supersede: the caller does that after share-mode checks.
/// </summary>
public sealed record VfsOpenRequest
{
    public required string Path { get; init; }
    public required CreateDisposition Disposition { get; init; }
    public CreateOptions Options { get; init; }
    /// <summary>DesiredAccess; may carry MAXIMUM_ALLOWED, which the opaque module resolves against the descriptor.</summary>
    public AccessMask Access { get; init; }
    /// <summary>Attributes to set when the file is created.</summary>
    public NtFileAttributes Attributes { get; init; }
    public long AllocationSize { get; init; }
    /// <summary>
    /// The creator's security descriptor (SMB2 SecD create context), already validated; applied only when the file
    /// is created. Parts it leaves out come from the parent (inheritance) and the caller's token.
    /// </summary>
    public SecurityDescriptor? CreatorDescriptor { get; init; }
    /// <summary>
    /// Reopening a durable open for its reconnecting client (any node): the access was granted when the open was
    /// made, so it is not checked again (the file may have become read-only since, as Windows allows).
    /// </summary>
    public bool Reclaim { get; init; }
}

/// <summary>
/// The outcome of an open. The opaque module decides access (MS-FSA 2.1.5.1: the object store checks the
/// descriptor): <see cref="GrantedAccess"/> is what the handle may do (the request's access generic-mapped, with
/// MAXIMUM_ALLOWED resolved), <see cref="MaximalAccess"/> everything the caller could have been granted (the
/// MxAc create context).
/// </summary>
public sealed record VfsOpenResult(VfsFile File, CreateAction Action)
{
    public AccessMask GrantedAccess { get; init; }
    public AccessMask MaximalAccess { get; init; } = AccessMask.FileAllAccess;
}

/// <summary>Fields to change in SET_INFO FileBasicInformation; null leaves the field alone.</summary>
public sealed record VfsBasicInfo(long? CreationTime, long? LastAccessTime, long? LastWriteTime, long? ChangeTime, NtFileAttributes? Attributes);

/// <summary>One allocated range of a file (FILE_ALLOCATED_RANGE_BUFFER, MS-FSCC 2.3.41).</summary>
public readonly record struct VfsAllocatedRange(long Offset, long Length);

public sealed record VfsStreamInfo(string Name, long Size, long AllocationSize);

public sealed record VfsEa(string Name, byte[] Value, byte Flags = 0);

/// <summary>The caller of a VFS operation, for audit and access decisions.</summary>
public sealed record VfsUser(string Name, string Domain, bool IsGuest = false, bool IsAnonymous = false)
{
    /// <summary>
    /// The identity access checks are made for. The server sets it from its identity map; by default it is the
    /// name's identity in <see cref="NtIdentityMap.Default"/>.
    /// </summary>
    public SecurityToken Token { get; init; } = NtIdentityMap.Default.TokenFor(Name, IsGuest, IsAnonymous);
}
